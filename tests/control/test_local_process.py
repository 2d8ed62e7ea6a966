"""LocalECS on the process runtime (machines without Docker): the same control plane, simulated containers."""

from __future__ import annotations

import json
import urllib.request

import pytest

from ecsdojo.control.local import LocalECS
from tests.conftest import wait_for


@pytest.fixture
def local():
    with LocalECS(speed=20, runtime="process", load_balancers=False) as running:
        yield running


def test_a_service_runs_heals_and_reports_on_local_processes(local):
    assert local.runtime.simulated
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="my-cluster")
    ecs.register_task_definition(family="my-task", containerDefinitions=[{
        "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task", desiredCount=2,
                       launchType="EC2")
    local.wait_for_service("my-cluster", "my-service", timeout=30)
    victim = local.tasks("my-cluster")[0]
    port = victim.containers[0].host_ports[8080]

    def answer(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            return None

    assert wait_for(lambda: answer("/"), timeout=15, message="the process to answer")["ecs_task_arn"] == victim.arn
    answer("/crash?code=4")
    wait_for(lambda: victim.last_status == "STOPPED", timeout=20, message="the crashed task to stop")
    assert victim.containers[0].exit_code == 4 and victim.stop_code == "EssentialContainerExited"
    local.wait_for_service("my-cluster", "my-service", running=2, timeout=30)


def test_network_bindings_report_the_loopback_address_ports_are_published_on(local):
    """describe_tasks says what is true: the host port answers on 127.0.0.1 only (AWS's agent reports 0.0.0.0)."""
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="t", containerDefinitions=[{
        "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
    arn = ecs.run_task(cluster="c", taskDefinition="t", launchType="EC2")["tasks"][0]["taskArn"]

    def bindings():
        return ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["containers"][0].get("networkBindings")

    binding = wait_for(bindings, timeout=30, message="the task's network bindings")[0]
    assert binding["bindIP"] == "127.0.0.1" and binding["containerPort"] == 8080 and binding["hostPort"] > 0


def test_a_wait_that_times_out_names_the_stopped_reason_and_the_latest_events(local):
    """Forensics that speak: not "(last: None)" but the stop code, reason, exit code and events (issue 15)."""
    from ecsdojo.control.local import WaitTimeoutError

    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="typo", containerDefinitions=[{
        "name": "web", "image": "ecsdojo/app:no-such-tag", "memory": 128}])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="typo", desiredCount=1, launchType="EC2")
    wait_for(lambda: [t for t in local.tasks("c", include_stopped=True) if t.last_status == "STOPPED"],
             timeout=30, message="a task with a missing image to stop")
    with pytest.raises(WaitTimeoutError) as raised:
        local.wait_for_service("c", "s", timeout=1)
    message = str(raised.value)
    assert "service s to run 1 task(s): running" in message
    assert "stopCode TaskFailedToStart" in message and "CannotPullContainerError" in message
    assert "latest events:" in message and "has started 1 tasks" in message
    assert "(last: None)" not in message
