"""LocalECS refuses what ECS refuses (issue 14, items 5 and 7): each bad request gets the AWS error code, HTTP 400,
no retry, and leaves nothing behind. Fake runtime: no Docker needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ecsdojo.control.local import LocalECS
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import wait_for

APP = "ecsdojo/app:latest"


def container(**extra):
    body = {"name": "web", "image": APP, "memory": 128, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    body.update(extra)
    return body


@pytest.fixture
def fake():
    return FakeRuntime()


@pytest.fixture
def local(fake):
    with LocalECS(speed=100, runtime=fake, load_balancers=False) as running:
        yield running


@pytest.fixture
def ecs(local):
    client = local.client("ecs")
    client.create_cluster(clusterName="c")
    client.register_task_definition(family="t", containerDefinitions=[container()])
    return client


def refused(call, code: str, *words: str) -> dict:
    """The call fails with `code`, HTTP 400, on the first attempt (a 4xx is not retried), naming `words`."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["Error"]["Code"] == code, response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"].get("RetryAttempts", 0) == 0
    for word in words:
        assert word in response["Error"]["Message"], response["Error"]["Message"]
    return response


# ---- item 5: a missing task definition was an HTTP 500 with a KeyError --------------------------------------------

def test_create_service_without_a_task_definition_is_an_invalid_parameter_not_a_500(ecs):
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", desiredCount=1),
            "InvalidParameterException", "TaskDefinition can not be blank")
    assert ecs.list_services(cluster="c")["serviceArns"] == []


def test_the_aws_cli_gets_the_error_at_once_without_retrying(local, ecs, tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(local.cli_environment())
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"),
                "AWS_MAX_ATTEMPTS": "5", "AWS_RETRY_MODE": "standard"})
    aws = Path(sys.executable).with_name("aws")
    result = subprocess.run([str(aws), "ecs", "create-service", "--cluster", "c", "--service-name", "s",
                             "--desired-count", "1", "--debug"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "(InvalidParameterException)" in result.stderr and "TaskDefinition can not be blank" in result.stderr
    assert "Traceback" not in result.stderr.split("An error occurred")[-1]
    assert "Retry needed" not in result.stderr and "retry needed" not in result.stderr


# ---- item 7: requests ECS refuses --------------------------------------------------------------------------------

def test_delete_cluster_with_an_active_service_is_refused_and_nothing_stops(ecs, fake):
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1)
    wait_for(lambda: len(fake.running()) == 1, message="the service's container")
    refused(lambda: ecs.delete_cluster(cluster="c"), "ClusterContainsServicesException",
            "cannot be deleted while Services are active")
    assert ecs.describe_clusters(clusters=["c"])["clusters"][0]["status"] == "ACTIVE"
    assert len(fake.running()) == 1


def test_delete_cluster_with_a_running_task_is_refused_and_allowed_once_it_stopped(ecs, fake):
    arn = ecs.run_task(cluster="c", taskDefinition="t")["tasks"][0]["taskArn"]
    wait_for(lambda: fake.running(), message="the task's container")
    refused(lambda: ecs.delete_cluster(cluster="c"), "ClusterContainsTasksException")
    ecs.stop_task(cluster="c", task=arn)
    wait_for(lambda: ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED",
             message="the task to stop")
    assert ecs.delete_cluster(cluster="c")["cluster"]["status"] == "INACTIVE"


def test_update_service_on_a_deleted_service_is_service_not_active(ecs):
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0)
    ecs.delete_service(cluster="c", service="s")
    refused(lambda: ecs.update_service(cluster="c", service="s", desiredCount=2), "ServiceNotActiveException")
    # a deleted service's name may be used again (moto keeps it INACTIVE, as ECS does for a while)
    assert ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0)["service"][
        "status"] == "ACTIVE"


@pytest.mark.parametrize("desired", [-1, -100])
def test_a_negative_desired_count_is_refused_on_create_and_update(ecs, desired):
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=desired),
            "InvalidParameterException", "desiredCount")
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0)
    refused(lambda: ecs.update_service(cluster="c", service="s", desiredCount=desired),
            "InvalidParameterException", "desiredCount")
    assert ecs.describe_services(cluster="c", services=["s"])["services"][0]["desiredCount"] == 0


def test_a_duplicate_service_name_is_refused_and_the_first_service_is_untouched(ecs):
    ecs.register_task_definition(family="other", containerDefinitions=[container()])
    first = ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1)["service"]
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", taskDefinition="other", desiredCount=3),
            "InvalidParameterException", "not idempotent")
    body = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    assert (body["taskDefinition"], body["desiredCount"]) == (first["taskDefinition"], 1)


@pytest.mark.parametrize("count", [0, 11])
def test_run_task_count_outside_1_to_10_is_refused_and_starts_nothing(ecs, fake, count):
    refused(lambda: ecs.run_task(cluster="c", taskDefinition="t", count=count), "InvalidParameterException",
            "count")
    assert ecs.list_tasks(cluster="c")["taskArns"] == [] and fake.running() == []


def test_run_task_count_10_is_accepted(ecs):
    response = ecs.run_task(cluster="c", taskDefinition="t", count=10)
    assert len(response["tasks"]) + len(response["failures"]) == 10


def test_describe_services_with_11_names_is_refused(ecs):
    refused(lambda: ecs.describe_services(cluster="c", services=[f"s{i}" for i in range(11)]),
            "InvalidParameterException", "at most 10")
    assert len(ecs.describe_services(cluster="c", services=[f"s{i}" for i in range(10)])["failures"]) == 10


@pytest.mark.parametrize("change, words", [
    ({"memory": -5}, ("'memory'", "-5")),
    ({"stopTimeout": 500}, ("stopTimeout", "500")),
    ({"environment": [{"name": "BIG", "value": "x" * 70_000}]}, ("64 KiB",)),
    ({"image": "UPPER/Case:tag!@#$"}, ("Container.image",)),
])
def test_task_definitions_ecs_refuses_are_client_exceptions_and_not_registered(ecs, change, words):
    refused(lambda: ecs.register_task_definition(family="bad", containerDefinitions=[container(**change)]),
            "ClientException", *words)
    assert ecs.list_task_definitions(familyPrefix="bad")["taskDefinitionArns"] == []


def test_an_inactive_revision_cannot_run_or_back_a_service(ecs):
    ecs.register_task_definition(family="t", containerDefinitions=[container()])          # t:2
    ecs.deregister_task_definition(taskDefinition="t:1")
    refused(lambda: ecs.run_task(cluster="c", taskDefinition="t:1"), "InvalidParameterException", "inactive")
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=1),
            "ClientException", "inactive")
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:2", desiredCount=0)
    refused(lambda: ecs.update_service(cluster="c", service="s", taskDefinition="t:1"), "ClientException",
            "inactive")
    assert ecs.list_tasks(cluster="c")["taskArns"] == []


def test_a_family_alone_names_its_latest_active_revision(ecs):
    ecs.register_task_definition(family="t", containerDefinitions=[container()])          # t:2
    ecs.deregister_task_definition(taskDefinition="t:2")
    task = ecs.run_task(cluster="c", taskDefinition="t")["tasks"][0]
    assert task["taskDefinitionArn"].endswith("task-definition/t:1")
    service = ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0)["service"]
    assert service["taskDefinition"].endswith("task-definition/t:1")


@pytest.mark.parametrize("call", [
    lambda ecs, tags: ecs.register_task_definition(family="tagged", containerDefinitions=[container()], tags=tags),
    lambda ecs, tags: ecs.create_service(cluster="c", serviceName="tagged", taskDefinition="t", desiredCount=0,
                                         tags=tags),
    lambda ecs, tags: ecs.run_task(cluster="c", taskDefinition="t", tags=tags),
], ids=["register_task_definition", "create_service", "run_task"])
def test_more_than_50_tags_are_refused(ecs, call):
    refused(lambda: call(ecs, [{"key": f"k{i}", "value": "v"} for i in range(60)]), "InvalidParameterException",
            "50")
    call(ecs, [{"key": f"k{i}", "value": "v"} for i in range(50)])


def test_minimum_healthy_percent_above_maximum_percent_is_refused(ecs):
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1,
                                       deploymentConfiguration={"minimumHealthyPercent": 150, "maximumPercent": 100}),
            "InvalidParameterException", "minimumHealthyPercent")
    refused(lambda: ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1,
                                       deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 50}),
            "InvalidParameterException", "maximumPercent")
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1,
                       deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 100})
    refused(lambda: ecs.update_service(cluster="c", service="s",
                                       deploymentConfiguration={"maximumPercent": 40}),
            "InvalidParameterException", "maximumPercent")
    body = ecs.describe_services(cluster="c", services=["s"])["services"][0]["deploymentConfiguration"]
    assert (body["minimumHealthyPercent"], body["maximumPercent"]) == (50, 100)


def test_list_tasks_with_an_unknown_desired_status_is_refused(ecs):
    refused(lambda: ecs.list_tasks(cluster="c", desiredStatus="FOO"), "InvalidParameterException", "FOO")
    assert ecs.list_tasks(cluster="c", desiredStatus="PENDING")["taskArns"] == []


def test_an_empty_network_configuration_on_a_bridge_service_is_not_a_500(ecs):
    """Found by tests/control/test_api_fuzz.py: moto indexed awsvpcConfiguration and answered HTTP 500."""
    service = ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0,
                                 networkConfiguration={})["service"]
    assert service["status"] == "ACTIVE"


@pytest.mark.parametrize("name", ["i1/", "my service", "a" * 256, "web.1"])
def test_a_service_name_ecs_refuses_is_an_invalid_parameter(ecs, name):
    """Found by the fuzz test: "i1/" was created, and then no call could reach it by name."""
    refused(lambda: ecs.create_service(cluster="c", serviceName=name, taskDefinition="t", desiredCount=0),
            "InvalidParameterException", "Service name")
    assert ecs.list_services(cluster="c")["serviceArns"] == []
