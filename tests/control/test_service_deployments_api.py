"""ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment (moto has none of them) through boto3
and the AWS CLI, on LocalECS with the fake runtime (no Docker needed)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
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

    ecs.delete_service(cluster="c", service="s", force=True)      # deleting a service deletes its deployments
    assert ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"] == []
    gone = ecs.describe_service_deployments(serviceDeploymentArns=[first["serviceDeploymentArn"]])
    assert gone["failures"] == [{"arn": first["serviceDeploymentArn"], "reason": "MISSING"}]


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


# ---- BLUE_GREEN on the process runtime: a deployment alarm rolls back; strategy settings are validated ----------

@pytest.fixture
def processes():
    # autoscaling off: its alarm evaluator would re-evaluate the alarm this test sets by hand (no metric data)
    with LocalECS(speed=20, runtime="process", autoscaling=False) as running:
        yield running


def test_a_deployment_alarm_in_alarm_rolls_a_blue_green_deployment_back(processes, tmp_path):
    local = processes
    ecs, elbv2, cloudwatch = local.client("ecs"), local.client("elbv2"), local.client("cloudwatch")
    ecs.create_cluster(clusterName="c")
    for version in ("v1", "v2"):
        ecs.register_task_definition(family="t", containerDefinitions=[{
            **container(), "environment": [{"name": "APP_VERSION", "value": version}]}])
    blue = local.create_load_balancer("lb", port=8080, interval_s=5, healthy_threshold=2)
    vpc = local.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    green = elbv2.create_target_group(Name="green-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
                                      HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    balancer = elbv2.describe_load_balancers(Names=["lb"])["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"][0]["ListenerArn"]
    cloudwatch.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
                                Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    advanced = {"alternateTargetGroupArn": green, "productionListenerRule": listener,
                "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructure"}
    balancers = [{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080,
                  "advancedConfiguration": advanced}]

    with pytest.raises(ClientError) as caught:           # a traffic-shifting strategy needs advancedConfiguration
        ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=1,
                           loadBalancers=[{k: v for k, v in balancers[0].items() if k != "advancedConfiguration"}],
                           deploymentConfiguration={"strategy": "BLUE_GREEN"})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "advancedConfiguration.alternateTargetGroupArn" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=1,
                           loadBalancers=balancers, deploymentConfiguration={
                               "strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0}})
    assert "linearConfiguration.stepPercent" in caught.value.response["Error"]["Message"]

    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=2, launchType="EC2",
                       loadBalancers=balancers, deploymentConfiguration={
                           "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10,          # 30 s at speed 20
                           "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}})
    local.wait_for_service("c", "s", timeout=60)
    configuration = ecs.describe_services(cluster="c", services=["s"])["services"][0]["deploymentConfiguration"]
    assert configuration["strategy"] == "BLUE_GREEN" and configuration["bakeTimeInMinutes"] == 10
    assert configuration["alarms"] == {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}
    ecs.update_service(cluster="c", service="s", taskDefinition="t:2")
    arn = ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"][0]["serviceDeploymentArn"]

    def described():
        return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    wait_for(lambda: described().get("lifecycleStage") == "BAKE_TIME", timeout=60, message="the bake time")
    assert described()["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    forward = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]
    assert {g["TargetGroupArn"]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]} == {blue: 0, green: 100}
    assert described()["alarms"]["status"] == "MONITORING"
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="test: 5xx from green")
    wait_for(lambda: described()["status"] == "ROLLBACK_SUCCESSFUL", timeout=60, message="the alarm's rollback")
    body = described()
    assert body["alarms"] == {"status": "TRIGGERED", "alarmNames": ["web-5xx"], "triggeredAlarmNames": ["web-5xx"]}
    assert body["deploymentCircuitBreaker"]["status"] == "DISABLED"
    forward = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]
    assert {g["TargetGroupArn"]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]} == {blue: 100, green: 0}
    with urllib.request.urlopen(local.url("lb") + "/version", timeout=5) as response:
        assert json.loads(response.read())["version"] == "v1"


def test_a_green_that_fails_its_target_groups_health_checks_is_rolled_back_to_blue(processes):
    """green-tg checks a path the app does not serve: green never turns healthy, production traffic never moves,
    the load balancer's failures trip the circuit breaker, and blue serves throughout."""
    local = processes
    ecs, elbv2 = local.client("ecs"), local.client("elbv2")
    ecs.create_cluster(clusterName="c")
    for version in ("v1", "v2"):
        ecs.register_task_definition(family="t", containerDefinitions=[{
            **container(), "environment": [{"name": "APP_VERSION", "value": version}]}])
    blue = local.create_load_balancer("lb", port=8080, interval_s=5, healthy_threshold=2)
    vpc = local.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    green = elbv2.create_target_group(Name="green-tg", Protocol="HTTP", Port=8080, VpcId=vpc, HealthCheckPath="/nope",
                                      UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    balancer = elbv2.describe_load_balancers(Names=["lb"])["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"][0]["ListenerArn"]
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=2, launchType="EC2",
                       loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080,
                                       "advancedConfiguration": {"alternateTargetGroupArn": green,
                                                                 "productionListenerRule": listener}}],
                       deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
                                                "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    local.wait_for_service("c", "s", timeout=60)
    local.wait_for_healthy_targets(2, load_balancer="lb", timeout=60)     # RUNNING is not yet listening
    ecs.update_service(cluster="c", service="s", taskDefinition="t:2")
    arn = ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"][0]["serviceDeploymentArn"]

    def described():
        return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    versions = set()

    def rolled_back():
        try:
            with urllib.request.urlopen(local.url("lb") + "/version", timeout=5) as response:
                versions.add(json.loads(response.read())["version"])
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{error.code} {error.read()!r} stage={described().get('lifecycleStage')} "
                                 f"status={described()['status']} targets={local.target_states('lb')}") from error
        return described()["status"] == "ROLLBACK_SUCCESSFUL"

    wait_for(rolled_back, timeout=120, message="the unhealthy green's rollback")
    body = described()
    assert versions == {"v1"}, "production traffic never reached the unhealthy green"
    assert body["lifecycleStage"] == "SCALE_UP" and body["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert body["deploymentCircuitBreaker"]["failureCount"] >= 3, body["deploymentCircuitBreaker"]
    events = [e["message"] for e in ecs.describe_services(cluster="c", services=["s"])["services"][0]["events"]]
    assert any("failed ELB health checks" in message for message in events), events[:5]
