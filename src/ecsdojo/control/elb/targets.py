"""Targets of the local load balancer: their identity, health as describe-target-health words it, the
bookkeeping kept per target (state, counters, a keep-alive connection pool), and the matcher parser.

Example::

    parse_matcher("200-299,302")     # frozenset({200, ..., 299, 302})
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["InvalidHealthCheckSettingError", "Target", "TargetHealth", "TargetRecord", "parse_matcher", "quick_ack",
           "checked_settings",
           "INITIAL", "HEALTHY", "UNHEALTHY", "DRAINING", "UNUSED"]

LOOPBACK = "127.0.0.1"

# Target states and reason codes, as elbv2 DescribeTargetHealth names them.
INITIAL, HEALTHY, UNHEALTHY, DRAINING, UNUSED = "initial", "healthy", "unhealthy", "draining", "unused"
REGISTRATION_IN_PROGRESS = "Elb.RegistrationInProgress"
INITIAL_HEALTH_CHECKING = "Elb.InitialHealthChecking"
RESPONSE_CODE_MISMATCH = "Target.ResponseCodeMismatch"
TIMEOUT = "Target.Timeout"
FAILED_HEALTH_CHECKS = "Target.FailedHealthChecks"
DEREGISTRATION_IN_PROGRESS = "Target.DeregistrationInProgress"

HEALTH_CHECK_USER_AGENT = "ELB-HealthChecker/2.0"   # what an ALB sends
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_ON_OTHER_TARGET_METHODS = frozenset({"GET", "HEAD"})
HOP_BY_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                                "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024
MAX_IDLE_CONNECTIONS_PER_TARGET = 64
FIRST_UNPRIVILEGED_PORT = 1024

ChangeCallback = Callable[[str, str, str], object]


INITIAL_RETRY_S = 0.1     # retry delay for a new target whose first checks fail


class InvalidHealthCheckSettingError(ValueError):
    """A health-check or target setting of a load balancer is out of range."""

    def __init__(self, load_balancer: str, field: str, value: object, expected: str) -> None:
        super().__init__(f"load balancer {load_balancer!r}: {field}={value!r} is invalid: expected {expected}")


@dataclass(frozen=True)
class Target:
    """One registered target: an id (the control plane uses the task id) and a port on 127.0.0.1; `group` is
    its target group where a listener forwards to several with weights (`LocalLoadBalancer.set_weights`)."""
    id: str
    port: int
    group: str = ""


@dataclass(frozen=True)
class TargetHealth:
    """A target's health as `describe-target-health` reports it: state, reason code and description."""
    state: str
    reason: str | None = None
    description: str | None = None


class TargetRecord:
    """Mutable bookkeeping for one registered target; guarded by the balancer's lock."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.state = INITIAL
        self.reason: str | None = REGISTRATION_IN_PROGRESS
        self.description: str | None = "Target registration is in progress"
        self.successes = 0
        self.failures = 0
        self.registered_at = time.monotonic()
        self.inflight = 0
        self.stop = threading.Event()            # ends this target's health-check loop
        self.idle: list[http.client.HTTPConnection] = []
        self.idle_lock = threading.Lock()

    def take_connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A pooled keep-alive connection (reused=True) or a new one (not yet connected)."""
        with self.idle_lock:
            if self.idle:
                return self.idle.pop(), True
        return new_connection(self.target.port, timeout), False

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self.idle_lock:
            if len(self.idle) < MAX_IDLE_CONNECTIONS_PER_TARGET and not self.stop.is_set():
                self.idle.append(connection)
                return
        connection.close()

    def close_idle(self) -> None:
        with self.idle_lock:
            idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()


# Many small HTTP servers (Python's http.server among them) write the headers and the body of a response in
# two segments with Nagle's algorithm on; on a keep-alive connection the second waits for our delayed ACK,
# 40 ms. Asking for an immediate ACK after each request removes that stall. Where the option is missing
# (not Linux), connections to targets are not kept alive instead.
QUICK_ACK = getattr(socket, "TCP_QUICKACK", None)


def quick_ack(sock: socket.socket | None) -> None:
    """Ask the kernel to acknowledge the next segments at once (Linux), so a Nagle-delayed body is not held."""
    if QUICK_ACK is not None and sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, QUICK_ACK, 1)
        except OSError:
            pass


def new_connection(port: int, timeout: float) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)


def checked_settings(name: str, *, health_path: str, health_interval_s: float, health_timeout_s: float,
                     idle_timeout_s: float, deregistration_delay_s: float, healthy_threshold: int,
                     unhealthy_threshold: int, matcher: str) -> frozenset[int]:
    """A load balancer's settings checked (InvalidHealthCheckSettingError names the first bad one); returns the
    matcher's HTTP codes."""
    def invalid(field: str, value: object, expected: str) -> InvalidHealthCheckSettingError:
        return InvalidHealthCheckSettingError(name, field, value, expected)

    if not health_path.startswith("/"):
        raise invalid("health_path", health_path, "a path starting with /")
    for field, value in (("health_interval_s", health_interval_s), ("health_timeout_s", health_timeout_s),
                         ("idle_timeout_s", idle_timeout_s)):
        if not value > 0:
            raise invalid(field, value, "a number of seconds above 0")
    if not deregistration_delay_s >= 0:
        raise invalid("deregistration_delay_s", deregistration_delay_s, "a number of seconds, 0 or more")
    for field, value in (("healthy_threshold", healthy_threshold), ("unhealthy_threshold", unhealthy_threshold)):
        if not isinstance(value, int) or not 1 <= value <= 10:
            raise invalid(field, value, "a whole number from 1 to 10")
    try:
        return parse_matcher(matcher)
    except ValueError:
        raise invalid("matcher", matcher, 'HTTP codes 200-499 such as "200", "200-299" or "200,302"') from None


def parse_matcher(matcher: str) -> frozenset[int]:
    """The HTTP codes an ALB matcher accepts: ``"200"``, ``"200-299"``, ``"200,302"`` or a mix.

    Raises ValueError on anything else (ALB allows codes 200-499)."""
    codes: set[int] = set()
    for part in str(matcher).replace(" ", "").split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(part)
        first, last = int(low), int(high or low)
        if not 200 <= first <= last <= 499:
            raise ValueError(part)
        codes.update(range(first, last + 1))
    return frozenset(codes)


