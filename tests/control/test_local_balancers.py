"""LocalECS's load balancer helpers (what notebooks 03, 05 and 06 use), on the process runtime: real demo-app
processes behind the real proxy, no Docker needed."""

from __future__ import annotations

import json
import urllib.request

import pytest

from ecsdojo.control.local import LocalECS, WaitTimeoutError


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def local():
    with LocalECS(speed=20, runtime="process") as running:
        ecs = running.client("ecs")
        ecs.create_cluster(clusterName="demo")
        ecs.register_task_definition(family="web", containerDefinitions=[{
            "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
        yield running


def test_a_service_behind_a_load_balancer_on_a_chosen_listener_port(local):
    url = local.create_service_behind_load_balancer(cluster="demo", service="web", task_definition="web",
                                                    container_name="web", desired_count=2, listener_port=80,
                                                    timeout=60)
    elbv2 = local.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["web-lb"])["LoadBalancers"][0]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    group = elbv2.describe_target_groups(Names=["web-lb-tg"])["TargetGroups"][0]
    assert listener["Port"] == 80 and listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    assert (group["Port"], group["HealthCheckPath"]) == (8080, "/health")
    # port 80 is privileged: the listener is served on a free loopback port instead, and url() says which
    assert url == local.url("web-lb") and url.startswith("http://127.0.0.1:") and not url.endswith(":80")
    tasks = {t.id for t in local.tasks("demo", service="web")}
    assert len(tasks) == 2
    states = local.target_states("web-lb")
    assert states == {task: "healthy" for task in tasks}, "it returned only once both targets were healthy"
    assert get(url + "/")["ecs_task_arn"].rsplit("/", 1)[-1] in tasks
    assert local.target_states() == states            # all load balancers: this is the only one
    assert local.target_states("no-such-lb") == {}


def test_create_load_balancer_listens_on_the_target_port_by_default_and_waits_for_targets(local):
    group = local.create_load_balancer("api-lb", port=8080)
    elbv2 = local.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["api-lb"])["LoadBalancers"][0]
    assert elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]["Port"] == 8080
    assert local.target_states("api-lb") == {}
    local.client("ecs").create_service(
        cluster="demo", serviceName="api", taskDefinition="web", desiredCount=1, launchType="EC2",
        loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}])
    states = local.wait_for_healthy_targets(1, load_balancer="api-lb", timeout=60)
    assert list(states.values()) == ["healthy"]
    assert set(states) == {t.id for t in local.tasks("demo", service="api")}
    with pytest.raises(WaitTimeoutError, match="2 healthy target"):
        local.wait_for_healthy_targets(2, load_balancer="api-lb", timeout=1)


def test_the_balancer_helpers_say_when_load_balancers_are_off():
    with LocalECS(speed=20, runtime="process", load_balancers=False) as local:
        with pytest.raises(RuntimeError, match="load balancers are disabled"):
            local.target_states()
        with pytest.raises(RuntimeError, match="load balancers are disabled"):
            local.wait_for_healthy_targets(1, timeout=1)
