"""The runtime interface: the only layer that touches containers.

Everything above it (the control plane, the load balancer, the labs) speaks in these value types, so the
same code runs on a real Docker engine (`DockerRuntime`), on plain local processes (`ProcessRuntime`, for
machines without Docker, announced as simulated) and on `FakeRuntime`, which records actions for unit tests.

Example::

    runtime = DockerRuntime()
    state = runtime.start(ContainerSpec(name="ecsdojo-demo-1", image="ecsdojo/app:1",
                                        ports=(PortMapping(8080),), labels=owned_labels("demo")))
    state.ports[8080]   # the host port, published on 127.0.0.1 only
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime

# Every container we start carries these labels; nothing without them is ever touched.
LABEL_MANAGED = "ecsdojo.managed"
LABEL_OWNER_PID = "ecsdojo.owner-pid"      # the process whose control plane owns it (orphan sweep)
LABEL_SESSION = "ecsdojo.session"          # one LocalECS instance
LABEL_CLUSTER = "ecsdojo.cluster"
LABEL_TASK_ARN = "ecsdojo.task-arn"
LABEL_CONTAINER_NAME = "ecsdojo.container-name"


def owned_labels(session: str, **extra: str) -> dict[str, str]:
    """The labels that mark a container as ours, for `session`, owned by this process."""
    labels = {LABEL_MANAGED: "true", LABEL_OWNER_PID: str(os.getpid()), LABEL_SESSION: session}
    labels.update(extra)
    return labels


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int | None = None   # None or 0: a dynamic host port (ECS bridge mode's behaviour)
    protocol: str = "tcp"


@dataclass(frozen=True)
class HealthCheckSpec:
    """ECS's healthCheck, with intervals already converted to wall seconds by the caller's clock."""
    command: tuple[str, ...]        # ("CMD-SHELL", "cmd ...") or ("CMD", "exe", "arg", ...)
    interval_s: float = 30.0
    timeout_s: float = 5.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True)
class ContainerSpec:
    """A pure description of one container to start (built from a task definition)."""
    name: str                                   # unique runtime name
    image: str
    labels: Mapping[str, str]
    command: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[PortMapping, ...] = ()
    memory_mib: int | None = None               # hard limit: exceeding it is a real OOM kill
    memory_reservation_mib: int | None = None   # soft limit
    cpu_units: int | None = None                # 1024 units = one vCPU (relative shares)
    health_check: HealthCheckSpec | None = None
    stop_timeout_s: float = 30.0
    # Join this container's network namespace (Docker: network_mode "container:<id>"), as the containers of one
    # awsvpc task share the namespace of the task's pause container on ECS; such a spec publishes no ports (the
    # namespace's owner publishes them).
    network_container: str | None = None
    links: tuple[tuple[str, str], ...] = ()     # bridge-mode links: (other container's runtime name, alias)
    mounts: tuple[tuple[str, str, bool], ...] = ()   # (host path, container path, read-only) bind mounts


@dataclass
class ContainerState:
    """What the runtime observes of one container."""
    id: str
    name: str
    image: str
    labels: dict[str, str]
    status: str                       # "created" | "running" | "paused" | "restarting" | "exited" | "removing" | "dead"
    exit_code: int | None = None
    oom_killed: bool = False
    error: str | None = None          # the runtime's own error text, if any
    health: str | None = None         # None (no check) | "starting" | "healthy" | "unhealthy"
    ports: dict[int, int] = field(default_factory=dict)   # container port -> host port on 127.0.0.1
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def alive(self) -> bool:
        """Whether the container's process still exists: running, or paused (Docker's cgroup freezer holds a
        paused process; it has not exited). ECS counts a hung container as RUNNING until a health check
        (the container's own, or the load balancer's) fails it."""
        return self.status in ("running", "paused")


@dataclass(frozen=True)
class RuntimeEvent:
    """A hint that a container changed; the control plane resyncs the container it names."""
    container_id: str
    action: str                        # "start" | "die" | "oom" | "health_status" | "destroy" | "reconnect"
    labels: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerStats:
    cpu_percent: float        # of one CPU (100.0 = one core fully busy)
    memory_bytes: int


class RuntimeError_(Exception):
    """Base of runtime failures; the message is what ECS would show as the container's reason."""


class ImageNotFoundError(RuntimeError_):
    """The image is neither present locally nor pullable (ECS: CannotPullContainerError)."""

    def __init__(self, image: str, detail: str = "") -> None:
        self.image = image
        super().__init__(f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
                         f"failed to resolve ref {image}: not found locally and no registry is reachable"
                         + (f" ({detail})" if detail else ""))


class InvalidImageReferenceError(ImageNotFoundError):
    """The engine refuses the image reference itself (Docker: HTTP 400 "invalid reference format"). ECS reports it
    as CannotPullContainerError and stops the task (TaskFailedToStart); retrying cannot help."""

    def __init__(self, image: str, detail: str) -> None:
        self.image = image
        RuntimeError_.__init__(self, f"CannotPullContainerError: Error response from daemon: {detail}")


class ContainerStartError(RuntimeError_):
    """The container could not be created or started (ECS: CannotStartContainerError)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"CannotStartContainerError: {detail}")


class RuntimeUnavailableError(RuntimeError_):
    """The engine does not answer."""


@dataclass(frozen=True)
class ExecResult:
    """A command run inside a container (`Runtime.exec`): its exit code and what it wrote (stdout + stderr)."""
    exit_code: int
    output: str


# What a learner reads where ECS Exec meets a simulated container (one message, for the API, the plugin, `local.exec`).
SIMULATED_EXEC_NOTE = (
    "ECS Exec opens a command inside a task's container, but these containers are simulated (DOJO_RUNTIME=process, "
    "or no Docker engine): each one is a plain process on this machine, with no filesystem, process namespace or "
    "shell of its own, so there is nothing to exec into. What still works here: describe-tasks (stopped reasons, "
    "exit codes), the service's events and the container's logs (`dojo logs tail`). Start a Docker engine "
    "(`dojo doctor` says how) to use ECS Exec.")


class ExecNotSupportedError(RuntimeError_):
    """This runtime cannot run a command inside a container."""

    def __init__(self, detail: str = SIMULATED_EXEC_NOTE) -> None:
        super().__init__(detail)


class EngineCannotRunContainersError(RuntimeError_):
    """The engine answers but cannot start a container (no bridge network, a broken OCI runtime, ...): every
    task would fail the same way, so LocalECS refuses to start and `dojo doctor` reports it as blocking."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the Docker engine answers but cannot start a container: {detail}")


ENGINE_FIXES = ("read the engine's log (`journalctl -u docker`, or dockerd's own output) for the cause; "
                "restarting the engine (`sudo systemctl restart docker`, or start dockerd again) recreates its "
                "default bridge network; meanwhile the labs run on simulated containers with "
                "DOJO_RUNTIME=process (no network or registry needed)")


def engine_enforces_limits(info: Mapping[str, Any]) -> bool:
    """Whether a Docker engine (its `docker info`) can enforce memory and CPU limits.

    A rootless engine on a cgroup v1 host runs without cgroups (cgroup driver "none": "Running in rootless-mode
    without cgroups"), so a container's memory limit is not enforced and the kernel never OOM-kills it there.
    https://docs.docker.com/engine/security/rootless/#limiting-resources

    >>> engine_enforces_limits({"SecurityOptions": ["name=rootless"], "CgroupVersion": "1", "CgroupDriver": "none"})
    False
    >>> engine_enforces_limits({"SecurityOptions": ["name=seccomp"], "CgroupVersion": "1", "CgroupDriver": "cgroupfs"})
    True
    """
    rootless = any("rootless" in str(option) for option in info.get("SecurityOptions") or [])
    no_cgroups = info.get("CgroupDriver") == "none" or str(info.get("CgroupVersion")) == "1"
    return not (rootless and no_cgroups)


# What a learner reads where a demo would send /oom to a container whose memory limit the engine cannot enforce.
NO_MEMORY_LIMITS_NOTE = (
    "This Docker engine cannot enforce memory limits (a rootless engine on a cgroup v1 host runs without cgroups: "
    "https://docs.docker.com/engine/security/rootless/#limiting-resources), so the kernel would not kill the "
    "container at its limit and the demo is skipped here. On an engine that enforces limits (Docker Desktop, a "
    "rootful engine, or rootless on cgroup v2) the container is OOM-killed: exit code 137, OOMKilled true, and on "
    "ECS the container's reason is \"OutOfMemoryError: Container killed due to memory usage\".")


class Runtime(ABC):
    """The interface every runtime implements. All methods are thread-safe."""

    name: str = "abstract"
    simulated: bool = False   # True when containers are not real containers
    enforces_memory_limits: bool = True   # False: a container over its memory limit is not killed (see above)
    supports_exec: bool = False           # True: exec/exec_attached run a command inside a container
    # Whether each container has its own network namespace (Docker). False (ProcessRuntime): every "container" is
    # a process on the host's loopback already, so a task needs no namespace holder for localhost between them.
    separate_networks: bool = True
    # How the task agent (control/agent/) reaches containers: "exec" (isolated network namespaces: a forwarder is
    # exec'd into each, on its loopback), "loopback" (host processes: the agent listens on the host's 127.0.0.1),
    # None (no agent).
    task_agent: str | None = None

    @abstractmethod
    def start(self, spec: ContainerSpec) -> ContainerState:
        """Create and start a container; raises ImageNotFoundError or ContainerStartError."""

    @abstractmethod
    def stop(self, container_id: str, *, timeout_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after timeout_s; a no-op for a container already stopped or gone."""

    @abstractmethod
    def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        """Send a signal now (labs use it to simulate a crash)."""

    @abstractmethod
    def remove(self, container_id: str) -> None:
        """Remove a stopped container (force-stops a running one); a no-op when gone."""

    @abstractmethod
    def inspect(self, container_id: str) -> ContainerState | None:
        """The container's current state, or None when it no longer exists."""

    @abstractmethod
    def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        """All containers (running or not) carrying every one of `labels`."""

    @abstractmethod
    def watch(self, callback: Callable[[RuntimeEvent], None], stop: threading.Event) -> threading.Thread:
        """Start a daemon thread that calls `callback` for events of containers labelled ecsdojo.managed,
        until `stop` is set. Survives an engine restart (reconnects, then emits a "reconnect" event)."""

    @abstractmethod
    def stats(self, container_id: str) -> ContainerStats | None:
        """A CPU and memory sample, or None when the container is not running."""

    def restart(self, container_id: str) -> ContainerState:
        """Start an exited container again in place (same id, same configuration, same network namespace), as the
        ECS agent does for a container restartPolicy; raises ContainerStartError when it cannot."""
        raise ContainerStartError(f"the {self.name} runtime cannot restart a container in place")

    def image_exists(self, image: str) -> bool:
        return True

    def logs(self, container_id: str, *, tail: int = 100) -> str:
        """The last `tail` lines the container wrote to stdout and stderr ("" when gone or unknown)."""
        return ""

    def log_events(self, container_id: str, *, since: float | None = None) -> list[tuple[float, str]]:
        """The lines the container wrote to stdout and stderr after `since` (epoch seconds; all when None), each
        with the time it was written, oldest first ([] when gone or unknown). What a log driver ships."""
        return []

    def raw_stats(self, container_id: str) -> dict[str, Any] | None:
        """The engine's own stats document of a running container (Docker's `GET /containers/ID/stats`, one
        sample), as the task metadata endpoint's /stats serves it; None when not running or not a real engine."""
        return None

    def exec_detached(self, container_id: str, command: tuple[str, ...]) -> str | None:
        """Start `command` inside a running container, in the background (`docker exec -d`); its exec id, or
        None when this runtime cannot (the task agent's forwarder, control/agent/)."""
        return None

    def exec_exit_code(self, exec_id: str) -> int | None:
        """The exit code of a finished exec; None while it runs (or when unknown)."""
        return None

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        """Run `command` (an argv, no shell) inside the running container and wait for it: `docker exec` without a
        terminal, for short commands (Docker: a command silent for longer than the client's HTTP timeout, 30 s,
        is reported as an engine that does not answer). Raises ExecNotSupportedError on runtimes without real containers, ContainerStartError when the
        container is not running or the command cannot be started."""
        raise ExecNotSupportedError()

    def exec_attached(self, container_id: str, command: Sequence[str], *, stdin: int, stdout: int,
                      tty: bool) -> int:
        """Run `command` inside the running container with its input and output joined to the file descriptors
        `stdin` and `stdout` (a terminal when `tty`: `docker exec -it`), until it ends; returns its exit code.
        What the course's session-manager-plugin calls for `aws ecs execute-command --interactive`."""
        raise ExecNotSupportedError()

    def preflight(self, spec: ContainerSpec) -> None:
        """Check that this runtime can start a container like `spec` at all; raises
        EngineCannotRunContainersError when it cannot. Runtimes that always can (simulated ones) do nothing."""

    def sweep(self, labels: Mapping[str, str]) -> int:
        """Remove every container carrying `labels`; returns how many."""
        count = 0
        for state in self.list(labels):
            self.remove(state.id)
            count += 1
        return count

    def close(self) -> None:
        """Release connections and threads (containers are left as they are)."""

    def describe(self) -> str:
        return self.name


def alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphan_filter(states: Iterable[ContainerState]) -> list[ContainerState]:
    """Managed containers whose owning process is gone (a crashed kernel, a killed `dojo up`)."""
    orphans = []
    for state in states:
        try:
            pid = int(state.labels.get(LABEL_OWNER_PID, "0"))
        except ValueError:
            pid = 0
        if pid <= 0 or not alive(pid):
            orphans.append(state)
    return orphans
