"""The local load balancer: one HTTP listener on 127.0.0.1 in front of a target group, shaped like an ALB.

It knows nothing of moto or ECS: the control plane reads the target group from moto's elbv2 state and
calls `set_targets` with the tasks' host ports; the balancer health-checks them, routes round-robin
to the healthy ones and reports each target's state the way `describe-target-health` does.

Behaviour taken from the Application Load Balancer documentation:

- A newly registered target is ``initial`` and gets no traffic until it passes one health check (its first
  check runs at once). After that, ``unhealthy_threshold`` consecutive failures make it ``unhealthy``, and
  ``healthy_threshold`` consecutive successes bring an unhealthy target back.
- Round robin over the healthy targets. When no target is healthy the load balancer *fails open*: it routes
  to every registered target, whatever its health, as an ALB does when a target group holds only unhealthy
  targets. With no registered target at all it answers 503.
- A deregistered target is ``draining`` (draining.py): it gets no new requests, its in-flight requests finish,
  and it disappears once they have (at once when there are none) or after ``deregistration_delay_s``.
- Proxied requests carry ``X-Forwarded-For``, ``X-Forwarded-Port`` and ``X-Forwarded-Proto``.

Beyond an ALB, for a friendlier lab: when a connection to a target fails (the task died between two health
checks), the target is marked unhealthy at once and an idempotent GET or HEAD is retried on another target
(each registered target at most once, so it fails only when every target does); any other request gets a 502.

Everything stays on the loopback interface: the listener binds 127.0.0.1 and targets are always 127.0.0.1.

Example::

    lb = LocalLoadBalancer(name="web", health_interval_s=1.0)
    lb.start(8080)                      # returns the port actually bound (8080, or another if it is busy)
    lb.set_targets([Target("task-1", 32768), Target("task-2", 32769)])
    lb.wait_healthy(2, timeout=10)
    lb.url                              # "http://127.0.0.1:8080"
    lb.target_health()                  # {"task-1": "healthy", "task-2": "healthy"}
    lb.stop()
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Iterable

from ecsdojo.control.elb.draining import Draining
from ecsdojo.control.elb.health import apply_check, probe
from ecsdojo.control.elb.proxy import (
    BodyTooLarge,
    ProxyHandler,
    ProxyServer,
    Response,
    UpstreamFailed,
    UpstreamTimedOut,
    error_response,
    exchange,
    forward_headers,
    read_request_body,
    write_response,
)
from ecsdojo.control.elb.targets import (
    DRAINING,
    FAILED_HEALTH_CHECKS,
    FIRST_UNPRIVILEGED_PORT,
    HEALTHY,
    INITIAL,
    INITIAL_HEALTH_CHECKING,
    INITIAL_RETRY_S,
    LOOPBACK,
    RETRY_ON_OTHER_TARGET_METHODS,
    UNHEALTHY,
    UNUSED,
    ChangeCallback,
    InvalidHealthCheckSettingError,
    Target,
    TargetHealth,
    TargetRecord,
    checked_settings,
    parse_matcher,
)
from ecsdojo.control.elb.weights import MAX_WEIGHT, WeightedGroups, routable_by_group

__all__ = ["LocalLoadBalancer", "InvalidHealthCheckSettingError", "Target", "TargetHealth", "parse_matcher"]

log = logging.getLogger(__name__)


class LocalLoadBalancer:
    """An ALB-like HTTP load balancer for one listener, on 127.0.0.1 only.

    Options (keyword-only) mirror a target group's health-check settings: `health_path`,
    `health_interval_s`, `health_timeout_s`, `healthy_threshold`, `unhealthy_threshold`, `matcher`
    (``"200"``, ``"200-299"``, ``"200,302"``), `deregistration_delay_s`; and the listener's
    `idle_timeout_s` (also the longest a target may take to answer before the client gets a 504).
    `on_change(target_id, old_state, new_state)` is called on every state change, in order, from the
    thread that made it (keep it quick: it may be a request thread); registration is
    ``"unused" -> "initial"``, the end of draining ``"draining" -> "unused"``.

    Example::

        with LocalLoadBalancer(name="web") as lb:       # started on an ephemeral port
            lb.set_targets([Target("task-1", 32768)])
            lb.wait_healthy(1, timeout=10)
            urllib.request.urlopen(lb.url + "/")
    """

    def __init__(self, *, name: str, health_path: str = "/health", health_interval_s: float = 5.0,
                 health_timeout_s: float = 2.0, healthy_threshold: int = 2, unhealthy_threshold: int = 2,
                 matcher: str = "200", deregistration_delay_s: float = 0.0, idle_timeout_s: float = 60.0,
                 on_change: ChangeCallback | None = None) -> None:
        self._matcher_codes = checked_settings(
            name, health_path=health_path, health_interval_s=health_interval_s, health_timeout_s=health_timeout_s,
            idle_timeout_s=idle_timeout_s, deregistration_delay_s=deregistration_delay_s,
            healthy_threshold=healthy_threshold, unhealthy_threshold=unhealthy_threshold, matcher=matcher)
        self.name = name
        self.health_path = health_path
        self.group_health_paths: dict[str, str] = {}     # target group -> its HealthCheckPath (weighted listeners)
        self.health_interval_s = float(health_interval_s)
        self.health_timeout_s = float(health_timeout_s)
        self.healthy_threshold = healthy_threshold
        self.unhealthy_threshold = unhealthy_threshold
        self.matcher = matcher
        self.deregistration_delay_s = float(deregistration_delay_s)
        self.idle_timeout_s = float(idle_timeout_s)
        self.on_change: ChangeCallback | None = on_change

        self.port: int | None = None
        self.requested_port: int | None = None
        self._server: ProxyServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._started = False

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._targets: dict[str, TargetRecord] = {}       # registered (initial/healthy/unhealthy), in order
        self._healthy: list[TargetRecord] = []
        self._registered: list[TargetRecord] = []
        self._next = 0
        self._groups = WeightedGroups()                  # target group weights (empty: one group)
        self._counts: dict[str, int] = {}
        self._total = 0
        self._failed = 0
        self._pending_events: list[tuple[str, str, str]] = []
        self._event_lock = threading.RLock()      # a callback may call back into the balancer
        self._draining = Draining(delay_s=self.deregistration_delay_s, lock=self._lock,
                                  pending_events=self._pending_events, fire_events=self._fire_events)

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self.port is None:
            raise RuntimeError(f"load balancer {self.name!r} is not started")
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, port: int | None = None) -> int:
        """Listen on 127.0.0.1:`port`; returns the port actually bound.

        A busy or privileged port (below 1024, even for root, so every machine behaves alike) falls back to
        an ephemeral port; `requested_port` keeps what was asked."""
        if self._started:
            return self.port
        if self._server is not None:
            raise RuntimeError(f"load balancer {self.name!r} was stopped; make a new one")
        self.requested_port = port
        server = None
        if port and FIRST_UNPRIVILEGED_PORT <= port <= 65535:
            try:
                server = ProxyServer((LOOPBACK, port), self)
            except OSError as error:
                if error.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                    raise
        if server is None:
            server = ProxyServer((LOOPBACK, 0), self)
        self._server = server
        self.port = server.server_address[1]
        self._serve_thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                              name=f"lb-{self.name}-listener", daemon=True)
        self._serve_thread.start()
        with self._lock:
            self._started = True
            records = list(self._targets.values())
        for record in records:
            self._start_health_checks(record)
        return self.port

    def stop(self) -> None:
        """Stop listening, close client and target connections, end health checks. Safe to call twice."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            records = list(self._targets.values()) + self._draining.records()
        for record in records:
            record.stop.set()
            record.close_idle()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_open_connections()
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=5)
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> LocalLoadBalancer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def set_health_check(self, *, path: str, matcher: str) -> None:
        """ModifyTargetGroup's HealthCheckPath / Matcher: used from the next probe on; targets keep their state
        until probes move it (an ALB applies a modified health check to the registered targets the same way)."""
        if path == self.health_path and matcher == self.matcher:
            return
        codes = checked_settings(
            self.name, health_path=path, health_interval_s=self.health_interval_s,
            health_timeout_s=self.health_timeout_s, idle_timeout_s=self.idle_timeout_s,
            deregistration_delay_s=self.deregistration_delay_s, healthy_threshold=self.healthy_threshold,
            unhealthy_threshold=self.unhealthy_threshold, matcher=matcher)
        with self._lock:
            self.health_path, self.matcher, self._matcher_codes = path, matcher, codes

    # ------------------------------------------------------------------------------------------- targets

    def set_targets(self, targets: Iterable[Target]) -> None:
        """Make the registered targets exactly `targets`: new ones start ``initial`` (first health check at
        once), missing ones go ``draining``. A target whose port changed is registered anew."""
        wanted: dict[str, Target] = {}
        for target in targets:
            if not isinstance(target, Target):
                raise TypeError(f"load balancer {self.name!r}: targets must be Target(id, port), got {target!r}")
            if not isinstance(target.port, int) or not 1 <= target.port <= 65535:
                raise InvalidHealthCheckSettingError(self.name, f"target {target.id!r} port", target.port,
                                                     "a port from 1 to 65535")
            wanted[target.id] = target
        new_records: list[TargetRecord] = []
        finished: list[TargetRecord] = []
        with self._lock:
            for target_id, record in list(self._targets.items()):
                if wanted.get(target_id) != record.target:
                    del self._targets[target_id]
                    if self._draining.begin(record):
                        finished.append(record)
            for target_id, target in wanted.items():
                if target_id in self._targets:
                    continue
                old_draining = self._draining.take(target_id)    # re-registered while draining: the old one ends
                record = TargetRecord(target)
                self._targets[target_id] = record
                self._counts.setdefault(target_id, 0)
                self._pending_events.append((target_id, DRAINING if old_draining else UNUSED, INITIAL))
                new_records.append(record)
            self._rebuild_rotation()
            started = self._started
        for record in finished:
            record.close_idle()
        if started:
            for record in new_records:
                self._start_health_checks(record)
        self._fire_events()

    def set_weights(self, weights: dict[str, int] | None) -> None:
        """Forward to several target groups (`Target.group`) by weight (control/elb/weights.py); weight 0 sends
        a group nothing; None or {} turns weights off."""
        for group, weight in (weights or {}).items():
            if not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT:
                raise InvalidHealthCheckSettingError(self.name, f"weight of {group}", weight, f"0 to {MAX_WEIGHT}")
        with self._lock:
            self._groups.set(weights)

    @property
    def weights(self) -> dict[str, int]:
        with self._lock:
            return dict(self._groups.weights)

    def group_request_counts(self) -> dict[str, int]:
        """Responses per target group (while weights are set)."""
        with self._lock:
            return dict(self._groups.counts)

    def _rebuild_rotation(self) -> None:
        """Recompute the routing lists (lock held)."""
        self._registered = list(self._targets.values())
        self._healthy = [record for record in self._registered if record.state == HEALTHY]
        self._changed.notify_all()

    # ------------------------------------------------------------------------------------------ reporting

    def target_health(self) -> dict[str, str]:
        """State of every registered or draining target: ``initial``, ``healthy``, ``unhealthy``, ``draining``."""
        return {target_id: health.state for target_id, health in self.target_health_details().items()}

    def target_health_details(self) -> dict[str, TargetHealth]:
        """State, ALB reason code (e.g. ``Target.ResponseCodeMismatch``) and description of every target."""
        with self._lock:
            records = list(self._targets.values()) + self._draining.records()
            return {record.target.id: TargetHealth(record.state, None if record.state == HEALTHY else record.reason,
                                                   None if record.state == HEALTHY else record.description)
                    for record in records}

    def targets(self) -> list[Target]:
        """The registered targets (draining ones excluded), in registration order."""
        with self._lock:
            return [record.target for record in self._targets.values()]

    def request_counts(self) -> dict[str, int]:
        """Responses each target has given through this load balancer since it was first registered."""
        with self._lock:
            return dict(self._counts)

    @property
    def total_requests(self) -> int:
        """Client requests received."""
        return self._total

    @property
    def failed_requests(self) -> int:
        """Responses the load balancer generated itself with a 5xx status (502, 503, 504)."""
        return self._failed

    def wait_healthy(self, n: int, timeout: float) -> bool:
        """Wait until at least `n` targets are healthy; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._healthy) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    # -------------------------------------------------------------------------------------- health checks

    def _start_health_checks(self, record: TargetRecord) -> None:
        threading.Thread(target=self._health_loop, args=(record,), daemon=True,
                         name=f"lb-{self.name}-health-{record.target.id}").start()

    def _health_loop(self, record: TargetRecord) -> None:
        next_check = time.monotonic()            # the first check runs at once
        while not record.stop.is_set():
            with self._lock:
                if record.state == INITIAL:
                    record.reason, record.description = INITIAL_HEALTH_CHECKING, "Initial health checks in progress"
            passed, reason, description = self._check_once(record.target.port, record.target.group)
            self._record_check(record, passed, reason, description)
            with self._lock:
                still_initial = record.state == INITIAL
            if still_initial and not passed:
                # A task's app needs a moment to listen after its container starts: while a target is still
                # "initial", retry soon instead of a full interval later (a lab-friendly shortcut, like the retry).
                next_check = time.monotonic() + min(self.health_interval_s, INITIAL_RETRY_S)
            else:
                next_check += self.health_interval_s     # the time a check takes does not shift the interval
            now = time.monotonic()
            if next_check < now:
                next_check = now
            if record.stop.wait(next_check - now):
                return

    def _check_once(self, port: int, group: str = "") -> tuple[bool, str | None, str | None]:
        path = self.group_health_paths.get(group, self.health_path)      # each target group its own path
        return probe(port, path=path, timeout_s=self.health_timeout_s, codes=self._matcher_codes)

    def _record_check(self, record: TargetRecord, passed: bool, reason: str | None,
                      description: str | None) -> None:
        with self._lock:
            if record.stop.is_set() or self._targets.get(record.target.id) is not record:
                return
            changed = apply_check(record, passed, reason, description, healthy_threshold=self.healthy_threshold,
                                  unhealthy_threshold=self.unhealthy_threshold, interval_s=self.health_interval_s,
                                  now=time.monotonic())
            if changed is not None:
                self._pending_events.append((record.target.id, *changed))
                self._rebuild_rotation()
            went_unhealthy = changed is not None and changed[1] == UNHEALTHY
        if went_unhealthy:
            record.close_idle()
        self._fire_events()

    def _mark_failed(self, record: TargetRecord, error: BaseException) -> None:
        """A connection to the target failed: take it out of rotation now, not at the next health check."""
        with self._lock:
            if self._targets.get(record.target.id) is not record:
                return
            old = record.state
            record.successes, record.failures = 0, max(record.failures, self.unhealthy_threshold)
            record.state, record.reason = UNHEALTHY, FAILED_HEALTH_CHECKS
            record.description = f"Connection to the target failed: {type(error).__name__}: {error}"
            if old != UNHEALTHY:
                self._pending_events.append((record.target.id, old, UNHEALTHY))
                self._rebuild_rotation()
        record.close_idle()
        self._fire_events()

    def _fire_events(self) -> None:
        """Deliver queued state changes to `on_change`, in the order they happened."""
        with self._event_lock:
            with self._lock:
                events = list(self._pending_events)
            self._pending_events.clear()          # the same list Draining appends to
            callback = self.on_change
            if callback is None:
                return
            for target_id, old, new in events:
                try:
                    callback(target_id, old, new)
                except Exception:  # noqa: BLE001 - a broken callback must not break routing
                    log.exception("load balancer %s: on_change callback failed", self.name)

    # -------------------------------------------------------------------------------------------- routing

    def _pick(self, exclude: Iterable[TargetRecord] = ()) -> TargetRecord | None:
        """The next target round robin (healthy ones, or all registered when none is healthy), not in `exclude`."""
        with self._lock:
            excluded = {id(record) for record in exclude}
            if self._groups:
                pool = self._groups.pick(routable_by_group(self._registered, self._healthy, excluded))
            else:
                pool = [record for record in self._healthy or self._registered if id(record) not in excluded]
            if not pool:
                return None
            record = pool[self._next % len(pool)]
            self._next += 1
            record.inflight += 1
            return record

    def _release(self, record: TargetRecord, *, answered: bool) -> None:
        with self._lock:
            record.inflight -= 1
            if answered:
                self._counts[record.target.id] = self._counts.get(record.target.id, 0) + 1
                if self._groups:
                    self._groups.answered(record.target.group)
            finished = self._draining.request_ended(record)
        if finished:
            record.close_idle()
            self._fire_events()

    def _proxy(self, handler: ProxyHandler) -> None:
        with self._lock:
            self._total += 1
        method = handler.command
        try:
            body = read_request_body(handler)
        except BodyTooLarge:
            handler.close_connection = True
            self._reply(handler, self._error_response(413, "Request Entity Too Large", "request body too large"))
            return
        except (ValueError, OSError):
            handler.close_connection = True
            self._reply(handler, self._error_response(400, "Bad Request", "malformed request body"))
            return
        headers = forward_headers(handler, body, port=self.port)

        record = self._pick()
        if record is None:
            response = self._error_response(503, "Service Unavailable",
                                            f"load balancer {self.name} has no registered targets")
        else:
            response = self._send_upstream(record, method, handler.path, headers, body)
        self._reply(handler, response)

    def _send_upstream(self, record: TargetRecord, method: str, path: str, headers: list[tuple[str, str]],
                       body: bytes) -> Response:
        """Send to `record`; on a failed connection, a GET or HEAD is retried on each other target at most once."""
        tried = [record]
        while True:
            try:
                response = exchange(record, method, path, headers, body, timeout_s=self.idle_timeout_s)
            except UpstreamTimedOut:
                self._release(record, answered=False)
                return self._error_response(504, "Gateway Timeout", f"target {record.target.id} did not answer "
                                                                    f"within {self.idle_timeout_s:g} s")
            except UpstreamFailed as failure:
                self._release(record, answered=False)
                self._mark_failed(record, failure.error)
                if method in RETRY_ON_OTHER_TARGET_METHODS:
                    other = self._pick(exclude=tried)
                    if other is not None:
                        record = other
                        tried.append(other)
                        continue
                return self._error_response(502, "Bad Gateway",
                                            f"connection to target {record.target.id} failed: {failure.error}")
            except BaseException:
                self._release(record, answered=False)
                raise
            self._release(record, answered=True)
            return response

    # ------------------------------------------------------------------------------------ request helpers

    def _error_response(self, status: int, reason: str, message: str) -> Response:
        return error_response(self.name, status, reason, message)

    def _reply(self, handler: ProxyHandler, response: Response) -> None:
        if not response.from_target and response.status >= 500:
            with self._lock:
                self._failed += 1
        write_response(handler, response)
