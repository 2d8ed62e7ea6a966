"""The load balancer's health-check rules, as pure transitions of one target's record (ALB's thresholds)."""

from __future__ import annotations

from ecsdojo.control.elb.health import apply_check
from ecsdojo.control.elb.targets import FAILED_HEALTH_CHECKS, HEALTHY, INITIAL, UNHEALTHY, Target, TargetRecord


def check(record, passed, *, now=100.0):
    return apply_check(record, passed, None if passed else FAILED_HEALTH_CHECKS, None if passed else "refused",
                       healthy_threshold=3, unhealthy_threshold=2, interval_s=5.0, now=now)


def test_does_a_new_target_become_healthy_after_one_passing_check():
    record = TargetRecord(Target("t", 1))
    assert record.state == INITIAL
    assert check(record, True, now=record.registered_at) == (INITIAL, HEALTHY)


def test_are_a_new_targets_quick_retries_counted_as_one_check():
    record = TargetRecord(Target("t", 1))
    assert check(record, False, now=record.registered_at + 1) is None
    assert (record.state, record.failures) == (INITIAL, 0)


def test_does_a_healthy_target_need_unhealthy_threshold_failures_and_healthy_threshold_successes_back():
    record = TargetRecord(Target("t", 1))
    check(record, True)
    assert check(record, False) is None, "one failure is not enough (threshold 2)"
    assert check(record, False) == (HEALTHY, UNHEALTHY)
    assert record.reason == FAILED_HEALTH_CHECKS
    assert check(record, True) is None and check(record, True) is None
    assert check(record, True) == (UNHEALTHY, HEALTHY), "back after 3 successes in a row"
