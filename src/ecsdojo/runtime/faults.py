"""Faults injected into our own containers from outside the engine, as a clumsy operator or a failing host would:
`docker kill`, `docker stop`, `docker pause`, `docker rm -f` — for `dojo bench chaos` and its test.

Docker is touched only in runtime/: these go through `DockerRuntime` (or `FakeRuntime`, whose `pause` and
`unpause` are test controls), which refuses any container not labelled ``ecsdojo.managed=true`` and treats a
container already gone as a no-op. Faults from inside the app (crash, OOM, hang) are HTTP requests to the
container's published 127.0.0.1 port and need no Docker call.

Example::

    faults = Faults(DockerRuntime())
    faults.inject("pause", task.containers[0].runtime_id)   # hung: RUNNING for ECS until a health check fails it
"""

from __future__ import annotations

from ecsdojo.runtime.base import Runtime

__all__ = ["Faults", "RUNTIME_FAULTS"]

# What each fault does to the container, in Docker's words.
RUNTIME_FAULTS = {
    "kill": "docker kill (SIGKILL): the process dies at once, exit code 137",
    "stop": "docker stop: SIGTERM (the demo app exits 0), SIGKILL after the timeout",
    "pause": "docker pause: the process is frozen by the cgroup freezer, not gone (a hung container)",
    "rm": "docker rm -f: killed and removed; the container no longer exists",
}


class Faults:
    """Fault injection into managed containers through a runtime that can pause (Docker, or the fake)."""

    def __init__(self, runtime: Runtime) -> None:
        if not callable(getattr(runtime, "pause", None)):
            raise ValueError(f"the {runtime.name} runtime cannot pause a container; use the docker runtime")
        self.runtime = runtime

    def inject(self, fault: str, container_id: str, *, stop_timeout_s: float = 10.0) -> None:
        if fault == "kill":
            self.runtime.kill(container_id, signal="SIGKILL")
        elif fault == "stop":
            self.runtime.stop(container_id, timeout_s=stop_timeout_s)
        elif fault == "pause":
            self.runtime.pause(container_id)   # type: ignore[attr-defined]
        elif fault == "rm":
            self.runtime.remove(container_id)
        else:
            raise ValueError(f"unknown runtime fault {fault!r}; known: {', '.join(RUNTIME_FAULTS)}")

    def unpause(self, container_id: str) -> None:
        self.runtime.unpause(container_id)     # type: ignore[attr-defined]
