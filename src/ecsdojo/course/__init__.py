"""Code shared by the module notebooks (one module per notebook topic)."""

# Modules whose demos are plain Docker with no orchestrator (module 01 runs `docker run` itself): they need a
# Docker engine and, without one, stop at their first cell with the fix (course.docker_demos.NoDockerEngine).
# Every other module runs on the simulated runtime too.
DOCKER_ONLY_MODULES = frozenset({"01"})
