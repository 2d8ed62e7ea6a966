"""The load generator: HTTP traffic against a service on 127.0.0.1, always bounded in time and count.

Two shapes of load:

- closed loop (``concurrency=C``): C connections, each sending its next request as soon as the last one
  answered, so the rate follows the service's speed;
- open loop (``rate=R``): requests start on a fixed schedule of R per second whatever the answers do (up to
  128 in flight at once), the way independent users arrive.

Every run stops at `duration_s` or after `max_requests`, whichever comes first, and only ever sends to
127.0.0.1 (``localhost`` is accepted and sent to 127.0.0.1): any other host is refused (the network rule).

Example::

    report = run_load("http://127.0.0.1:8080", rate=50, duration_s=10)
    print(report.summary())
    report.p99_ms, report.errors            # {"502": 3, "connection": 1}

    load = LoadGenerator("http://127.0.0.1:8080", concurrency=8, duration_s=300).start()
    ...                                      # watch the service scale out
    report = load.stop()

From the terminal: ``dojo load http://127.0.0.1:8080 --rate 50 --duration 30``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from ecsdojo.control.elb.targets import quick_ack

__all__ = ["InvalidLoadOptionError", "LoadGenerator", "LoadProgress", "LoadReport", "NonLoopbackURLError",
           "TimelinePoint", "run_load"]

LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
OPEN_LOOP_MAX_IN_FLIGHT = 128
MAX_DURATION_S = 3600.0
MAX_REQUESTS = 1_000_000
MAX_RATE = 10_000.0
MAX_CONCURRENCY = 256
PROGRESS_INTERVAL_S = 0.25
CONNECTION_ERROR_PAUSE_S = 0.01      # a closed-loop worker's pause after a failed connection: no hot spin
STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                           ConnectionAbortedError)


class NonLoopbackURLError(ValueError):
    """The load generator only sends traffic to 127.0.0.1 (or localhost): the course's network rule."""

    def __init__(self, url: str) -> None:
        super().__init__(f"refused to send load to {url!r}: ECS Dojo sends traffic only to http://127.0.0.1 "
                         "or http://localhost (the network rule: nothing leaves the loopback interface)")


class InvalidLoadOptionError(ValueError):
    """A load option is missing or out of range: every run must be bounded in time and in count."""

    def __init__(self, option: str, value: object, expected: str) -> None:
        super().__init__(f"load option {option}={value!r} is invalid: expected {expected}")


class TimelinePoint(NamedTuple):
    """One second of a run: requests completed in it, errors among them, their median latency (None if none)."""
    t: int
    requests: int
    errors: int
    p50_ms: float | None


@dataclass(frozen=True)
class LoadProgress:
    """What a progress callback receives, about four times a second and once at the end."""
    elapsed_s: float
    requests: int
    errors: int
    rps: float
    fraction: float          # of the run's bound (duration or max_requests), 0..1
    done: bool


@dataclass(frozen=True)
class LoadReport:
    """The outcome of a load run.

    `errors` counts, by kind, answers with status ≥ 500 (key: the status code as text), failed connections
    (``"connection"``) and timeouts (``"timeout"``); `ok` counts 2xx and 3xx answers; 4xx answers are neither
    (see `status_counts`). Latency percentiles cover every request that got an HTTP answer."""
    url: str
    mode: str                       # "closed loop, N connections" or "open loop, R requests/s"
    requests: int
    ok: int
    errors: dict[str, int]
    status_counts: dict[str, int]
    duration_s: float
    throughput_rps: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    timeline: list[TimelinePoint] = field(default_factory=list)
    stopped_by: str = "duration"    # "duration" | "max_requests" | "stop" | "running"

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.requests if self.requests else 0.0

    def as_dict(self) -> dict:
        """A JSON-ready dict (the timeline as lists ``[t, requests, errors, p50_ms]``)."""
        return {"url": self.url, "mode": self.mode, "requests": self.requests, "ok": self.ok,
                "errors": dict(self.errors), "error_count": self.error_count,
                "status_counts": dict(self.status_counts), "duration_s": round(self.duration_s, 3),
                "throughput_rps": round(self.throughput_rps, 1), "p50_ms": self.p50_ms, "p90_ms": self.p90_ms,
                "p99_ms": self.p99_ms, "max_ms": self.max_ms, "stopped_by": self.stopped_by,
                "timeline": [list(point) for point in self.timeline]}

    def summary(self) -> str:
        """A few lines of text for a terminal or a notebook."""
        if self.errors:
            kinds = ", ".join(f"{kind}×{count}" for kind, count in sorted(self.errors.items()))
            errors = f"errors {self.error_count} ({kinds})"
        else:
            errors = "errors 0"
        latency = " · ".join(f"{name} {_ms(value)}" for name, value in
                             (("p50", self.p50_ms), ("p90", self.p90_ms), ("p99", self.p99_ms), ("max", self.max_ms)))
        return (f"Load on {self.url} ({self.mode}) for {self.duration_s:.1f} s, stopped by {self.stopped_by}\n"
                f"  requests    {self.requests}: ok {self.ok}, {errors}\n"
                f"  throughput  {self.throughput_rps:.1f} requests/s\n"
                f"  latency     {latency}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def loopback_target(url: str, path: str = "/") -> tuple[int, str, str]:
    """(port, Host header, request path) for `url`; NonLoopbackURLError unless it is http on 127.0.0.1/localhost.

    `path` replaces the URL's own path unless it is the default ``"/"``."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise NonLoopbackURLError(url) from None
    if parts.scheme != "http" or host not in LOOPBACK_HOSTS or parts.username or parts.password:
        raise NonLoopbackURLError(url)
    port = port or 80
    if path != "/":
        request_path = path if path.startswith("/") else "/" + path
    else:
        request_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if parts.port is None else f"{host}:{port}"
    return port, host_header, request_path


class _Recorder:
    """Results of the requests, written by the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: list[tuple[float, float | None, str]] = []     # (done at, latency ms | None, outcome)
        self.requests = 0
        self.errors = 0

    def add(self, done_at: float, latency_ms: float | None, outcome: str) -> None:
        is_error = outcome in ("connection", "timeout") or int(outcome) >= 500
        with self.lock:
            self.results.append((done_at, latency_ms, outcome))
            self.requests += 1
            self.errors += is_error

    def snapshot(self) -> list[tuple[float, float | None, str]]:
        with self.lock:
            return list(self.results)


class LoadGenerator:
    """Load in the background: `start()`, watch, `stop()` (or let it end at its bounds), `report()`.

    Takes the same options as `run_load`. Example::

        load = LoadGenerator(lb.url, rate=40, duration_s=600).start()
        load.report().throughput_rps     # so far
        load.stop().summary()
    """

    def __init__(self, url: str, *, rate: float | None = None, concurrency: int = 4, duration_s: float = 10,
                 max_requests: int = 100_000, path: str = "/", timeout_s: float = 5,
                 progress: bool | Callable[[LoadProgress], object] = True) -> None:
        self.port, self.host_header, self.path = loopback_target(url, path)
        if rate is not None and not (isinstance(rate, (int, float)) and 0 < rate <= MAX_RATE):
            raise InvalidLoadOptionError("rate", rate, f"requests per second above 0 and at most {MAX_RATE:g}")
        if not (isinstance(concurrency, int) and 1 <= concurrency <= MAX_CONCURRENCY):
            raise InvalidLoadOptionError("concurrency", concurrency, f"a whole number from 1 to {MAX_CONCURRENCY}")
        if not (isinstance(duration_s, (int, float)) and 0 < duration_s <= MAX_DURATION_S):
            raise InvalidLoadOptionError("duration_s", duration_s, f"seconds above 0 and at most {MAX_DURATION_S:g}")
        if not (isinstance(max_requests, int) and 1 <= max_requests <= MAX_REQUESTS):
            raise InvalidLoadOptionError("max_requests", max_requests, f"a whole number from 1 to {MAX_REQUESTS}")
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s <= 300):
            raise InvalidLoadOptionError("timeout_s", timeout_s, "seconds above 0 and at most 300")
        self.url = f"http://{self.host_header}{self.path}"
        self.rate = float(rate) if rate is not None else None
        self.concurrency = concurrency
        self.duration_s = float(duration_s)
        self.max_requests = max_requests
        self.timeout_s = float(timeout_s)
        self.mode = (f"open loop, {self.rate:g} requests/s" if self.rate is not None
                     else f"closed loop, {concurrency} connection{'s' if concurrency > 1 else ''}")
        self._progress = _make_progress(progress)
        self._recorder = _Recorder()
        self._claim_lock = threading.Lock()
        self._claimed = 0
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._stopped_by = "running"
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._deadline = 0.0
        self._monitor: threading.Thread | None = None
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()
        self._local = threading.local()

    # ----------------------------------------------------------------------------------------- control

    def start(self) -> LoadGenerator:
        """Begin sending; returns self. Starting twice is an error."""
        if self._started_at is not None:
            raise RuntimeError("this LoadGenerator was already started; make a new one")
        self._started_at = time.monotonic()
        self._deadline = self._started_at + self.duration_s
        self._monitor = threading.Thread(target=self._run, name="load-monitor", daemon=True)
        self._monitor.start()
        return self

    def stop(self) -> LoadReport:
        """Stop sending, wait for the requests in flight (at most `timeout_s`), return the report."""
        if self._started_at is None:
            raise RuntimeError("this LoadGenerator was not started")
        if not self._finished.is_set():
            with self._claim_lock:
                if self._stopped_by == "running":
                    self._stopped_by = "stop"
            self._stop.set()
        self.wait()
        return self.report()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end at its bounds; False if `timeout` passed first."""
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return self._started_at is not None and not self._finished.is_set()

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------- report

    def report(self) -> LoadReport:
        """The report so far (final once the run has ended)."""
        results = self._recorder.snapshot()
        start = self._started_at if self._started_at is not None else time.monotonic()
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        duration = max(end - start, 1e-9)
        errors: dict[str, int] = {}
        status_counts: dict[str, int] = {}
        ok = 0
        latencies: list[float] = []
        buckets: dict[int, list] = {}
        for done_at, latency_ms, outcome in results:
            second = int(done_at - start)
            bucket = buckets.setdefault(second, [0, 0, []])
            bucket[0] += 1
            if latency_ms is not None:
                latencies.append(latency_ms)
                bucket[2].append(latency_ms)
            if outcome in ("connection", "timeout"):
                errors[outcome] = errors.get(outcome, 0) + 1
                bucket[1] += 1
                continue
            status_counts[outcome] = status_counts.get(outcome, 0) + 1
            status = int(outcome)
            if status >= 500:
                errors[outcome] = errors.get(outcome, 0) + 1
                bucket[1] += 1
            elif status < 400:
                ok += 1
        latencies.sort()
        seconds = max(math.ceil(duration), (max(buckets) + 1) if buckets else 0)
        timeline = []
        for second in range(seconds):
            count, failed, bucket_latencies = buckets.get(second, (0, 0, []))
            bucket_latencies = sorted(bucket_latencies)
            timeline.append(TimelinePoint(second, count, failed, _percentile(bucket_latencies, 50)))
        return LoadReport(url=self.url, mode=self.mode, requests=len(results), ok=ok, errors=errors,
                          status_counts=status_counts, duration_s=duration,
                          throughput_rps=len(results) / duration, p50_ms=_percentile(latencies, 50),
                          p90_ms=_percentile(latencies, 90), p99_ms=_percentile(latencies, 99),
                          max_ms=round(latencies[-1], 2) if latencies else None, timeline=timeline,
                          stopped_by=self._stopped_by)

    # ------------------------------------------------------------------------------------------ workers

    def _claim(self) -> bool:
        """Take the right to send one more request, unless a bound was reached."""
        with self._claim_lock:
            if self._stop.is_set():
                return False
            if self._claimed >= self.max_requests:
                self._end("max_requests")
                return False
            if time.monotonic() >= self._deadline:
                self._end("duration")
                return False
            self._claimed += 1
            return True

    def _end(self, reason: str) -> None:
        """Record why the run ends (claim lock held) and tell every worker."""
        if self._stopped_by == "running":
            self._stopped_by = reason
        self._stop.set()

    def _run(self) -> None:
        """The monitor: runs the workers, shows progress, records the end."""
        try:
            if self.rate is None:
                workers = [threading.Thread(target=self._closed_loop_worker, name=f"load-worker-{i}", daemon=True)
                           for i in range(self.concurrency)]
            else:
                workers = [threading.Thread(target=self._open_loop_dispatcher, name="load-dispatcher", daemon=True)]
            for worker in workers:
                worker.start()
            while alive := [worker for worker in workers if worker.is_alive()]:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:        # workers waiting on slow answers: the bound still holds for new ones
                    with self._claim_lock:
                        self._end("duration")
                    remaining = PROGRESS_INTERVAL_S
                alive[0].join(timeout=min(PROGRESS_INTERVAL_S, remaining))
                self._show_progress(done=False)
        finally:
            self._ended_at = time.monotonic()
            with self._connections_lock:
                connections, self._connections = self._connections, []
            for connection in connections:
                connection.close()
            self._finished.set()
            self._show_progress(done=True)

    def _closed_loop_worker(self) -> None:
        connection = self._connection()
        while self._claim():
            outcome = self._send(connection)
            if outcome == "connection":
                self._stop.wait(CONNECTION_ERROR_PAUSE_S)

    def _open_loop_dispatcher(self) -> None:
        interval = 1.0 / self.rate
        with ThreadPoolExecutor(max_workers=OPEN_LOOP_MAX_IN_FLIGHT, thread_name_prefix="load-worker") as pool:
            number = 0
            while True:
                due = self._started_at + number * interval
                if due >= self._deadline:
                    with self._claim_lock:
                        self._end("duration")
                    break
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                if not self._claim():
                    break
                pool.submit(self._send_on_thread_connection)
                number += 1
            pool.shutdown(wait=True, cancel_futures=True)     # requests not yet started are never sent

    def _send_on_thread_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connection()
        self._send(connection)

    def _connection(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout_s)
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _send(self, connection: http.client.HTTPConnection) -> str:
        """One GET; records and returns its outcome (status code text, "connection" or "timeout")."""
        retried = False
        while True:
            reused = connection.sock is not None
            began = time.monotonic()
            try:
                connection.request("GET", self.path, headers={"Host": self.host_header,
                                                              "User-Agent": "ecsdojo-load/1"})
                quick_ack(connection.sock)          # no 40 ms delayed-ACK stall on keep-alive (see ecsdojo.control.elb.targets)
                response = connection.getresponse()
                response.read()
            except TimeoutError:
                connection.close()
                outcome, latency = "timeout", None
            except STALE_CONNECTION_ERRORS:
                connection.close()
                if reused and not retried:          # the server closed an idle keep-alive connection
                    retried = True
                    continue
                outcome, latency = "connection", None
            except (OSError, http.client.HTTPException):
                connection.close()
                outcome, latency = "connection", None
            else:
                if response.will_close:
                    connection.close()
                outcome, latency = str(response.status), (time.monotonic() - began) * 1000
            self._recorder.add(time.monotonic(), latency, outcome)
            return outcome

    # ----------------------------------------------------------------------------------------- progress

    def _show_progress(self, *, done: bool) -> None:
        if self._progress is None:
            return
        elapsed = (self._ended_at or time.monotonic()) - self._started_at
        requests, errors = self._recorder.requests, self._recorder.errors
        fraction = 1.0 if done else min(1.0, max(elapsed / self.duration_s, requests / self.max_requests))
        try:
            self._progress(LoadProgress(elapsed_s=elapsed, requests=requests, errors=errors,
                                        rps=requests / elapsed if elapsed > 0 else 0.0, fraction=fraction,
                                        done=done))
        except Exception:  # noqa: BLE001 - a broken display must not stop the load or hide the report
            self._progress = None


def _percentile(sorted_values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list, in ms rounded to 0.01; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 2)


def run_load(url: str, *, rate: float | None = None, concurrency: int = 4, duration_s: float = 10,
             max_requests: int = 100_000, path: str = "/", timeout_s: float = 5,
             progress: bool | Callable[[LoadProgress], object] = True) -> LoadReport:
    """Send load to `url` (127.0.0.1 or localhost only) until `duration_s` or `max_requests`; return the report.

    With `rate`, an open loop of `rate` requests per second; otherwise a closed loop of `concurrency`
    connections. `path` replaces the URL's path unless it is ``"/"``. `progress`: True shows a progress bar
    (a widget in a notebook, a line on stderr in a terminal, nothing otherwise), False none, or a callable
    receiving `LoadProgress`. Interrupting (Ctrl-C, or a notebook's stop button) stops the load at once.

    Example::

        report = run_load("http://127.0.0.1:8080", concurrency=8, duration_s=5)
        report.throughput_rps, report.p99_ms
    """
    load = LoadGenerator(url, rate=rate, concurrency=concurrency, duration_s=duration_s,
                         max_requests=max_requests, path=path, timeout_s=timeout_s, progress=progress).start()
    try:
        load.wait()
    except KeyboardInterrupt:
        load.stop()
        raise
    return load.report()


# --------------------------------------------------------------------------------------------- progress


def _in_ipython_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _make_progress(progress: bool | Callable[[LoadProgress], object]) -> Callable[[LoadProgress], object] | None:
    if callable(progress):
        return progress
    if not progress:
        return None
    if _in_ipython_kernel():
        try:
            return _WidgetProgress()
        except ImportError:
            return _LineProgress(sys.stderr, bar=False)
    if getattr(sys.stderr, "isatty", lambda: False)():
        return _LineProgress(sys.stderr, bar=True)
    return None


def _progress_text(progress: LoadProgress) -> str:
    return (f"{progress.elapsed_s:5.1f} s  {progress.requests} requests  {progress.rps:.0f} req/s  "
            f"{progress.errors} errors")


class _LineProgress:
    """One line rewritten in place with \\r: a bar in a terminal."""

    def __init__(self, stream, *, bar: bool) -> None:
        self.stream = stream
        self.bar = bar

    def __call__(self, progress: LoadProgress) -> None:
        text = _progress_text(progress)
        if self.bar:
            filled = int(progress.fraction * 24)
            text = f"[{'#' * filled}{'.' * (24 - filled)}] {text}"
        self.stream.write("\r" + text.ljust(78) + ("\n" if progress.done else ""))
        self.stream.flush()


class _WidgetProgress:
    """An ipywidgets bar and label in a notebook."""

    def __init__(self) -> None:
        import ipywidgets
        from IPython.display import display

        self.bar = ipywidgets.IntProgress(value=0, min=0, max=1000, description="load")
        self.label = ipywidgets.Label("starting")
        display(ipywidgets.HBox([self.bar, self.label]))

    def __call__(self, progress: LoadProgress) -> None:
        self.bar.value = int(progress.fraction * 1000)
        self.label.value = _progress_text(progress) + (" · done" if progress.done else "")
        if progress.done:
            self.bar.bar_style = "danger" if progress.errors else "success"


# -------------------------------------------------------------------------------------------------- CLI


def register(commands) -> None:
    """Add `dojo load URL` to the command line."""
    parser = commands.add("load", help="send HTTP load to a service on 127.0.0.1, bounded in time and count",
                          handler=_load_command)
    parser.add_argument("url", help="http://127.0.0.1:PORT[/path] (or localhost); nothing else is accepted")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--rate", type=float, help="open loop: requests started per second")
    shape.add_argument("--concurrency", type=int, default=4, help="closed loop: connections (default 4)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many (default 100000)")
    parser.add_argument("--path", default="/", help="request path, replacing the URL's (default: the URL's)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer (default 5)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")


def _load_command(args: argparse.Namespace) -> int:
    try:
        load = LoadGenerator(args.url, rate=args.rate, concurrency=args.concurrency, duration_s=args.duration,
                             max_requests=args.max_requests, path=args.path, timeout_s=args.timeout,
                             progress=not args.json)
    except (NonLoopbackURLError, InvalidLoadOptionError) as error:
        print(f"dojo load: {error}", file=sys.stderr)
        return 2
    load.start()
    try:
        load.wait()
    except KeyboardInterrupt:
        load.stop()
    report = load.report()
    print(json.dumps(report.as_dict()) if args.json else report.summary())
    return 0
