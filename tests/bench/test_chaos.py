"""`dojo bench chaos`, short: one fault of each kind and several at once against a service behind the local load
balancer, on a real Docker engine. Nothing may be lost, left behind or misreported."""

from __future__ import annotations

import pytest

from ecsdojo.bench.chaos import EXPECTED, chaos_benchmark

pytestmark = pytest.mark.docker


def test_every_kind_of_fault_is_survived_and_reported_truthfully(docker_client, app_image):
    schedule = ["kill", "stop", "pause", "rm", "crash", "hang", "oom", "several"]
    result = chaos_benchmark(schedule=schedule, desired=2, seed=14, speed=10, rate=4)
    assert set(EXPECTED) <= set(schedule)
    skipped = set(result["skipped"])
    assert skipped <= {"oom"}, result["skipped"]
    assert result["fault_events"] == len(schedule) - len(skipped)
    assert result["faults_survived"] == result["fault_events"], result["details"]
    assert (result["tasks_lost"], result["orphans"], result["disagreements"]) == (0, 0, 0), result["details"]
    assert result["orphans_after_stop"] == 0
    assert result["lb_requests"] > 0
    assert result["lb_failed_otherwise"] == 0, result["lb_failed_otherwise_errors"]
    assert result["lb_failed_only_while_all_down_or_to_a_hung_target"]
