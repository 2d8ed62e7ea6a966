"""Blue/green and canary deployments on real containers behind the local load balancer (issue 16, item 5):
`/version` never fails under a bounded load while traffic shifts, the listener rule's weights change as
configured, a failing green is rolled back, and the service-deployments API shows each stage. The blue/green
update is started with the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from ecsdojo.control.local import LocalECS
from ecsdojo.load import LoadGenerator
from tests.conftest import wait_for

pytestmark = pytest.mark.docker

APP = "ecsdojo/app:latest"
ORDER = ["PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
         "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]


def container(version, **extra):
    body = {"name": "web", "image": APP, "memory": 128, "portMappings": [{"containerPort": 8080, "hostPort": 0}],
            "environment": [{"name": "APP_VERSION", "value": version}]}
    body.update(extra)
    return body


@pytest.fixture
def local(docker_client, app_image):
    # speed 20: bake times of 1 minute last 3 s; health checks every 1 s (the floor)
    with LocalECS(speed=20, runtime="docker") as running:
        yield running


def shifting_service(local, strategy, **configuration):
    """Service `s` (2 tasks of v1) behind `lb`, its listener's rule forwarding to blue-tg, with green-tg as the
    alternate target group. Returns (ecs, elbv2, rule ARN, target groups)."""
    ecs, elbv2 = local.client("ecs"), local.client("elbv2")
    ecs.create_cluster(clusterName="c")
    for version in ("v1", "v2"):
        ecs.register_task_definition(family="t", containerDefinitions=[container(version)])
    blue = local.create_load_balancer("lb", port=8080, interval_s=5, healthy_threshold=2)
    vpc = local.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    green = elbv2.create_target_group(Name="green-tg", Protocol="HTTP", Port=8080, VpcId=vpc, HealthCheckPath="/health",
                                      HealthCheckIntervalSeconds=5, HealthyThresholdCount=2)["TargetGroups"][0]
    green = green["TargetGroupArn"]
    balancer = elbv2.describe_load_balancers(Names=["lb"])["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"][0]["ListenerArn"]
    rule = elbv2.create_rule(ListenerArn=listener, Priority=1,
                             Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                             Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                                 {"TargetGroupArn": blue, "Weight": 100},
                                 {"TargetGroupArn": green, "Weight": 0}]}}])["Rules"][0]["RuleArn"]
    ecs.create_service(
        cluster="c", serviceName="s", taskDefinition="t:1", desiredCount=2, launchType="EC2",
        loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080,
                        "advancedConfiguration": {"alternateTargetGroupArn": green, "productionListenerRule": rule,
                                                  "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructure"}}],
        deploymentConfiguration={"strategy": strategy, "bakeTimeInMinutes": 1,
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}, **configuration})
    local.wait_for_service("c", "s", timeout=90)
    local.wait_for_healthy_targets(2, load_balancer="lb", timeout=60)
    return ecs, elbv2, rule, (blue, green)


class Watch:
    """Samples, every 0.1 s until stopped: /version through the load balancer, the rule's weights, and the newest
    service deployment's status and lifecycle stage."""

    def __init__(self, local, ecs, elbv2, rule, groups):
        self.url = local.url("lb") + "/version"
        self.ecs, self.elbv2, self.rule, self.groups = ecs, elbv2, rule, groups
        self.versions: list[str] = []
        self.weights: list[tuple[int, ...]] = []
        self.stages: list[str] = []
        self.statuses: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    @staticmethod
    def _append_new(values, value):
        if not values or values[-1] != value:
            values.append(value)

    def _run(self):
        while not self._stop.is_set():
            with urllib.request.urlopen(self.url, timeout=5) as response:
                self._append_new(self.versions, json.loads(response.read())["version"])
            rules = self.elbv2.describe_rules(RuleArns=[self.rule])["Rules"][0]
            groups = rules["Actions"][0]["ForwardConfig"]["TargetGroups"]
            weight = {g["TargetGroupArn"]: g["Weight"] for g in groups}
            self._append_new(self.weights, tuple(weight.get(arn, 0) for arn in self.groups))   # (blue-tg, green-tg)
            newest = self.ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"][0]
            described = self.ecs.describe_service_deployments(
                serviceDeploymentArns=[newest["serviceDeploymentArn"]])["serviceDeployments"][0]
            self._append_new(self.statuses, described["status"])
            if described.get("lifecycleStage"):
                self._append_new(self.stages, described["lifecycleStage"])
            time.sleep(0.1)


def aws(local, tmp_path: Path, *args: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(local.cli_environment())
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds")})
    result = subprocess.run([str(Path(sys.executable).with_name("aws")), *args, "--output", "json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def newest_status(ecs):
    return ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"][0]["status"]


def in_order(stages):
    return [ORDER.index(stage) for stage in stages] == sorted(ORDER.index(stage) for stage in stages)


def test_blue_green_switches_version_without_a_failed_request_and_rolls_back_a_crashing_green(local, tmp_path):
    ecs, elbv2, rule, (blue, green) = shifting_service(local, "BLUE_GREEN")
    ecs.register_task_definition(family="t", containerDefinitions=[container(
        "v3", command=["python3", "-c", "import sys; sys.exit(3)"])])
    load = LoadGenerator(local.url("lb"), rate=20, concurrency=4, duration_s=240, path="/version",
                         progress=False).start()
    try:
        with Watch(local, ecs, elbv2, rule, (blue, green)) as watch:
            aws(local, tmp_path, "ecs", "update-service", "--cluster", "c", "--service", "s",
                "--task-definition", "t:2")
            wait_for(lambda: newest_status(ecs) == "SUCCESSFUL", timeout=120, message="blue/green to v2")
            wait_for(lambda: watch.versions[-1:] == ["v2"], timeout=10, message="/version to answer v2")
        assert watch.versions == ["v1", "v2"], "one switch, never back"
        assert watch.weights[0] == (100, 0) and (0, 100) in watch.weights
        assert "SCALE_UP" in watch.stages and "BAKE_TIME" in watch.stages and in_order(watch.stages)
        tasks = ecs.describe_tasks(cluster="c", tasks=ecs.list_tasks(cluster="c")["taskArns"])["tasks"]
        assert sorted(t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks) == ["t:2", "t:2"]

        # a green that crashes: the circuit breaker rolls back; production traffic never leaves v2
        with Watch(local, ecs, elbv2, rule, (blue, green)) as watch:
            ecs.update_service(cluster="c", service="s", taskDefinition="t:3")
            wait_for(lambda: newest_status(ecs) == "ROLLBACK_SUCCESSFUL", timeout=150, message="the rollback")
        assert watch.versions == ["v2"]
        assert set(watch.weights) == {(0, 100)}, watch.weights       # v2 stays in green-tg, at 100
        newest = ecs.list_service_deployments(cluster="c", service="s")["serviceDeployments"][0]
        described = ecs.describe_service_deployments(
            serviceDeploymentArns=[newest["serviceDeploymentArn"]])["serviceDeployments"][0]
        assert described["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
        assert described["rollback"]["serviceRevisionArn"] == described["sourceServiceRevisions"][0]["arn"]
        assert ecs.describe_services(cluster="c", services=["s"])["services"][0]["taskDefinition"].endswith("t:2")
    finally:
        report = load.stop()
    assert report.requests > 100 and report.error_count == 0, report.summary()


def test_canary_sends_its_share_to_green_then_everything(local):
    ecs, elbv2, rule, groups = shifting_service(local, "CANARY", canaryConfiguration={
        "canaryPercent": 20.0, "canaryBakeTimeInMinutes": 2})          # 2 minutes = 6 s at speed 20
    load = LoadGenerator(local.url("lb"), rate=20, concurrency=4, duration_s=180, path="/version",
                         progress=False).start()
    try:
        with Watch(local, ecs, elbv2, rule, groups) as watch:
            ecs.update_service(cluster="c", service="s", taskDefinition="t:2")
            wait_for(lambda: (80, 20) in watch.weights, timeout=90, message="the canary weights")
            answers = []
            for _ in range(40):
                with urllib.request.urlopen(local.url("lb") + "/version", timeout=5) as response:
                    answers.append(json.loads(response.read())["version"])
            if (0, 100) not in watch.weights:      # still in the canary phase: both versions answer
                assert 1 <= answers.count("v2") <= 20 and "v1" in answers, answers
            wait_for(lambda: newest_status(ecs) == "SUCCESSFUL", timeout=120, message="the canary to finish")
        assert watch.weights[:3] == [(100, 0), (80, 20), (0, 100)], watch.weights
        assert "PRODUCTION_TRAFFIC_SHIFT" in watch.stages and in_order(watch.stages)
        assert watch.versions[0] == "v1" and watch.versions[-1] == "v2"
    finally:
        report = load.stop()
    assert report.requests > 50 and report.error_count == 0, report.summary()
