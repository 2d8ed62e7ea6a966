"""After `local.stop()` (Run All reaches the module's clean-up cell), calls say what happened and what to do."""

from __future__ import annotations

import pytest

from ecsdojo.control.local import LocalECS, LocalECSStoppedError


def test_a_client_made_before_stop_says_localecs_is_stopped_instead_of_a_connection_error():
    local = LocalECS(runtime="process", load_balancers=False, autoscaling=False).start()
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="before")
    local.stop()
    with pytest.raises(LocalECSStoppedError, match="Run the set-up cell at the top of the module again"):
        ecs.list_clusters()
    for call in (lambda: local.client("ecs"), lambda: local.tasks("before"), lambda: local.service_events("c", "s"),
                 lambda: local.wait_for_service("before", "web", timeout=1)):
        with pytest.raises(LocalECSStoppedError):
            call()


def test_start_again_after_stop_works():
    local = LocalECS(runtime="process", load_balancers=False, autoscaling=False).start()
    local.stop()
    local.start()
    try:
        assert local.client("ecs").list_clusters()["clusterArns"] == []
    finally:
        local.stop()
