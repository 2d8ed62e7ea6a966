"""ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment (moto has none of them) through boto3
and the AWS CLI, on LocalECS with the fake runtime (no Docker needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ecsdojo.control.local import LocalECS
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import wait_for


def container(image="ecsdojo/app:latest"):
    return {"name": "web", "image": image, "memory": 128, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}


@pytest.fixture
def local():
    # speed 3: a new revision's rollout needs 30/3 = 10 s of stable tasks, time for the CLI calls while it is ongoing
    with LocalECS(speed=3, runtime=FakeRuntime(), load_balancers=False) as running:
        yield running


@pytest.fixture
def ecs(local):
    client = local.client("ecs")
    client.create_cluster(clusterName="c")
    client.register_task_definition(family="t", containerDefinitions=[container()])
    client.register_task_definition(family="t", containerDefinitions=[container("ecsdojo/app:v2")])
    return client


def statuses(ecs, service="s"):
    return [d["status"] for d in ecs.list_service_deployments(cluster="c", service=service)["serviceDeployments"]]


def aws(local, tmp_path: Path, *args: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(local.cli_environment())
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds")})
    result = subprocess.run([str(Path(sys.executable).with_name("aws")), *args, "--output", "json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_a_rolling_update_is_listed_described_and_rolled_back_by_stop_service_deployment(local, ecs, tmp_path):
    service_arn = ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=2,
                                     launchType="EC2")["service"]["serviceArn"]
    wait_for(lambda: statuses(ecs) == ["SUCCESSFUL"], timeout=30, message="the first deployment to succeed")
    ecs.update_service(cluster="c", service="s", taskDefinition="t:2")
    listed = ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"]
    assert [d["status"] for d in listed] == ["IN_PROGRESS", "SUCCESSFUL"]
    newest, first = listed
    assert newest["serviceArn"] == service_arn and newest["clusterArn"].endswith(":cluster/c")
    assert newest["serviceDeploymentArn"].startswith(service_arn.replace(":service/", ":service-deployment/"))
    assert newest["targetServiceRevisionArn"] != first["targetServiceRevisionArn"]

    # the AWS CLI sees the same API (moto has no such command: the control plane answers it)
    cli = aws(local, tmp_path, "ecs", "describe-service-deployments", "--service-deployment-arns",
              newest["serviceDeploymentArn"], first["serviceDeploymentArn"], "arn:aws:ecs:nowhere")
    described = {d["serviceDeploymentArn"]: d for d in cli["serviceDeployments"]}
    assert cli["failures"] == [{"arn": "arn:aws:ecs:nowhere", "reason": "MISSING"}]
    update = described[newest["serviceDeploymentArn"]]
    assert [s["arn"] for s in update["sourceServiceRevisions"]] == [first["targetServiceRevisionArn"]]
    assert update["targetServiceRevision"]["arn"] == newest["targetServiceRevisionArn"]
    assert update["deploymentConfiguration"]["strategy"] == "ROLLING"

    stopped = aws(local, tmp_path, "ecs", "stop-service-deployment", "--service-deployment-arn",
                  newest["serviceDeploymentArn"], "--stop-type", "ROLLBACK")
    assert stopped == {"serviceDeploymentArn": newest["serviceDeploymentArn"]}
    assert statuses(ecs)[0] == "ROLLBACK_IN_PROGRESS"
    wait_for(lambda: statuses(ecs) == ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"], timeout=30,
             message="the rollback to finish")
    body = ecs.describe_service_deployments(serviceDeploymentArns=[newest["serviceDeploymentArn"]])
    rollback = body["serviceDeployments"][0]["rollback"]
    assert rollback["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    service = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    assert service["taskDefinition"].endswith("task-definition/t:1")
    assert {d["taskDefinition"].rsplit("/", 1)[-1] for d in service["deployments"]} == {"t:1"}

    # a finished service deployment cannot be stopped; filters and paging work
    with pytest.raises(ClientError) as caught:
        ecs.stop_service_deployment(serviceDeploymentArn=first["serviceDeploymentArn"], stopType="ROLLBACK")
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    assert [d["status"] for d in ecs.list_service_deployments(
        cluster="c", service="s", status=["SUCCESSFUL"])["serviceDeployments"]] == ["SUCCESSFUL"]
    page = ecs.list_service_deployments(cluster="c", service="s", maxResults=1)
    assert len(page["serviceDeployments"]) == 1 and page["nextToken"]
    rest = ecs.list_service_deployments(cluster="c", service="s", maxResults=1, nextToken=page["nextToken"])
    assert rest["serviceDeployments"][0]["serviceDeploymentArn"] == first["serviceDeploymentArn"]


def test_unknown_services_and_deployments_get_the_aws_errors(ecs):
    with pytest.raises(ClientError) as caught:
        ecs.list_service_deployments(cluster="c", service="nope")
    assert caught.value.response["Error"]["Code"] == "ServiceNotFoundException"
    with pytest.raises(ClientError) as caught:
        ecs.stop_service_deployment(serviceDeploymentArn="arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/x")
    assert caught.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    with pytest.raises(ClientError) as caught:
        ecs.describe_service_deployments(serviceDeploymentArns=[f"arn:{i}" for i in range(21)])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
