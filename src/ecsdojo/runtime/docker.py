"""DockerRuntime: containers on a real Docker engine, created the way the ECS agent creates them.

Ports are published on 127.0.0.1 only; the memory limit is a hard limit with no swap (so an OOM kill is real);
the task definition's healthCheck becomes Docker's healthcheck. Only containers labelled
``ecsdojo.managed=true`` are ever touched.

Example::

    runtime = DockerRuntime()
    state = runtime.start(ContainerSpec(name="ecsdojo-demo-1", image="ecsdojo/app:latest",
                                        labels=owned_labels("demo"), ports=(PortMapping(8080),)))
    print(state.ports[8080])          # host port on 127.0.0.1
    runtime.stop(state.id, timeout_s=5)
    runtime.remove(state.id)
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone

from ecsdojo.runtime.base import (
    LABEL_MANAGED,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    ContainerStats,
    EngineCannotRunContainersError,
    ExecResult,
    HealthCheckSpec,
    ImageNotFoundError,
    InvalidImageReferenceError,
    PortMapping,  # noqa: F401 - used in the docstring examples
    Runtime,
    RuntimeError_,
    RuntimeEvent,
    RuntimeUnavailableError,
    engine_enforces_limits,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
NANOSECONDS = 1_000_000_000
MANAGED_FILTER = f"{LABEL_MANAGED}=true"
PULL_RETRY_S = 60.0        # after a failed pull, the same image is not pulled again for this long
# Docker event actions we pass on; "health_status: healthy" arrives with its status after a colon.
WATCHED_ACTIONS = ("start", "die", "oom", "health_status", "destroy")
# The ECS agent (>= 1.2.0) passes null, 0 and 1 CPU units as 2 shares; the kernel's maximum is 262144.
MIN_CPU_SHARES, MAX_CPU_SHARES = 2, 262144
# Event-stream attributes that are not labels.
EVENT_ATTRIBUTES = ("name", "image", "exitCode", "signal", "execDuration")


class ContainerNotManagedError(RuntimeError_):
    """A container id that exists but does not carry ecsdojo.managed=true: ECS Dojo never touches it."""

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        super().__init__(f"refusing to touch container {container_id[:12]}: it is not labelled "
                         f"{MANAGED_FILTER}")


def docker_healthcheck(check: HealthCheckSpec) -> dict:
    """The `healthcheck` argument of Docker's container create, as the ECS agent builds it.

    >>> docker_healthcheck(HealthCheckSpec(("CMD-SHELL", "exit 0"), interval_s=5, retries=2))["interval"]
    5000000000
    """
    command = list(check.command)
    if not command or command[0] not in ("CMD", "CMD-SHELL"):
        # ECS accepts a bare command too and runs it as CMD-SHELL would; Docker needs the prefix.
        command = ["CMD-SHELL", " ".join(command)]
    # Docker reads 0 as "the default" and rejects intervals under 1 ms.
    return {
        "test": command,
        "interval": max(int(check.interval_s * NANOSECONDS), 1_000_000),
        "timeout": max(int(check.timeout_s * NANOSECONDS), 1_000_000),
        "retries": int(check.retries),
        "start_period": max(int(check.start_period_s * NANOSECONDS), 0),
    }


def docker_run_options(spec: ContainerSpec) -> dict:
    """The keyword arguments of `containers.run` for `spec` (pure; no engine needed).

    >>> docker_run_options(ContainerSpec(name="a", image="ecsdojo/app", labels={},
    ...                                  ports=(PortMapping(8080),)))["ports"]
    {'8080/tcp': ('127.0.0.1', None)}
    """
    options: dict = {
        "name": spec.name,
        "labels": dict(spec.labels),
        "environment": dict(spec.environment),
        "detach": True,
        "ports": {f"{port.container_port}/{port.protocol}": ("127.0.0.1", port.host_port or None)
                  for port in spec.ports},
        "cpu_shares": min(max(spec.cpu_units or 0, MIN_CPU_SHARES), MAX_CPU_SHARES),
        "stop_signal": "SIGTERM",
    }
    if spec.command is not None:
        options["command"] = list(spec.command)
    if spec.network_container:
        # One network namespace for the task's containers (localhost between them); Docker refuses published ports
        # on a joined container ("conflicting options"), so the namespace's owner publishes them.
        options["network_mode"] = f"container:{spec.network_container}"
        options.pop("ports")
    if spec.links:
        options["links"] = dict(spec.links)
    if spec.memory_mib:
        options["mem_limit"] = spec.memory_mib * MIB
        options["memswap_limit"] = spec.memory_mib * MIB     # no swap: exceeding the limit is an OOM kill
    if spec.memory_reservation_mib:
        options["mem_reservation"] = spec.memory_reservation_mib * MIB
    if spec.health_check is not None:
        options["healthcheck"] = docker_healthcheck(spec.health_check)
    if spec.mounts:
        options["volumes"] = {host: {"bind": target, "mode": "ro" if read_only else "rw"}
                              for host, target, read_only in spec.mounts}
    return options


def parse_docker_time(text: str | None) -> datetime | None:
    """Docker's RFC 3339 timestamp (nanoseconds, 'Z') as an aware datetime; None for Docker's zero time."""
    if not text or text.startswith("0001-01-01"):
        return None
    text = text.replace("Z", "+00:00")
    main, _, rest = text.partition(".")
    if rest:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        text = f"{main}.{digits[:6].ljust(6, '0')}{zone}"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def container_state(attrs: Mapping) -> ContainerState:
    """A ContainerState from `docker inspect` output (pure)."""
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    status = state.get("Status") or "created"
    ports: dict[int, int] = {}
    published = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    bindings = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    for source in (bindings, published):       # the live mapping wins over the requested one
        for key, entries in source.items():
            for entry in entries or ():
                if entry.get("HostIp") in ("127.0.0.1", "") and str(entry.get("HostPort") or "").isdigit():
                    ports[int(key.split("/")[0])] = int(entry["HostPort"])
                    break
    health = (state.get("Health") or {}).get("Status") or None
    return ContainerState(
        id=attrs.get("Id", ""),
        name=(attrs.get("Name") or "").lstrip("/"),
        image=config.get("Image", ""),
        labels=dict(config.get("Labels") or {}),
        status=status,
        exit_code=None if status in ("created", "running", "paused", "restarting") else state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or None,
        health=health if health != "none" else None,
        ports=ports,
        started_at=parse_docker_time(state.get("StartedAt")),
        finished_at=parse_docker_time(state.get("FinishedAt")),
    )


def _daemon_detail(error, image: str) -> str:
    """Docker's explanation without its "no such image: IMAGE: " prefix.

    >>> class E: explanation = "no such image: A/b:t: invalid reference format: repository name must be lowercase"
    >>> _daemon_detail(E(), "A/b:t")
    'invalid reference format: repository name must be lowercase'
    """
    text = str(getattr(error, "explanation", None) or error).strip()
    prefix = f"no such image: {image}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def runtime_event(event: Mapping) -> RuntimeEvent | None:
    """A RuntimeEvent from one decoded Docker event, or None for actions we do not pass on (pure)."""
    action = event.get("Action") or event.get("status") or ""
    base, _, detail = action.partition(":")
    if base not in WATCHED_ACTIONS:
        return None
    actor = event.get("Actor") or {}
    raw = dict(actor.get("Attributes") or {})
    labels = {key: value for key, value in raw.items() if key not in EVENT_ATTRIBUTES}
    attributes = {key: value for key, value in raw.items() if key in EVENT_ATTRIBUTES}
    if base == "health_status":
        attributes["health"] = detail.strip()
    return RuntimeEvent(container_id=actor.get("ID") or event.get("id") or "", action=base,
                        labels=labels, attributes=attributes)


def cpu_percent(sample: Mapping) -> float:
    """Percent of one CPU from a Docker stats sample (its cpu_stats against precpu_stats)."""
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cores = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1
    if used <= 0 or system <= 0:
        return 0.0
    return used / system * cores * 100.0


def memory_bytes(sample: Mapping) -> int:
    """Memory in use from a Docker stats sample, minus page cache as `docker stats` reports it."""
    memory = sample.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    details = memory.get("stats") or {}
    cache = details.get("total_inactive_file", details.get("inactive_file", details.get("cache", 0)))
    return max(usage - int(cache or 0), 0)


class DockerRuntime(Runtime):
    """Containers on the local Docker engine (docker SDK >= 7). Thread-safe; one client.

    Options (keyword-only): ``client`` (an existing docker.DockerClient), ``timeout_s`` (HTTP timeout of
    every call), ``ping_timeout_s`` (how long to wait for the engine at construction),
    ``pull_timeout_s`` (one pull attempt for a missing image; 0 never pulls), ``reconnect_max_s``
    (back-off ceiling of watch()). Raises RuntimeUnavailableError when the engine does not answer.
    """

    name = "docker"
    simulated = False
    task_agent = "exec"
    supports_exec = True

    def __init__(self, *, client=None, timeout_s: float = 30.0, ping_timeout_s: float = 5.0,
                 pull_timeout_s: float = 5.0, reconnect_max_s: float = 5.0) -> None:
        try:
            import docker
            import docker.errors
        except ImportError as error:  # pragma: no cover - docker is a declared dependency
            raise RuntimeUnavailableError(f"the docker SDK is not installed: {error}") from error
        self._errors = docker.errors
        self.pull_timeout_s = pull_timeout_s
        self.reconnect_max_s = reconnect_max_s
        try:
            self.client = client or docker.from_env(timeout=ping_timeout_s)
            self.client.ping()
        except Exception as error:  # noqa: BLE001 - any failure here means "no engine"
            raise RuntimeUnavailableError(f"the Docker engine does not answer: {error}") from error
        self.client.api.timeout = timeout_s
        try:
            self.enforces_memory_limits = engine_enforces_limits(self.client.info())
        except Exception:  # noqa: BLE001 - an engine that answers ping but not info: assume the usual
            self.enforces_memory_limits = True
        self._lock = threading.Lock()
        self._pull_failures: dict[str, float] = {}     # image -> when its last pull failed (monotonic)
        self._closed = False

    # ----- engine access -----

    @contextlib.contextmanager
    def _engine(self) -> Iterator[None]:
        """Turn connection failures into RuntimeUnavailableError."""
        import requests

        try:
            yield
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            raise RuntimeUnavailableError(f"the Docker engine does not answer: {error}") from error

    def _managed(self, container_id: str):
        """The container object, or None when gone; ContainerNotManagedError when not ours."""
        try:
            container = self.client.containers.get(container_id)
        except self._errors.NotFound:
            return None
        if (container.labels or {}).get(LABEL_MANAGED) != "true":
            raise ContainerNotManagedError(container_id)
        return container

    # ----- images -----

    def image_exists(self, image: str) -> bool:
        """Whether the engine has `image`; InvalidImageReferenceError when it refuses the reference itself."""
        with self._engine():
            try:
                self.client.images.get(image)
                return True
            except self._errors.ImageNotFound:
                return False
            except self._errors.APIError as error:
                # HTTP 400: "invalid reference format: repository name must be lowercase", ... A permanent
                # failure: the task fails to start (CannotPullContainerError) instead of the sync retrying.
                if error.status_code == 400:
                    raise InvalidImageReferenceError(image, _daemon_detail(error, image)) from error
                raise

    def _ensure_image(self, image: str) -> None:
        """Present locally, or one pull attempt that gives up after pull_timeout_s (CannotPullContainerError)."""
        if self.image_exists(image):
            return
        if self.pull_timeout_s <= 0:
            raise ImageNotFoundError(image, "pulling is off")
        with self._lock:
            failed_at = self._pull_failures.get(image)
        if failed_at is not None and time.monotonic() - failed_at < PULL_RETRY_S:
            raise ImageNotFoundError(image, f"the last pull failed less than {PULL_RETRY_S:.0f} s ago")
        from docker.utils import parse_repository_tag

        repository, tag = parse_repository_tag(image)
        outcome: dict[str, str] = {}

        def pull() -> None:
            # The SDK pulls without an HTTP timeout, so the attempt runs on its own thread and is abandoned
            # (the engine finishes or fails it alone) when it outlasts pull_timeout_s.
            try:
                for message in self.client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                    if isinstance(message, dict) and message.get("error"):
                        outcome["error"] = str(message["error"])
                        return
            except Exception as error:  # noqa: BLE001 - any failure to pull is CannotPullContainerError
                outcome["error"] = str(getattr(error, "explanation", None) or error)

        puller = threading.Thread(target=pull, name=f"ecsdojo-pull-{image}", daemon=True)
        puller.start()
        puller.join(self.pull_timeout_s)
        if puller.is_alive():
            outcome["error"] = f"no answer within {self.pull_timeout_s:g} s"
        if "error" in outcome or not self.image_exists(image):
            with self._lock:
                self._pull_failures[image] = time.monotonic()
            raise ImageNotFoundError(image, outcome.get("error", "the pull finished without the image").strip()[:300])

    # ----- lifecycle -----

    def start(self, spec: ContainerSpec) -> ContainerState:
        if spec.labels.get(LABEL_MANAGED) != "true":
            raise ContainerStartError(f"container {spec.name} lacks the label {MANAGED_FILTER}")
        self._ensure_image(spec.image)
        options = docker_run_options(spec)
        with self._engine():
            try:
                container = self.client.containers.create(spec.image, **{k: v for k, v in options.items()
                                                                          if k != "detach"})
            except self._errors.ImageNotFound as error:
                raise ImageNotFoundError(spec.image, str(error.explanation or "")) from error
            except self._errors.APIError as error:
                raise ContainerStartError(str(error.explanation or error)) from error
            try:
                container.start()
            except self._errors.APIError as error:
                # ECS leaves nothing running after CannotStartContainerError; remove the created husk.
                with contextlib.suppress(self._errors.APIError):
                    container.remove(force=True)
                raise ContainerStartError(str(error.explanation or error)) from error
            container.reload()
            return container_state(container.attrs)

    def restart(self, container_id: str) -> ContainerState:
        """`docker start` of the exited container: same id, configuration and (joined) network namespace."""
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                raise ContainerStartError(f"container {container_id[:12]} is gone")
            try:
                container.start()
            except self._errors.APIError as error:
                raise ContainerStartError(str(error.explanation or error)) from error
            container.reload()
            return container_state(container.attrs)

    # Engines a preflight container ran on, in this process: (engine ID, data root). The data root is part of the
    # key because Docker 20.10 derives the ID from /etc/docker/key.json, so two engines on one host share it.
    _engines_that_ran: set[tuple[str, str]] = set()

    def preflight(self, spec: ContainerSpec) -> None:
        """Start and remove one short container like `spec` (once per engine and process): an engine that
        answers but cannot start containers is said at once, not as a task that never starts a minute later.
        A missing image is not the engine's fault: the tasks report it (CannotPullContainerError)."""
        try:
            info = self.client.info()
            engine_id = (str(info.get("ID") or id(self.client)), str(info.get("DockerRootDir")))
        except Exception:  # noqa: BLE001 - the start below tells what is wrong
            engine_id = (str(id(self.client)), "")
        if engine_id in self._engines_that_ran or not self.image_exists(spec.image):
            return
        try:
            state = self.start(spec)
        except ContainerStartError as error:
            raise EngineCannotRunContainersError(str(error).removeprefix("CannotStartContainerError: ")) from error
        except ImageNotFoundError:
            return
        with contextlib.suppress(RuntimeError_):
            self.remove(state.id)
        self._engines_that_ran.add(engine_id)

    def stop(self, container_id: str, *, timeout_s: float = 30.0) -> None:
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                return
            try:
                container.stop(timeout=max(int(math.ceil(timeout_s)), 0))
            except self._errors.NotFound:
                return

    def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                return
            try:
                container.kill(signal=signal)
            except self._errors.NotFound:
                return
            except self._errors.APIError as error:
                if error.status_code != 409:      # 409: the container is not running
                    raise

    def pause(self, container_id: str) -> None:
        """`docker pause` (fault injection: a hung container); a no-op when gone or not running."""
        self._freeze(container_id, pause=True)

    def unpause(self, container_id: str) -> None:
        """`docker unpause`; a no-op when gone or not paused."""
        self._freeze(container_id, pause=False)

    def _freeze(self, container_id: str, *, pause: bool) -> None:
        with self._engine():
            container = self._managed(container_id)
            if container is None or container.status != ("running" if pause else "paused"):
                return
            try:
                container.pause() if pause else container.unpause()
            except self._errors.NotFound:
                return
            except self._errors.APIError as error:
                # Docker 20.10 answers 500 "... is not running" / "... is not paused" (newer engines 409) when
                # the container changed between the inspect and the call.
                if error.status_code != 409 and "is not" not in str(error.explanation or ""):
                    raise

    def remove(self, container_id: str) -> None:
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                return
            try:
                container.remove(force=True)
            except self._errors.NotFound:
                return
            except self._errors.APIError as error:
                if error.status_code != 409:      # 409: removal already in progress
                    raise

    def inspect(self, container_id: str) -> ContainerState | None:
        with self._engine():
            container = self._managed(container_id)
            return None if container is None else container_state(container.attrs)

    def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        filters = {"label": [MANAGED_FILTER] + [f"{key}={value}" for key, value in labels.items()
                                                if key != LABEL_MANAGED]}
        states = []
        with self._engine():
            for summary in self.client.api.containers(all=True, filters=filters):
                try:
                    attrs = self.client.api.inspect_container(summary["Id"])
                except self._errors.NotFound:
                    continue                      # removed between the listing and the inspect
                states.append(container_state(attrs))
        return states

    def stats(self, container_id: str) -> ContainerStats | None:
        with self._engine():
            container = self._managed(container_id)
            if container is None or container.status != "running":
                return None
            try:
                sample = container.stats(stream=False)
            except self._errors.NotFound:
                return None
        if not (sample.get("memory_stats") or {}).get("usage") and not (sample.get("pids_stats") or {}):
            return None                           # stopped while we sampled
        return ContainerStats(cpu_percent=cpu_percent(sample), memory_bytes=memory_bytes(sample))

    def logs(self, container_id: str, *, tail: int = 100) -> str:
        """The last `tail` lines of the container's stdout and stderr ("" when gone)."""
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                return ""
            return container.logs(tail=tail).decode(errors="replace")

    def log_events(self, container_id: str, *, since: float | None = None) -> list[tuple[float, str]]:
        """Docker's own timestamps (RFC 3339, nanoseconds) with each line; `since` is passed to the engine and
        the lines at or before it are dropped here (the engine rounds it)."""
        with self._engine():
            container = self._managed(container_id)
            if container is None:
                return []
            try:
                raw = container.logs(timestamps=True, since=since) if since else container.logs(timestamps=True)
            except self._errors.NotFound:
                return []
        events = []
        for line in raw.decode(errors="replace").splitlines():
            stamp, _, text = line.partition(" ")
            moment = parse_docker_time(stamp)
            if moment is None:
                continue
            at = moment.timestamp()
            if since is None or at > since:
                events.append((at, text))
        return events

    def raw_stats(self, container_id: str) -> dict | None:
        with self._engine():
            container = self._managed(container_id)
            if container is None or container.status != "running":
                return None
            try:
                return container.stats(stream=False)
            except self._errors.NotFound:
                return None

    def exec_detached(self, container_id: str, command: tuple[str, ...]) -> str | None:
        """`docker exec -d`: the process runs in the container's namespaces and dies with it."""
        with self._engine():
            container = self._managed(container_id)
            if container is None or container.status != "running":
                return None                       # exited already (a short job): nothing to run in
            try:
                created = self.client.api.exec_create(container.id, list(command))
                self.client.api.exec_start(created["Id"], detach=True)
            except self._errors.APIError as error:
                # Mostly a container that exited between the look and the exec (a crash at start): the caller
                # (the task agent) says what it means when the container still runs.
                log.debug("exec in %s failed: %s", container_id[:12], error)
                return None
            return created["Id"]

    def exec_exit_code(self, exec_id: str) -> int | None:
        with self._engine():
            try:
                found = self.client.api.exec_inspect(exec_id)
            except self._errors.APIError:
                return None
        return None if found.get("Running") or found.get("ExitCode") is None else int(found["ExitCode"])

    # ----- events -----

    def watch(self, callback: Callable[[RuntimeEvent], None], stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self._watch_loop, args=(callback, stop),
                                  name="ecsdojo-docker-events", daemon=True)
        thread.start()
        return thread

    def _watch_loop(self, callback: Callable[[RuntimeEvent], None], stop: threading.Event) -> None:
        filters = {"type": "container", "label": MANAGED_FILTER, "event": list(WATCHED_ACTIONS)}
        current: list = [None]
        guard = threading.Lock()

        def close_on_stop() -> None:
            stop.wait()
            with guard:
                stream = current[0]
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()

        threading.Thread(target=close_on_stop, name="ecsdojo-docker-events-stop", daemon=True).start()
        delay, lost = 0.25, False
        while not stop.is_set():
            try:
                if lost:
                    self.client.ping()
                stream = self.client.events(decode=True, filters=filters)
                with guard:
                    current[0] = stream
                if stop.is_set():
                    stream.close()
                    break
                if lost:
                    lost, delay = False, 0.25
                    self._deliver(callback, RuntimeEvent("", "reconnect"))
                for raw in stream:
                    event = runtime_event(raw)
                    if event is not None:
                        self._deliver(callback, event)
                # The stream ended: the engine went away (or we closed it on stop).
            except Exception as error:  # noqa: BLE001 - any failure: back off and reconnect
                if stop.is_set():
                    break
                log.debug("docker events stream lost: %s", error)
            finally:
                with guard:
                    current[0] = None
            if stop.is_set():
                break
            lost = True
            stop.wait(delay)
            delay = min(delay * 2, self.reconnect_max_s)

    @staticmethod
    def _deliver(callback: Callable[[RuntimeEvent], None], event: RuntimeEvent) -> None:
        try:
            callback(event)
        except Exception:  # noqa: BLE001 - a failing callback must not end the watch
            log.exception("runtime event callback failed for %s", event)

    # ----- misc -----

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self.client.close()

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        from ecsdojo.runtime.docker_exec import exec_captured

        with self._engine():
            if self._managed(container_id) is None:
                raise ContainerStartError(f"cannot exec in container {container_id[:12]}: it no longer exists")
            return exec_captured(self.client, self._errors, container_id, command)

    def exec_attached(self, container_id: str, command: Sequence[str], *, stdin: int, stdout: int,
                      tty: bool) -> int:
        from ecsdojo.runtime.docker_exec import exec_attached

        with self._engine():
            if self._managed(container_id) is None:
                raise ContainerStartError(f"cannot exec in container {container_id[:12]}: it no longer exists")
            return exec_attached(self.client, self._errors, container_id, command, stdin=stdin, stdout=stdout,
                                 tty=tty)

    def describe(self) -> str:
        try:
            version = self.client.version().get("Version", "?")
        except Exception:  # noqa: BLE001
            version = "?"
        return f"docker (engine {version})"
