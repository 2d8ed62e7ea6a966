"""ProcessRuntime: the demo service as plain local processes, for machines without Docker (simulated).

Each "container" is one process running labs/app/app.py with ``sys.executable``, listening on 127.0.0.1 at
its host port. What Docker would enforce, this runtime imitates:

- health checks run by the runtime itself, with Docker's rules (start period, retries, timeout) and the
  container port in the command (``localhost:8080``) rewritten to the host port;
- the memory limit: a monitor samples RSS and SIGKILLs a process above ``memory_mib`` (oom_killed, exit 137);
- exit codes: killed by signal N reports 128+N; stop = SIGTERM, then SIGKILL after the timeout;
- processes die with the Python process that started them (a new session, PR_SET_PDEATHSIG on Linux,
  and an atexit sweep elsewhere).

Only images named ``ecsdojo/app`` (any tag, any registry prefix) run; any other image raises
ImageNotFoundError. A ``command`` override must still run the demo app (``python3 /app/app.py ...``):
arbitrary commands are refused, because here they would run on the host, not in a container.

Example::

    runtime = ProcessRuntime()
    state = runtime.start(ContainerSpec(name="web-1", image="ecsdojo/app:latest",
                                        labels=owned_labels("demo"), ports=(PortMapping(8080),)))
    print(state.ports[8080])      # the app answers on http://127.0.0.1:<that port>/
    runtime.sweep(owned_labels("demo"))
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import os
import queue
import re
import signal as signals
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ecsdojo.runtime.base import (
    LABEL_MANAGED,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    ContainerStats,
    ExecNotSupportedError,
    ExecResult,
    HealthCheckSpec,
    ImageNotFoundError,
    Runtime,
    RuntimeEvent,
)

log = logging.getLogger(__name__)

APP_REPOSITORY = "ecsdojo/app"
APP_PATH_IN_IMAGE = "/app/app.py"
DEFAULT_CONTAINER_PORT = 8080          # the image's ENV PORT=8080
MIB = 1024 * 1024
LOG_LINES = 500
# Hosts in a health-check command that mean "this container"; their port is rewritten to the host port.
LOCAL_ADDRESS = re.compile(r"\b(localhost|127\.0\.0\.1|0\.0\.0\.0)(:)(\d+)\b|(\[::1\])(:)(\d+)\b")

# Runs in the child before the real program: dies with its parent (Linux), then runs the app in-process
# (so its pid is the app's pid) or execs the command. No preexec_fn, so nothing unsafe runs after fork.
LAUNCHER = r"""
import os, signal, sys
parent = int(sys.argv[1])
if sys.platform.startswith("linux"):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
if os.getppid() != parent:
    os._exit(137)
if sys.argv[2] == "run":
    import runpy
    sys.argv = sys.argv[3:]
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    os.execvp(sys.argv[3], sys.argv[3:])
"""


def default_app_path() -> Path:
    """labs/app/app.py of the source tree this package was installed from."""
    import ecsdojo

    return Path(ecsdojo.__file__).resolve().parents[2] / "labs" / "app" / "app.py"


def image_repository(image: str) -> tuple[str, str]:
    """(repository, tag) of an image reference; the tag is "latest" when absent.

    >>> image_repository("localhost:5000/ecsdojo/app:v2")
    ('localhost:5000/ecsdojo/app', 'v2')
    """
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"


def is_app_image(image: str) -> bool:
    """Whether `image` names the demo app (any tag, any registry prefix)."""
    repository, _ = image_repository(image)
    return repository == APP_REPOSITORY or repository.endswith("/" + APP_REPOSITORY)


def is_known_app_tag(tag: str) -> bool:
    """Tags the process runtime treats as present: those `dojo images build` makes on Docker (latest and the
    package version), plus vN, which stand for versions of the app (the process sets APP_VERSION=vN).
    Any other tag is absent, as it would be on Docker: ecsdojo/app:does-not-exist cannot be "pulled"."""
    from ecsdojo import __version__

    return tag in ("latest", __version__) or re.fullmatch(r"v\d+", tag) is not None


def rewrite_ports(text: str, ports: Mapping[int, int]) -> str:
    """Point "localhost:<container port>" at 127.0.0.1:<host port> (pure).

    >>> rewrite_ports("curl -f http://localhost:8080/health", {8080: 40001})
    'curl -f http://127.0.0.1:40001/health'
    """
    def replace(match: re.Match) -> str:
        port = int(match.group(3) or match.group(6))
        if port not in ports:
            return match.group(0)
        return f"127.0.0.1:{ports[port]}"

    return LOCAL_ADDRESS.sub(replace, text)


def exit_code_of(returncode: int) -> int:
    """Docker's exit code for a Popen returncode: killed by signal N → 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def signal_number(name: str | int) -> int:
    """SIGKILL, KILL, 9 or "9" → 9."""
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    text = str(name).upper()
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(getattr(signals, text))
    except AttributeError:
        raise ValueError(f"unknown signal {name!r}") from None


def free_port() -> int:
    """An unused TCP port on 127.0.0.1, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` (VmRSS from /proc, else `ps`), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0                                    # a zombie has no VmRSS line
    except FileNotFoundError:
        if Path("/proc/self/status").exists():
            return None
    except (OSError, ValueError):
        return None
    try:                                            # no /proc (macOS): ask ps
        out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True,
                             timeout=2).stdout.strip()
        return int(out) * 1024 if out else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of `pid` in seconds (from /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ----- the spawner: one long-lived thread forks every process, so PDEATHSIG ties them to the process -----
# (PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so a short-lived caller thread
# must not fork containers.)

_spawn_queue: queue.Queue | None = None
_spawn_lock = threading.Lock()


def _spawner_loop(requests: queue.Queue) -> None:
    while True:
        argv, options, future = requests.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(subprocess.Popen(argv, **options))
            except BaseException as error:  # noqa: BLE001 - handed back to the caller
                future.set_exception(error)


def spawn(argv: list[str], **options) -> subprocess.Popen:
    """Popen from the shared long-lived spawner thread."""
    global _spawn_queue
    with _spawn_lock:
        if _spawn_queue is None:
            _spawn_queue = queue.Queue()
            threading.Thread(target=_spawner_loop, args=(_spawn_queue,), name="ecsdojo-process-spawner",
                             daemon=True).start()
    future: Future = Future()
    _spawn_queue.put((argv, options, future))
    return future.result()


def launcher_argv(mode: str, argv: list[str]) -> list[str]:
    return [sys.executable, "-c", LAUNCHER, str(os.getpid()), mode, *argv]


# ----- the containers -----

@dataclass
class _Container:
    id: str
    spec: ContainerSpec
    ports: dict[int, int]
    app_port: int                  # the port the app listens on "inside the container" ($PORT, 8080)
    app_host_port: int             # ... and where it really listens on 127.0.0.1
    environment: dict[str, str]
    popen: subprocess.Popen | None = None
    status: str = "created"
    exit_code: int | None = None
    oom_killed: bool = False
    error: str | None = None
    health: str | None = None
    failing_streak: int = 0
    started_at: datetime | None = None
    started_monotonic: float = 0.0
    finished_at: datetime | None = None
    exited: threading.Event = field(default_factory=threading.Event)
    logs: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LOG_LINES))  # (time, line)

    def state(self) -> ContainerState:
        return ContainerState(id=self.id, name=self.spec.name, image=self.spec.image,
                              labels=dict(self.spec.labels), status=self.status, exit_code=self.exit_code,
                              oom_killed=self.oom_killed, error=self.error, health=self.health,
                              ports=dict(self.ports), started_at=self.started_at,
                              finished_at=self.finished_at)


_live_runtimes: weakref.WeakSet = weakref.WeakSet()
_atexit_registered = False


def _kill_all_at_exit() -> None:
    for runtime in list(_live_runtimes):
        runtime.kill_everything()


class ProcessRuntime(Runtime):
    """The demo app as local processes (simulated containers). Thread-safe.

    Options (keyword-only): ``app_path`` (default: labs/app/app.py beside the package source),
    ``memory_poll_s`` (how often RSS is sampled against memory limits), ``stats_window_s`` (the CPU
    sampling window of stats()).
    """

    name = "process"
    simulated = True
    separate_networks = False    # every "container" is a process on the host loopback: no namespace holder needed
    task_agent = "loopback"      # the containers are host processes: the agent listens on the host's loopback

    def __init__(self, *, app_path: str | Path | None = None, memory_poll_s: float = 0.02,
                 stats_window_s: float = 0.2) -> None:
        global _atexit_registered
        self.app_path = Path(app_path) if app_path else default_app_path()
        self.memory_poll_s = memory_poll_s
        self.stats_window_s = stats_window_s
        self._lock = threading.RLock()
        self._containers: dict[str, _Container] = {}
        self._watchers: list[queue.Queue] = []
        self._monitor: threading.Thread | None = None
        self._closed = threading.Event()
        with _spawn_lock:
            _live_runtimes.add(self)
            if not _atexit_registered:
                atexit.register(_kill_all_at_exit)
                _atexit_registered = True

    # ----- start -----

    def _program(self, spec: ContainerSpec) -> list[str]:
        """The launcher argv for `spec`: the demo app, possibly with extra arguments."""
        if not self.app_path.is_file():
            raise ContainerStartError(f"the demo app is not at {self.app_path} (set ProcessRuntime(app_path=...))")
        if spec.command is None:
            return launcher_argv("run", [str(self.app_path)])
        command = list(spec.command)
        if len(command) >= 2 and Path(command[0]).name.startswith("python") and command[1] == APP_PATH_IN_IMAGE:
            return launcher_argv("run", [str(self.app_path), *command[2:]])
        raise ContainerStartError(f"the process runtime (simulated, no Docker) runs only the demo app; "
                                  f"command {command!r} needs a Docker engine")

    def _host_ports(self, spec: ContainerSpec, app_port: int) -> tuple[dict[int, int], int]:
        """container port -> host port, and the port the app itself listens on; raises on a taken port."""
        taken = {port for other in self._containers.values() if other.status == "running"
                 for port in (*other.ports.values(), other.app_host_port)}
        ports: dict[int, int] = {}
        for mapping in spec.ports:
            if mapping.host_port:
                if mapping.host_port in taken or not port_is_free(mapping.host_port):
                    raise ContainerStartError(
                        f"driver failed programming external connectivity on endpoint {spec.name}: "
                        f"Bind for 127.0.0.1:{mapping.host_port} failed: port is already allocated")
                host = mapping.host_port
            else:
                host = free_port()
                while host in taken:
                    host = free_port()
            ports[mapping.container_port] = host
            taken.add(host)
        app_host_port = ports.get(app_port)
        if app_host_port is None:               # not published: the app still needs somewhere to listen
            app_host_port = free_port()
            while app_host_port in taken:
                app_host_port = free_port()
        return ports, app_host_port

    def start(self, spec: ContainerSpec) -> ContainerState:
        if spec.labels.get(LABEL_MANAGED) != "true":
            raise ContainerStartError(f"container {spec.name} lacks the label {LABEL_MANAGED}=true")
        if not is_app_image(spec.image):
            raise ImageNotFoundError(spec.image, "the process runtime (no Docker) runs only ecsdojo/app")
        _, tag = image_repository(spec.image)
        if not is_known_app_tag(tag):
            raise ImageNotFoundError(spec.image, f"manifest for {spec.image} not found: manifest unknown")
        argv = self._program(spec)
        environment = {"APP_VERSION": tag if re.fullmatch(r"v\d+", tag) else "v1",
                       "PORT": str(DEFAULT_CONTAINER_PORT), "PYTHONUNBUFFERED": "1"}   # the image's ENV
        environment.update(spec.environment)
        try:
            app_port = int(environment["PORT"])
        except ValueError:
            raise ContainerStartError(f"container {spec.name}: PORT={environment['PORT']!r} is not a number") from None
        with self._lock:
            for other in self._containers.values():
                if other.spec.name == spec.name:
                    raise ContainerStartError(f'Conflict. The container name "/{spec.name}" is already in use '
                                              f'by container "{other.id}". You have to remove (or rename) '
                                              f'that container to be able to reuse that name.')
            ports, app_host_port = self._host_ports(spec, app_port)
            environment.update({"PORT": str(app_host_port), "HOST": "127.0.0.1"})
            for name in ("PATH", "SYSTEMROOT", "LANG", "TMPDIR"):
                if name in os.environ and name not in spec.environment:
                    environment[name] = os.environ[name]
            environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
            record = _Container(id=uuid.uuid4().hex + uuid.uuid4().hex, spec=spec, ports=ports, app_port=app_port,
                                app_host_port=app_host_port, environment=environment)
            self._spawn(record, argv)
            self._containers[record.id] = record
            state = record.state()
        self._follow(record)
        return state

    def restart(self, container_id: str) -> ContainerState:
        """Run an exited container's program again under the same id, ports and environment (a restartPolicy)."""
        record = self._get(container_id)
        if record is None:
            raise ContainerStartError(f"No such container: {container_id}")
        with self._lock:
            if not record.exited.is_set():
                return record.state()
            record.exited = threading.Event()      # a new run: the old run's threads hold the old event
            record.exit_code, record.oom_killed, record.error = None, False, None
            record.finished_at, record.failing_streak = None, 0
            try:
                self._spawn(record, self._program(record.spec))
            except ContainerStartError:
                record.exited.set()
                raise
            state = record.state()
        self._follow(record)
        return state

    def _spawn(self, record: _Container, argv: list[str]) -> None:
        """Start the record's process (caller holds the lock)."""
        spec = record.spec
        try:
            record.popen = spawn(argv, env=record.environment, cwd=str(self.app_path.parent),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        except OSError as error:
            raise ContainerStartError(f"container {spec.name}: {error}") from error
        record.status = "running"
        record.started_at = datetime.now(timezone.utc)
        record.started_monotonic = time.monotonic()
        record.health = "starting" if spec.health_check else None

    def _follow(self, record: _Container) -> None:
        """The threads of one run (output, exit, health, memory) and the start event."""
        spec = record.spec
        reader = threading.Thread(target=self._read_output, args=(record,), name=f"ecsdojo-logs-{spec.name}",
                                  daemon=True)
        reader.start()
        threading.Thread(target=self._wait_for_exit, args=(record, reader), name=f"ecsdojo-wait-{spec.name}",
                         daemon=True).start()
        if spec.health_check is not None:
            threading.Thread(target=self._health_loop, args=(record, spec.health_check),
                             name=f"ecsdojo-health-{spec.name}", daemon=True).start()
        if spec.memory_mib:
            self._ensure_monitor()
        self._emit(RuntimeEvent(record.id, "start", dict(spec.labels), {"name": spec.name, "image": spec.image}))

    # ----- per-container threads -----

    def _read_output(self, record: _Container) -> None:
        assert record.popen is not None and record.popen.stdout is not None
        with contextlib.suppress(Exception):
            for line in record.popen.stdout:
                record.logs.append((time.time(), line.decode(errors="replace").rstrip("\n")))

    def _wait_for_exit(self, record: _Container, reader: threading.Thread | None = None) -> None:
        assert record.popen is not None
        exited = record.exited                     # this run's (a restart makes a new one)
        returncode = record.popen.wait()
        if reader is not None:      # the last lines are read before anyone hears of the exit (a log driver ships
            reader.join(timeout=2)  # them at stop); a grandchild holding the pipe open cannot delay it for long
        with self._lock:
            record.status = "exited"
            record.exit_code = exit_code_of(returncode)
            record.finished_at = datetime.now(timezone.utc)
            if record.health is not None:
                record.health = "unhealthy"       # as Docker reports the health of a stopped container
            exited.set()
            labels = dict(record.spec.labels)
        self._emit(RuntimeEvent(record.id, "die", labels,
                                {"name": record.spec.name, "image": record.spec.image,
                                 "exitCode": str(record.exit_code)}))

    def _health_loop(self, record: _Container, check: HealthCheckSpec) -> None:
        """Docker's health monitor: a probe every interval; failures in the start period don't count."""
        command = list(check.command)
        ports = {record.app_port: record.app_host_port, **record.ports}
        if command and command[0] == "CMD-SHELL":
            argv = ["/bin/sh", "-c", rewrite_ports(" ".join(command[1:]), ports)]
        elif command and command[0] == "CMD":
            argv = [rewrite_ports(part, ports) for part in command[1:]]
        else:
            argv = ["/bin/sh", "-c", rewrite_ports(" ".join(command), ports)]
        interval = max(check.interval_s, 0.001)
        exited = record.exited                     # this run's: a restart starts its own health loop
        while not exited.wait(interval):
            probe_started = time.monotonic()
            healthy = self._probe(argv, record.environment, check.timeout_s)
            with self._lock:
                if exited.is_set():
                    return
                before = record.health
                if healthy:
                    record.failing_streak = 0
                    record.health = "healthy"
                else:
                    in_start_period = (before == "starting" and
                                       probe_started - record.started_monotonic < check.start_period_s)
                    if not in_start_period:
                        record.failing_streak += 1
                        if record.failing_streak >= check.retries:
                            record.health = "unhealthy"
                after = record.health
                labels = dict(record.spec.labels)
            if after != before:
                self._emit(RuntimeEvent(record.id, "health_status", labels,
                                        {"name": record.spec.name, "health": after or ""}))

    @staticmethod
    def _probe(argv: list[str], environment: Mapping[str, str], timeout_s: float) -> bool:
        """Run one health-check command; True when it exits 0 within timeout_s."""
        try:
            probe = subprocess.Popen(launcher_argv("exec", argv), env=dict(environment),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            return False
        try:
            return probe.wait(timeout=max(timeout_s, 0.001)) == 0
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(probe.pid, signals.SIGKILL)
            probe.wait()
            return False

    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._memory_loop, name="ecsdojo-memory-monitor",
                                                 daemon=True)
                self._monitor.start()

    def _memory_loop(self) -> None:
        """Kill any process above its memory limit, as the kernel's cgroup OOM killer would."""
        poll = self.memory_poll_s if Path("/proc/self/status").exists() else max(self.memory_poll_s, 0.25)
        while not self._closed.wait(poll):
            with self._lock:
                limited = [record for record in self._containers.values()
                           if record.status == "running" and record.spec.memory_mib and not record.oom_killed]
            if not limited:
                with self._lock:
                    if not any(r.status == "running" and r.spec.memory_mib for r in self._containers.values()):
                        self._monitor = None
                        return
                continue
            for record in limited:
                assert record.popen is not None and record.spec.memory_mib is not None
                rss = rss_bytes(record.popen.pid)
                if rss is None or rss <= record.spec.memory_mib * MIB:
                    continue
                with self._lock:
                    if record.exited.is_set():
                        continue
                    record.oom_killed = True
                    self._signal_group(record, signals.SIGKILL)
                    labels = dict(record.spec.labels)
                self._emit(RuntimeEvent(record.id, "oom", labels, {"name": record.spec.name,
                                                                     "image": record.spec.image}))

    # ----- lifecycle -----

    def _get(self, container_id: str) -> _Container | None:
        with self._lock:
            return self._containers.get(container_id)

    def _signal_group(self, record: _Container, signum: int) -> None:
        """Signal the container's process group (caller holds the lock; a no-op once it exited)."""
        if record.popen is None or record.exited.is_set() or record.popen.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.popen.pid, signum)

    def stop(self, container_id: str, *, timeout_s: float = 30.0) -> None:
        record = self._get(container_id)
        if record is None or record.exited.is_set():
            return
        with self._lock:
            self._signal_group(record, signals.SIGTERM)
        if not record.exited.wait(max(timeout_s, 0)):
            with self._lock:
                self._signal_group(record, signals.SIGKILL)
            record.exited.wait(10)

    def kill(self, container_id: str, *, signal: str = "SIGKILL") -> None:
        number = signal_number(signal)
        record = self._get(container_id)
        if record is None:
            return
        with self._lock:
            self._signal_group(record, number)

    def remove(self, container_id: str) -> None:
        record = self._get(container_id)
        if record is None:
            return
        if not record.exited.is_set():
            with self._lock:
                self._signal_group(record, signals.SIGKILL)
            record.exited.wait(10)
        with self._lock:
            if self._containers.pop(container_id, None) is None:
                return
            labels = dict(record.spec.labels)
        self._emit(RuntimeEvent(container_id, "destroy", labels, {"name": record.spec.name,
                                                                   "image": record.spec.image}))

    def inspect(self, container_id: str) -> ContainerState | None:
        with self._lock:
            record = self._containers.get(container_id)
            return None if record is None else record.state()

    def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        with self._lock:
            return [record.state() for record in self._containers.values()
                    if all(record.spec.labels.get(key) == value for key, value in labels.items())]

    def stats(self, container_id: str) -> ContainerStats | None:
        record = self._get(container_id)
        if record is None or record.exited.is_set() or record.popen is None:
            return None
        pid = record.popen.pid
        before, started = cpu_seconds(pid), time.monotonic()
        record.exited.wait(self.stats_window_s)
        after, elapsed = cpu_seconds(pid), time.monotonic() - started
        memory = rss_bytes(pid)
        if record.exited.is_set() or memory is None:
            return None
        percent = 0.0
        if before is not None and after is not None and elapsed > 0:
            percent = max(after - before, 0.0) / elapsed * 100.0
        return ContainerStats(cpu_percent=percent, memory_bytes=memory)

    def logs(self, container_id: str, *, tail: int = 100) -> str:
        """The last `tail` lines the process wrote to stdout and stderr ("" when gone)."""
        record = self._get(container_id)
        if record is None:
            return ""
        lines = [line for _, line in list(record.logs)[-tail:]] if tail > 0 else []
        return "\n".join(lines) + ("\n" if lines else "")

    def log_events(self, container_id: str, *, since: float | None = None) -> list[tuple[float, str]]:
        record = self._get(container_id)
        if record is None:
            return []
        return [(at, line) for at, line in list(record.logs) if since is None or at > since]

    # ----- events -----

    def _emit(self, event: RuntimeEvent) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for events in watchers:
            events.put(event)

    def watch(self, callback: Callable[[RuntimeEvent], None], stop: threading.Event) -> threading.Thread:
        """Events are queued per watcher and delivered, in order, on the returned thread."""
        events: queue.Queue = queue.Queue()
        with self._lock:
            self._watchers.append(events)

        def deliver() -> None:
            try:
                while not stop.is_set():
                    try:
                        event = events.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    try:
                        callback(event)
                    except Exception:  # noqa: BLE001 - a failing callback must not end the watch
                        log.exception("runtime event callback failed for %s", event)
            finally:
                with self._lock:
                    with contextlib.suppress(ValueError):
                        self._watchers.remove(events)

        thread = threading.Thread(target=deliver, name="ecsdojo-process-events", daemon=True)
        thread.start()
        return thread

    # ----- shutdown -----

    def kill_everything(self) -> None:
        """SIGKILL every process of this runtime now (used at interpreter exit)."""
        with self._lock:
            for record in self._containers.values():
                self._signal_group(record, signals.SIGKILL)

    def close(self) -> None:
        self._closed.set()

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        """Not possible: a simulated container is a plain local process (SIMULATED_EXEC_NOTE says so)."""
        raise ExecNotSupportedError()

    def exec_attached(self, container_id: str, command: Sequence[str], *, stdin: int, stdout: int,
                      tty: bool) -> int:
        raise ExecNotSupportedError()

    def describe(self) -> str:
        return f"process (simulated: {self.app_path} as local processes, no Docker)"
