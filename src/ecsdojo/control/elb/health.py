"""The health checker of the local load balancer: one probe, and what a probe's result does to a target's state.

ALB's rules (Application Load Balancer guide, "Health checks for your target groups"): a new target is
``initial`` and needs one passing check; ``unhealthy_threshold`` consecutive failures make a target
``unhealthy``; an unhealthy target needs ``healthy_threshold`` consecutive successes to be ``healthy`` again.
The balancer runs one loop per target and calls `probe` then `apply_check` under its lock.

Example::

    passed, reason, description = probe(32768, path="/health", timeout_s=2.0, codes=frozenset({200}))
    changed = apply_check(record, passed, reason, description, healthy_threshold=2, unhealthy_threshold=2,
                          interval_s=5.0, now=time.monotonic())     # (old, new) or None
"""

from __future__ import annotations

import http.client

from ecsdojo.control.elb.targets import (
    FAILED_HEALTH_CHECKS,
    HEALTH_CHECK_USER_AGENT,
    HEALTHY,
    INITIAL,
    LOOPBACK,
    RESPONSE_CODE_MISMATCH,
    TIMEOUT,
    UNHEALTHY,
    TargetRecord,
    new_connection,
)

__all__ = ["probe", "apply_check"]


def probe(port: int, *, path: str, timeout_s: float, codes: frozenset[int]) -> tuple[bool, str | None, str | None]:
    """One GET of `path` on 127.0.0.1:`port`: (passed, reason code, description) as describe-target-health says."""
    connection = new_connection(port, timeout_s)
    try:
        connection.request("GET", path, headers={
            "Host": f"{LOOPBACK}:{port}", "User-Agent": HEALTH_CHECK_USER_AGENT, "Connection": "close"})
        response = connection.getresponse()
        response.read(64 * 1024)
    except TimeoutError:
        return False, TIMEOUT, "Request timed out"
    except (OSError, http.client.HTTPException) as error:
        return False, FAILED_HEALTH_CHECKS, f"Health checks failed: {type(error).__name__}: {error}"
    finally:
        connection.close()
    if response.status in codes:
        return True, None, None
    return False, RESPONSE_CODE_MISMATCH, f"Health checks failed with these codes: [{response.status}]"


def apply_check(record: TargetRecord, passed: bool, reason: str | None, description: str | None, *,
                healthy_threshold: int, unhealthy_threshold: int, interval_s: float,
                now: float) -> tuple[str, str] | None:
    """Count one check on the target's record; returns (old state, new state) when the state changed."""
    old = record.state
    if passed:
        record.successes, record.failures = record.successes + 1, 0
        # A new target needs one passing check; an unhealthy one needs healthy_threshold in a row.
        if old == INITIAL or (old == UNHEALTHY and record.successes >= healthy_threshold):
            record.state, record.reason, record.description = HEALTHY, None, None
    elif old == INITIAL and now - record.registered_at < interval_s:
        pass      # the quick retries of a new target (see the balancer's health loop) count as one check
    else:
        record.failures, record.successes = record.failures + 1, 0
        if old == UNHEALTHY or record.failures >= unhealthy_threshold:
            record.state, record.reason, record.description = UNHEALTHY, reason, description
    return (old, record.state) if record.state != old else None
