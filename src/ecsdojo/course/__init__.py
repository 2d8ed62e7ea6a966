"""Code shared by the module notebooks (one module per notebook topic)."""

# Modules that need a Docker engine: module 01 runs `docker run` itself (no orchestrator); module 10 works inside
# containers (ECS Exec, one localhost per awsvpc task), which the simulated runtime does not have. They need a
# Docker engine and, without one, stop at their first cell with the fix (course.docker_demos.NoDockerEngine).
# Every other module runs on the simulated runtime too.
DOCKER_ONLY_MODULES = frozenset({"01", "10"})
