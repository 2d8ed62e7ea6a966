"""Module 09's broken services: each fails in the engine for its real reason, and the checks read real state.

The process-runtime tests run everywhere (no Docker); the Docker test runs the memory kill, which needs an
engine that enforces limits.
"""

from __future__ import annotations

import pytest

from ecsdojo import LocalECS
from ecsdojo.course.debugging import (FAULTS, UnknownFault, awslogs, diagnose, hand_out, log_stream_has_lines,
                                      newest_stopped, recent_log_lines, service_is_steady, steady_and_stable,
                                      web_container)


def test_is_an_unknown_fault_refused_with_the_choices():
    with pytest.raises(UnknownFault, match=r"unknown fault 'typo': choose one of crash, image, log-group"):
        hand_out(object(), "web", "typo")
    assert set(FAULTS) == {"crash", "image", "log-group", "oom", "port", "health-path"}


def test_does_the_log_configuration_ask_for_the_group_only_when_told():
    assert awslogs("/ecs/web")["options"]["awslogs-create-group"] == "true"
    assert "awslogs-create-group" not in awslogs("/ecs/web", create_group=False)["options"]
    assert web_container("orders")["logConfiguration"]["options"]["awslogs-group"] == "/ecs/orders"


@pytest.fixture
def local():
    with LocalECS(speed=20, runtime="process", load_balancers=False) as running:
        yield running


def stopped(local, service):
    return local.wait_for(lambda: newest_stopped(local.client("ecs"), service), timeout=30,
                          describe=f"a stopped task of {service}")


def test_do_a_crash_a_missing_image_and_a_missing_log_group_stop_for_their_own_reasons(local):
    ecs, logs = local.client("ecs"), local.client("logs")
    for service, fault in (("crashy", "crash"), ("ghost", "image"), ("orders", "log-group")):
        hand_out(local, service, fault)

    crash = stopped(local, "crashy")
    assert (crash["stopCode"], crash["containers"][0]["exitCode"]) == ("EssentialContainerExited", 3)
    task_id = crash["taskArn"].rsplit("/", 1)[-1]
    assert local.wait_for(lambda: recent_log_lines(logs, "/ecs/crashy", task_id=task_id), timeout=10,
                          describe="the crash's log line") == ["ecsdojo-app v1: APP_EXIT_AT_START=3, exiting"]

    ghost = stopped(local, "ghost")
    assert ghost["stopCode"] == "TaskFailedToStart" and ghost["stoppedReason"].startswith("CannotPullContainerError")
    assert recent_log_lines(logs, "/ecs/ghost") == [], "a container that never ran logs nothing"

    orders = stopped(local, "orders")
    assert orders["stopCode"] == "TaskFailedToStart"
    assert orders["stoppedReason"].endswith("ResourceNotFoundException: The specified log group does not exist.")
    assert "The specified log group does not exist" in diagnose(local, "orders")
    assert not service_is_steady(ecs, "orders") and not log_stream_has_lines(local, "orders")

    logs.create_log_group(logGroupName="/ecs/orders")
    ecs.update_service(cluster="dojo", service="orders", forceNewDeployment=True)
    assert steady_and_stable(local, "orders", within=40, hold_s=1)
    assert local.wait_for(lambda: log_stream_has_lines(local, "orders"), timeout=10, describe="lines in /ecs/orders")


def test_is_a_crash_loop_not_steady_and_stable(local):
    hand_out(local, "crashy", "crash")
    stopped(local, "crashy")
    assert not steady_and_stable(local, "crashy", within=4, hold_s=1)


@pytest.mark.docker
def test_is_a_container_below_its_memory_needs_killed_at_start(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", load_balancers=False) as running:
        if not running.runtime.enforces_memory_limits:
            pytest.skip("this engine does not enforce memory limits (rootless on cgroup v1)")
        hand_out(running, "payments", "oom")
        task = stopped(running, "payments")
        container = task["containers"][0]
        assert (task["stopCode"], container["exitCode"], container["reason"]) == (
            "EssentialContainerExited", 137, "OutOfMemoryError: Container killed due to memory usage")


def test_are_a_wrong_port_and_a_wrong_health_path_fixed_the_way_they_are_on_aws():
    """Both fail ELB health checks; a new revision fixes the port, ModifyTargetGroup fixes the path."""
    with LocalECS(speed=20, runtime="process") as running:
        ecs, elbv2 = running.client("ecs"), running.client("elbv2")
        hand_out(running, "search", "port")
        hand_out(running, "profile", "health-path")
        for service in ("search", "profile"):
            assert stopped(running, service)["stoppedReason"] == f"Task failed ELB health checks in (elb {service}-lb)"
        assert not steady_and_stable(running, "profile", within=3, hold_s=1, healthy=True)

        container = dict(ecs.describe_task_definition(taskDefinition="search")["taskDefinition"][
            "containerDefinitions"][0])
        container.pop("environment")
        fixed = ecs.register_task_definition(family="search", containerDefinitions=[container])["taskDefinition"]
        ecs.update_service(cluster="dojo", service="search", taskDefinition=fixed["taskDefinitionArn"])
        group = elbv2.describe_target_groups(Names=["profile-lb-tg"])["TargetGroups"][0]
        elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckPath="/health")

        for service in ("search", "profile"):
            assert steady_and_stable(running, service, within=40, hold_s=1, healthy=True), service
