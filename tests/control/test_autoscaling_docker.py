"""Auto scaling on real containers: CPU load through the load balancer scales a service out and, after the
load, back in; a step policy moves by its steps; a scheduled action fires; activities read through boto3
and the AWS CLI. Speed 60: one ECS minute is one wall second.

Time-dependent checks compare ECS times recorded on the timeline, as lower bounds or counts of evaluated
minutes -- never wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from ecsdojo.bench.scale import CLUSTER, DIMENSION, RESOURCE_ID, SERVICE, service_behind_load_balancer
from ecsdojo.control.local import LocalECS
from ecsdojo.load import LoadGenerator
from tests.conftest import wait_for

pytestmark = pytest.mark.docker

SPEED = 60
MIN, MAX, TARGET = 1, 3, 50.0
APP = "ecsdojo/app:latest"


def service_body(ecs):
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def session_containers(docker_client, session, *, running_only=False):
    filters = {"label": f"ecsdojo.session={session}", **({"status": "running"} if running_only else {})}
    return docker_client.containers.list(all=True, sparse=True, filters=filters)   # sparse: no inspect race


@pytest.fixture
def local(docker_client, app_image):
    with LocalECS(speed=SPEED, runtime="docker") as running:
        yield running
        session = running.session
    assert session_containers(docker_client, session) == [], "every container of the session must be removed"


def aws_cli(local, *words):
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    env.update(local.cli_environment())
    result = subprocess.run([sys.executable, "-m", "awscli", *words, "--output", "json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cycle(docker_client, app_image):
    """One load cycle on a CPU target-tracking policy (target 50 %, 1..3 tasks), recorded for the tests below."""
    with LocalECS(speed=SPEED, runtime="docker") as local:
        ecs, aas = local.client("ecs"), local.client("application-autoscaling")
        url = service_behind_load_balancer(local, min_capacity=MIN, cpu_units=128)
        balancer = next(iter(local.balancers.balancers.values()))
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
                                     MinCapacity=MIN, MaxCapacity=MAX)
        aas.put_scaling_policy(PolicyName="cpu-target", ServiceNamespace="ecs", ResourceId=RESOURCE_ID,
                               ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={
                                   "TargetValue": TARGET, "PredefinedMetricSpecification": {
                                       "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        initial = {task.id for task in local.tasks(CLUSTER, service=SERVICE)}
        load_start = local.timeline.now()
        # 8 requests/s burning 50 ms each: ~0.4 CPU, ~320 % of one task's 128 units on an idle machine (the
        # app spins on wall time, so a busy machine shows less: headroom above the 50 % target)
        load = LoadGenerator(url, rate=8, duration_s=60, max_requests=500, path="/cpu?ms=50", progress=False).start()
        try:
            wait_for(lambda: service_body(ecs)["desiredCount"] > MIN, timeout=40, interval=0.1,
                     message="a scale-out")
            wait_for(lambda: any(n > 0 for tid, n in balancer.request_counts().items() if tid not in initial),
                     timeout=30, interval=0.1, message="a new task to answer through the load balancer")
        finally:
            report = load.stop()
        load_stop = local.timeline.now()
        wait_for(lambda: (lambda b: b["desiredCount"] == MIN and b["runningCount"] == MIN)(service_body(ecs)),
                 timeout=60, interval=0.2, message="the service back at its minimum")
        recorded = {
            "load_start": load_start, "load_stop": load_stop, "report": report,
            "rows": local.timeline.to_rows(),
            "boto3": aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=RESOURCE_ID)[
                "ScalingActivities"],
            "cli": aws_cli(local, "application-autoscaling", "describe-scaling-activities", "--service-namespace",
                           "ecs", "--resource-id", RESOURCE_ID),
            "alarms": local.client("cloudwatch").describe_alarms()["MetricAlarms"],
            "served_by_new": sum(n for tid, n in balancer.request_counts().items() if tid not in initial),
        }
        session = local.session
    assert session_containers(docker_client, session) == []
    return recorded


def rows(cycle, kind, name=None):
    return [row for row in cycle["rows"] if row.kind == kind and (name is None or row.name == name)]


def scaling_rows(cycle):
    return [row for row in rows(cycle, "activity") if not row.value.startswith("not scaled")]


def test_does_cpu_load_scale_out_within_the_high_alarms_evaluation_periods(cycle):
    first = scaling_rows(cycle)[0]
    fired = next(row.t for row in rows(cycle, "alarm", "cpu-target AlarmHigh")
                 if row.value == "ALARM" and row.t >= cycle["load_start"])
    assert first.t == fired                                     # the minute AlarmHigh fired, the policy ran
    assert first.value.startswith("Setting desired count to ") and int(first.value.split()[-1][:-1]) > MIN
    # AlarmHigh is 3 datapoints of 60 s above the target: the first evaluation after the first such run of
    # three minutes (one datapoint per minute: the timeline records what was published) scales out
    cpu = [row for row in rows(cycle, "metric", "web CPUUtilization") if row.t >= cycle["load_start"] - 60]
    third = next(cpu[i] for i in range(2, len(cpu)) if all(row.value > TARGET for row in cpu[i - 2:i + 1]))
    evaluations = sorted({row.t for row in rows(cycle, "alarm", "cpu-target AlarmHigh")})
    assert first.t == min(t for t in evaluations if t >= third.t + 60)
    assert cycle["served_by_new"] > 0 and cycle["report"].error_count == 0


def test_does_the_service_scale_in_to_its_minimum_after_the_load_stops(cycle):
    last = scaling_rows(cycle)[-1]
    assert last.value == f"Setting desired count to {MIN}."
    before = [row.value for row in rows(cycle, "metric", "web CPUUtilization") if row.t < last.t]
    assert len(before) >= 15 and all(value < 0.9 * TARGET for value in before[-15:])   # AlarmLow: 15 below 45 %
    assert last.t > cycle["load_stop"]
    assert "AlarmLow" in cycle["boto3"][0]["Cause"]
    desired = [row.value["desired"] for row in rows(cycle, "counts", SERVICE)]
    assert MIN <= min(desired) and max(desired) <= MAX          # min and max honoured throughout


def test_are_the_tracking_alarms_at_the_target_value(cycle):
    thresholds = sorted(a["Threshold"] for a in cycle["alarms"] if a["Namespace"] == "AWS/ECS")
    assert thresholds == [TARGET * 0.9, TARGET]


def test_are_scaling_activities_readable_through_boto3(cycle):
    found = cycle["boto3"]
    assert len(found) >= 2 and {a["StatusCode"] for a in found} == {"Successful"}
    assert found[-1]["Description"].startswith("Setting desired count to ")
    assert found[0]["Description"] == f"Setting desired count to {MIN}."
    assert all(isinstance(a["StartTime"], datetime) for a in found)
    assert [a["StartTime"] for a in found] == sorted((a["StartTime"] for a in found), reverse=True)


def test_are_scaling_activities_readable_through_the_aws_cli(cycle):
    listed = cycle["cli"]["ScalingActivities"]
    assert [a["ActivityId"] for a in listed] == [a["ActivityId"] for a in cycle["boto3"]]
    assert listed[0]["Description"] == f"Setting desired count to {MIN}."
    assert listed[0]["ResourceId"] == RESOURCE_ID and listed[0]["ScalableDimension"] == DIMENSION


def make_plain_service(local, *, desired=1):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="plain", containerDefinitions=[{
        "name": "web", "image": APP, "cpu": 128, "memory": 64, "portMappings": [{"containerPort": 8080}]}])
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="plain", desiredCount=desired,
                       launchType="EC2")
    local.wait_for_service(CLUSTER, SERVICE, timeout=60)
    return ecs


def test_does_a_step_policy_move_by_its_steps_and_wait_for_its_cooldown(local, docker_client):
    ecs = make_plain_service(local)
    aas, cloudwatch = local.client("application-autoscaling"), local.client("cloudwatch")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
                                 MinCapacity=1, MaxCapacity=4)
    arn = aas.put_scaling_policy(
        PolicyName="queue-steps", ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
        PolicyType="StepScaling", StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 120, "StepAdjustments": [
                {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}]})["PolicyARN"]
    cloudwatch.put_metric_alarm(AlarmName="queue-deep", Namespace="Dojo", MetricName="QueueDepth",
                                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=10.0,
                                ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    stop = threading.Event()

    def feed():                     # 25 is 15 above the threshold: the +2 step
        for _ in range(600):
            if stop.wait(0.1):
                return
            cloudwatch.put_metric_data(Namespace="Dojo", MetricData=[{"MetricName": "QueueDepth", "Value": 25.0}])

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        wait_for(lambda: service_body(ecs)["desiredCount"] == 4, timeout=40, interval=0.1, message="desired 4")
    finally:
        stop.set()
        feeder.join(timeout=5)
    local.wait_for_service(CLUSTER, SERVICE, running=4, timeout=60)
    assert len(session_containers(docker_client, local.session, running_only=True)) == 4
    found = aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]
    assert [a["Description"] for a in reversed(found)][:2] == ["Setting desired count to 3.",
                                                               "Setting desired count to 4."]   # +2, then max
    moves = [row.t for row in local.timeline.to_rows() if row.kind == "activity"]
    assert moves[1] - moves[0] >= 120                        # the cooldown spaced the two moves


def test_does_a_scheduled_action_fire_on_the_compressed_clock(local, docker_client):
    make_plain_service(local)
    aas = local.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
                                 MinCapacity=1, MaxCapacity=4)
    when = (datetime.now(timezone.utc) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S")
    aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="rush-hour", ResourceId=RESOURCE_ID,
                             ScalableDimension=DIMENSION, Schedule=f"at({when})",
                             ScalableTargetAction={"MinCapacity": 2})
    local.wait_for_service(CLUSTER, SERVICE, running=2, timeout=60)
    assert len(session_containers(docker_client, local.session, running_only=True)) == 2
    found = aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]
    assert found[0]["Description"] == "Setting desired count to 2."
    assert found[1]["Cause"] == "scheduled action name rush-hour was triggered"
