"""FakeRuntime: an in-memory runtime that records what the control plane asked for, for unit tests.

Every mutating call is recorded in ``.actions`` as a tuple: ``("start", name)``, ``("stop", id)``,
``("kill", id, signal)``, ``("remove", id)``, ``("restart", id)``, ``("exec", id, command)``. Tests drive containers
with ``crash``, ``oom``, ``exit``, ``pause``, ``unpause``, ``set_health``, ``fail_next_start`` and ``fail_image``. Ids
are deterministic (sha256 of a counter) and dynamic host ports count up from 32768.

Events reach watch() callbacks SYNCHRONOUSLY, on the thread that caused them (the test's thread, or the
reconciler's thread for start/stop/kill/remove), after the fake's lock is released, so a callback may call
back into the runtime. The thread that watch() returns only waits for `stop` and then unregisters.

Example::

    runtime = FakeRuntime()
    seen = []
    runtime.watch(seen.append, threading.Event())
    state = runtime.start(ContainerSpec(name="web-1", image="ecsdojo/app:1", labels=owned_labels("t")))
    runtime.crash(state.id, exit_code=3)
    assert runtime.inspect(state.id).exit_code == 3 and seen[-1].action == "die"
    assert runtime.actions == [("start", "web-1")]
"""

from __future__ import annotations

import hashlib
import itertools
import signal as signals
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone

from ecsdojo.runtime.base import (
    LABEL_MANAGED,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImageNotFoundError,
    Runtime,
    RuntimeEvent,
)

FIRST_HOST_PORT = 32768


def fake_container_id(number: int) -> str:
    """The deterministic 64-hex id of the `number`-th container (distinct in its first 12 characters)."""
    return hashlib.sha256(f"ecsdojo-fake-container-{number}".encode()).hexdigest()


def _signal_number(name: str | int) -> int:
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    text = str(name).upper()
    return int(getattr(signals, text if text.startswith("SIG") else "SIG" + text))


class FakeRuntime(Runtime):
    """In-memory containers; nothing runs. Thread-safe.

    Options (keyword-only): ``images`` (the images that exist; None means every image exists),
    ``first_host_port`` (where dynamic host ports start), ``clock`` (a callable returning aware datetimes,
    for started_at/finished_at), ``stop_exit_code`` (the exit code of a container after stop(); 0 as the
    demo app exits on SIGTERM; use 137 to imitate an app that ignores SIGTERM).
    """

    name = "fake"
    simulated = True
    supports_exec = True

    def __init__(self, *, images: set[str] | None = None, first_host_port: int = FIRST_HOST_PORT,
                 clock: Callable[[], datetime] | None = None, stop_exit_code: int = 0) -> None:
        self.images = images
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.stop_exit_code = stop_exit_code
        self.actions: list[tuple] = []
        self.containers: dict[str, ContainerState] = {}     # id -> state (tests may read it)
        self.specs: dict[str, ContainerSpec] = {}           # id -> the spec it was started from
        self.image_failures: dict[str, Exception] = {}      # image -> error raised by start()
        self._next_start_errors: list[Exception] = []
        self.on_exec: Callable[[str, tuple[str, ...]], None] | None = None   # exec_detached's test hook
        self.exec_exit_codes: dict[str, int] = {}
        self._stats: dict[str, ContainerStats] = {}
        self._ids = itertools.count(1)
        self._ports = itertools.count(first_host_port)
        self._callbacks: list[Callable[[RuntimeEvent], None]] = []
        self._lock = threading.RLock()
        self.exec_results: dict[tuple[str, ...], ExecResult] = {}   # argv -> what exec() answers

    # ----- test controls -----

    def fail_next_start(self, error: Exception | None = None) -> None:
        """Make the next start() raise `error` (default: ContainerStartError); recorded as a start."""
        with self._lock:
            self._next_start_errors.append(error or ContainerStartError("fake start failure"))

    def fail_image(self, image: str, error: Exception | None = None) -> None:
        """Make every start() of `image` raise `error` (default: ImageNotFoundError)."""
        with self._lock:
            self.image_failures[image] = error or ImageNotFoundError(image)

    def exit(self, container_id: str, exit_code: int = 0, *, oom_killed: bool = False) -> ContainerState:
        """The container's process ends with `exit_code`; emits "die" (after "oom" when oom_killed)."""
        events = []
        with self._lock:
            state = self._require(container_id)
            if state.status == "running":
                self._finish(state, exit_code, oom_killed=oom_killed)
                if oom_killed:
                    events.append(RuntimeEvent(state.id, "oom", dict(state.labels), {"name": state.name}))
                events.append(self._die_event(state))
        self._deliver(events)
        return self.inspect(container_id)

    def crash(self, container_id: str, exit_code: int = 1) -> ContainerState:
        """The app crashes with `exit_code` (like GET /crash?code=N)."""
        return self.exit(container_id, exit_code)

    def oom(self, container_id: str) -> ContainerState:
        """The kernel's OOM killer ends the container: oom_killed, exit code 137, events oom then die."""
        return self.exit(container_id, 137, oom_killed=True)

    def pause(self, container_id: str) -> ContainerState:
        """`docker pause`: the process is frozen, not gone (status "paused"); Docker emits "pause", which the
        control plane does not watch."""
        with self._lock:
            state = self._require(container_id)
            if state.status == "running":
                state.status = "paused"
        return self.inspect(container_id)

    def unpause(self, container_id: str) -> ContainerState:
        with self._lock:
            state = self._require(container_id)
            if state.status == "paused":
                state.status = "running"
        return self.inspect(container_id)

    def set_health(self, container_id: str, health: str | None) -> ContainerState:
        """Set the health status ("starting" | "healthy" | "unhealthy"); emits health_status on a change."""
        if health not in (None, "starting", "healthy", "unhealthy"):
            raise ValueError(f"unknown health status {health!r}")
        events = []
        with self._lock:
            state = self._require(container_id)
            if state.health != health:
                state.health = health
                events.append(RuntimeEvent(state.id, "health_status", dict(state.labels),
                                           {"name": state.name, "health": health or ""}))
        self._deliver(events)
        return self.inspect(container_id)

    def set_stats(self, container_id: str, *, cpu_percent: float = 0.0, memory_bytes: int = 0) -> None:
        """What stats() returns for this container while it runs."""
        with self._lock:
            self._stats[container_id] = ContainerStats(cpu_percent=cpu_percent, memory_bytes=memory_bytes)

    def running(self) -> list[ContainerState]:
        """The running containers, in start order."""
        with self._lock:
            return [self._copy(state) for state in self.containers.values() if state.status == "running"]

    def by_name(self, name: str) -> ContainerState | None:
        with self._lock:
            for state in self.containers.values():
                if state.name == name:
                    return self._copy(state)
        return None

    def emit(self, event: RuntimeEvent) -> None:
        """Deliver an arbitrary event (e.g. RuntimeEvent("", "reconnect")) to the watchers."""
        self._deliver([event])

    # ----- the Runtime interface -----

    def start(self, spec: ContainerSpec) -> ContainerState:
        with self._lock:
            self.actions.append(("start", spec.name))
            if self._next_start_errors:
                raise self._next_start_errors.pop(0)
            if spec.image in self.image_failures:
                raise self.image_failures[spec.image]
            if self.images is not None and spec.image not in self.images:
                raise ImageNotFoundError(spec.image)
            if spec.labels.get(LABEL_MANAGED) != "true":
                raise ContainerStartError(f"container {spec.name} lacks the label {LABEL_MANAGED}=true")
            if any(state.name == spec.name for state in self.containers.values()):
                raise ContainerStartError(f'Conflict. The container name "/{spec.name}" is already in use')
            if spec.network_container is not None and not (
                    spec.network_container in self.containers and self.containers[spec.network_container].alive):
                raise ContainerStartError(f"cannot join network of a non running container: {spec.network_container}")
            if spec.network_container is not None and spec.ports:
                raise ContainerStartError("conflicting options: port publishing and the container type network mode")
            taken = {port for state in self.containers.values() if state.alive
                     for port in state.ports.values()}
            ports: dict[int, int] = {}
            for mapping in spec.ports:
                if mapping.host_port:
                    if mapping.host_port in taken:
                        raise ContainerStartError(f"Bind for 127.0.0.1:{mapping.host_port} failed: "
                                                  f"port is already allocated")
                    host = mapping.host_port
                else:
                    host = next(self._ports)
                    while host in taken:
                        host = next(self._ports)
                ports[mapping.container_port] = host
                taken.add(host)
            state = ContainerState(id=fake_container_id(next(self._ids)), name=spec.name, image=spec.image,
                                   labels=dict(spec.labels), status="running", ports=ports,
                                   health="starting" if spec.health_check else None,
                                   started_at=self.clock())
            self.containers[state.id] = state
            self.specs[state.id] = spec
            event = RuntimeEvent(state.id, "start", dict(state.labels), {"name": spec.name, "image": spec.image})
            result = self._copy(state)
        self._deliver([event])
        return result

    def restart(self, container_id: str) -> ContainerState:
        """Start an exited container again in place (recorded as ("restart", id)); emits "start"."""
        with self._lock:
            self.actions.append(("restart", container_id))
            state = self.containers.get(container_id)
            if state is None:
                raise ContainerStartError(f"No such container: {container_id}")
            if state.status != "running":
                state.status, state.exit_code, state.oom_killed = "running", None, False
                state.started_at, state.finished_at = self.clock(), None
                state.health = "starting" if self.specs[container_id].health_check else None
            event = RuntimeEvent(state.id, "start", dict(state.labels), {"name": state.name, "image": state.image})
            result = self._copy(state)
        self._deliver([event])
        return result

    def stop(self, container_id: str, *, timeout_s: float = 30.0) -> None:
        events = []
        with self._lock:
            self.actions.append(("stop", container_id))
            state = self.containers.get(container_id)
            if state is not None and state.alive:
                self._finish(state, self.stop_exit_code)
                events.append(self._die_event(state))
        self._deliver(events)

    def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        events = []
        with self._lock:
            self.actions.append(("kill", container_id, signal))
            state = self.containers.get(container_id)
            if state is not None and state.alive:
                self._finish(state, 128 + _signal_number(signal))
                events.append(self._die_event(state))
        self._deliver(events)

    def remove(self, container_id: str) -> None:
        events = []
        with self._lock:
            self.actions.append(("remove", container_id))
            state = self.containers.pop(container_id, None)
            if state is not None:
                self.specs.pop(container_id, None)
                if state.alive:
                    self._finish(state, 137)
                    events.append(self._die_event(state))
                events.append(RuntimeEvent(state.id, "destroy", dict(state.labels), {"name": state.name}))
        self._deliver(events)

    def inspect(self, container_id: str) -> ContainerState | None:
        with self._lock:
            state = self.containers.get(container_id)
            return None if state is None else self._copy(state)

    def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        with self._lock:
            return [self._copy(state) for state in self.containers.values()
                    if all(state.labels.get(key) == value for key, value in labels.items())]

    def watch(self, callback: Callable[[RuntimeEvent], None], stop: threading.Event) -> threading.Thread:
        """Register `callback` (called synchronously, see the module docstring) until `stop` is set."""
        with self._lock:
            self._callbacks.append(callback)

        def unregister_on_stop() -> None:
            stop.wait()
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        thread = threading.Thread(target=unregister_on_stop, name="ecsdojo-fake-events", daemon=True)
        thread.start()
        return thread

    def stats(self, container_id: str) -> ContainerStats | None:
        with self._lock:
            state = self.containers.get(container_id)
            if state is None or state.status != "running":
                return None
            return self._stats.get(container_id, ContainerStats(cpu_percent=0.0, memory_bytes=0))

    def exec_detached(self, container_id: str, command: tuple[str, ...]) -> str | None:
        """Recorded as ("exec", id, command); `on_exec(id, command)` (a test's hook) plays the process, and
        `exec_exit_code` answers `exec_exit_codes.get(exec id)` (None: still running)."""
        with self._lock:
            state = self.containers.get(container_id)
            if state is None or state.status != "running":
                return None
            self.actions.append(("exec", container_id, tuple(command)))
            exec_id = f"exec-{len(self.actions)}"
        if self.on_exec is not None:
            self.on_exec(container_id, tuple(command))
        return exec_id

    def exec_exit_code(self, exec_id: str) -> int | None:
        return self.exec_exit_codes.get(exec_id)

    def image_exists(self, image: str) -> bool:
        return self.images is None or image in self.images

    def logs(self, container_id: str, *, tail: int = 100) -> str:
        return ""

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        """Records ("exec", id, argv); answers `exec_results[argv]` (default exit 0, no output). A fake container
        is not a real one either, but unit tests need the control plane's side of exec, so it is recorded."""
        with self._lock:
            state = self._require(container_id)
            self.actions.append(("exec", container_id, tuple(command)))
            if state.status != "running":
                raise ContainerStartError(f"cannot exec in container {container_id[:12]}: it is not running")
            return self.exec_results.get(tuple(command), ExecResult(exit_code=0, output=""))

    def exec_attached(self, container_id: str, command: Sequence[str], *, stdin: int, stdout: int,
                      tty: bool) -> int:
        result = self.exec(container_id, command)
        os.write(stdout, result.output.encode())
        return result.exit_code

    # ----- internals -----

    def _require(self, container_id: str) -> ContainerState:
        state = self.containers.get(container_id)
        if state is None:
            raise KeyError(f"no fake container {container_id}")
        return state

    def _finish(self, state: ContainerState, exit_code: int, *, oom_killed: bool = False) -> None:
        state.status = "exited"
        state.exit_code = exit_code
        state.oom_killed = oom_killed
        state.finished_at = self.clock()
        if state.health is not None:
            state.health = "unhealthy"       # as Docker reports the health of a stopped container

    @staticmethod
    def _die_event(state: ContainerState) -> RuntimeEvent:
        return RuntimeEvent(state.id, "die", dict(state.labels), {"name": state.name,
                                                                   "exitCode": str(state.exit_code)})

    @staticmethod
    def _copy(state: ContainerState) -> ContainerState:
        return ContainerState(**{**state.__dict__, "labels": dict(state.labels), "ports": dict(state.ports)})

    def _deliver(self, events: list[RuntimeEvent]) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for event in events:
            for callback in callbacks:
                callback(event)
