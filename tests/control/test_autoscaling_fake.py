"""Auto scaling on the fake runtime: metrics from container stats, alarms evaluated, policies that change
desiredCount, scheduled actions, and the API moto lacks (describe_scaling_activities, alarm history).

The clock runs at speed 600 (one ECS minute = 0.1 s), so a 15-minute AlarmLow takes 1.5 s of wall time.
Time-dependent checks compare ECS times recorded on the timeline (lower bounds only): never wall time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from ecsdojo.control.local import LocalECS
from ecsdojo.control.metrics import (
    UNRESERVED_CPU_UNITS,
    EcsTime,
    MetricsPublisher,
    load_balancer_dimension,
    service_utilization,
    target_group_dimension,
    task_reservation,
)
from ecsdojo.control.moto.views import ListenerSpec
from ecsdojo.runtime.base import ContainerStats
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import wait_for

APP = "ecsdojo/app:latest"
SPEED = 600
RESOURCE = "service/c1/web"
DIMENSION = "ecs:service:DesiredCount"
MIB = 1024 * 1024


class DemandRuntime(FakeRuntime):
    """Fake containers whose CPU is a total demand (CPU units) shared evenly by the running ones, as load
    behind a load balancer is; memory comes from set_stats when given, else `memory_mib` each."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.cpu_demand_units = 0.0
        self.memory_mib = 16.0

    def stats(self, container_id: str) -> ContainerStats | None:
        base = super().stats(container_id)
        if base is None:
            return None
        share = self.cpu_demand_units / max(len(self.running()), 1)
        return ContainerStats(cpu_percent=share / 1024 * 100,
                              memory_bytes=base.memory_bytes or int(self.memory_mib * MIB))


# --- fixtures and helpers ----------------------------------------------------------------------------------------

@pytest.fixture
def fake():
    return DemandRuntime(images={APP})


@pytest.fixture
def local(fake):
    with LocalECS(speed=SPEED, runtime=fake, load_balancers=False) as running:
        yield running


@pytest.fixture
def clients(local):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="c1")
    return {"ecs": ecs, "aas": local.client("application-autoscaling"), "cw": local.client("cloudwatch")}


def make_service(clients, *, desired=1, cpu=256, memory=128, memory_reservation=None, family="web", image=APP):
    container = {"name": "web", "image": image, "memory": memory, "cpu": cpu,
                 "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    if memory_reservation:
        container["memoryReservation"] = memory_reservation
    clients["ecs"].register_task_definition(family=family, containerDefinitions=[container])
    clients["ecs"].create_service(cluster="c1", serviceName="web", taskDefinition=family, desiredCount=desired,
                                  launchType="EC2")
    wait_running(clients, desired)


def service_body(clients):
    return clients["ecs"].describe_services(cluster="c1", services=["web"])["services"][0]


def desired(clients) -> int:
    return service_body(clients)["desiredCount"]


def wait_running(clients, count, timeout=20):
    def check():
        body = service_body(clients)
        return body["runningCount"] == count and body["pendingCount"] == 0 and body["desiredCount"] == count

    wait_for(check, timeout=timeout, message=f"the service to run {count} tasks")


def wait_desired(clients, count, timeout=20):
    wait_for(lambda: desired(clients) == count, timeout=timeout, message=f"desiredCount {count}")


def register(clients, minimum=1, maximum=4):
    clients["aas"].register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
                                            MinCapacity=minimum, MaxCapacity=maximum)


def tracking_policy(clients, name="cpu50", *, target=50.0, metric="ECSServiceAverageCPUUtilization", label=None,
                    **extra):
    predefined = {"PredefinedMetricType": metric, **({"ResourceLabel": label} if label else {})}
    config = {"TargetValue": target, "PredefinedMetricSpecification": predefined, **extra}
    return clients["aas"].put_scaling_policy(PolicyName=name, ServiceNamespace="ecs", ResourceId=RESOURCE,
                                             ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                                             TargetTrackingScalingPolicyConfiguration=config)


def step_policy(clients, name, *, steps, adjustment="ChangeInCapacity", cooldown=300):
    return clients["aas"].put_scaling_policy(
        PolicyName=name, ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": adjustment, "Cooldown": cooldown,
                                        "StepAdjustments": steps})["PolicyARN"]


def custom_alarm(clients, name, *, threshold, operator="GreaterThanThreshold", actions=(), periods=1,
                 metric="QueueDepth", **extra):
    clients["cw"].put_metric_alarm(AlarmName=name, Namespace="Dojo", MetricName=metric, Statistic="Average",
                                   Period=60, EvaluationPeriods=periods, Threshold=threshold,
                                   ComparisonOperator=operator, AlarmActions=list(actions), **extra)


@contextmanager
def feeding(clients, value: dict, *, limit_s: float = 60.0) -> Iterator[None]:
    """Put Dojo/QueueDepth = value["v"] every 50 ms (a few datapoints per ECS minute), bounded in time."""
    stop = threading.Event()

    def feed():
        for _ in range(int(limit_s / 0.05)):
            if stop.is_set():
                return
            clients["cw"].put_metric_data(Namespace="Dojo", MetricData=[{"MetricName": "QueueDepth",
                                                                         "Value": float(value["v"])}])
            stop.wait(0.05)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def alarm(clients, name_part):
    return next(a for a in clients["cw"].describe_alarms()["MetricAlarms"] if name_part in a["AlarmName"])


def activities(clients, **extra):
    return clients["aas"].describe_scaling_activities(ServiceNamespace="ecs", **extra)["ScalingActivities"]


def timeline_rows(local, kind, name=None):
    return [row for row in local.timeline.to_rows() if row.kind == kind and (name is None or row.name == name)]


def scaling_rows(local):
    """Timeline rows of scaling activities that changed something (not the 'not scaled' ones)."""
    return [row for row in timeline_rows(local, "activity") if not row.value.startswith("not scaled")]


def minutes_later(local, count):
    """Wait until `count` more ECS minutes have been evaluated."""
    start = local.autoscaling.minutes
    wait_for(lambda: local.autoscaling.minutes >= start + count, timeout=30, message=f"{count} ECS minutes")


# --- pure builders -------------------------------------------------------------------------------------------

def test_which_reservation_divides_cpu_and_memory_utilization():
    """Task-level cpu/memory first; else the containers' sum, memoryReservation before memory."""
    assert task_reservation(task_cpu="1 vCPU", task_memory="2 GB", container_definitions=[{"cpu": 128}]) == \
        task_reservation(task_cpu="1024", task_memory="2048", container_definitions=[])
    both = task_reservation(task_cpu=None, task_memory=None, container_definitions=[
        {"cpu": 256, "memory": 512, "memoryReservation": 128}, {"cpu": 256, "memory": 256}])
    assert (both.cpu_units, both.memory_mib, both.cpu_reserved) == (512, 384, True)
    nothing = task_reservation(task_cpu=None, task_memory=None, container_definitions=[{"memory": 64}])
    assert (nothing.cpu_units, nothing.cpu_reserved) == (UNRESERVED_CPU_UNITS, False)


def test_is_service_utilization_used_over_reserved_times_100():
    per_task, overall = service_utilization([(512.0, 256.0), (0.0, 256.0)])
    assert per_task == [200.0, 0.0] and overall == 100.0


def test_are_load_balancer_dimensions_cut_from_the_arns():
    assert load_balancer_dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c49"
                                   ) == "app/web/50dc6c49"
    assert target_group_dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/73e2d6bc"
                                  ) == "targetgroup/web-tg/73e2d6bc"


# --- metrics ---------------------------------------------------------------------------------------------------

def test_are_cpu_and_memory_published_per_service_as_ecs_defines_them(local, clients, fake):
    """2 tasks reserving 512 CPU units and 64 MiB (soft limit) each; together they use 512 units, 48 MiB each."""
    make_service(clients, desired=2, cpu=512, memory=128, memory_reservation=64)
    fake.cpu_demand_units = 512.0
    fake.memory_mib = 48.0
    minutes_later(local, 3)
    published = [m for m in local.autoscaling.publisher.published if m.namespace == "AWS/ECS"]
    cpu = [m for m in published if m.metric_name == "CPUUtilization"][-1]
    memory = [m for m in published if m.metric_name == "MemoryUtilization"][-1]
    assert cpu.dimensions == (("ClusterName", "c1"), ("ServiceName", "web"))
    assert cpu.values == (50.0, 50.0) and cpu.summary == 50.0           # 256 of 512 units per task
    assert memory.values == (75.0, 75.0)                                # 48 of 64 MiB, memoryReservation wins
    stats = clients["cw"].get_metric_statistics(
        Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=[{"Name": "ClusterName", "Value": "c1"},
                                                                      {"Name": "ServiceName", "Value": "web"}],
        StartTime=datetime.now(timezone.utc) - timedelta(hours=1), EndTime=datetime.now(timezone.utc) + timedelta(
            minutes=1), Period=3600, Statistics=["Average", "SampleCount"], Unit="Percent")["Datapoints"]
    assert stats and stats[0]["Unit"] == "Percent"
    # one value per running task per minute (a minute in which the second task was still starting has one)
    cpu_minutes = [m for m in local.autoscaling.publisher.published if m.namespace == "AWS/ECS"
                   and m.metric_name == "CPUUtilization" and m.dimensions == cpu.dimensions]
    assert stats[0]["SampleCount"] == sum(len(m.values) for m in cpu_minutes)


def test_are_load_balancer_request_counts_published_per_target(local, clients):
    """RequestCount (Sum) and RequestCountPerTarget = requests / healthy targets, for minutes with requests."""
    class Balancer:
        total_requests = 0

        def target_health(self):
            return {"t1": "healthy", "t2": "healthy", "t3": "unhealthy"}

    lb_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c49"
    tg_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/73e2d6bc"
    balancer = Balancer()
    balancers = type("Balancers", (), {})()
    balancers.balancers = {"listener": balancer}
    balancers.listener_info = {"listener": ListenerSpec(load_balancer_arn=lb_arn, load_balancer_name="web",
                                                        listener_arn="listener", port=80, protocol="HTTP",
                                                        target_group_arn=tg_arn)}
    publisher = MetricsPublisher(local.plane, clients["cw"], ecs_time=EcsTime(local.clock), balancers=balancers)
    balancer.total_requests = 120
    published = {(m.metric_name, m.dimensions): m.summary for m in publisher.publish(0, 60)}
    assert published[("RequestCount", (("LoadBalancer", "app/web/50dc6c49"),))] == 120
    assert published[("RequestCountPerTarget", (("TargetGroup", "targetgroup/web-tg/73e2d6bc"),))] == 60
    assert not [m for m in publisher.publish(60, 120) if m.namespace == "AWS/ApplicationELB"]   # no requests


# --- alarms --------------------------------------------------------------------------------------------------

def test_does_put_scaling_policy_create_alarms_with_the_target_value_and_right_metric(local, clients):
    make_service(clients)
    register(clients)
    answer = tracking_policy(clients, target=60.0)
    high, low = alarm(clients, "AlarmHigh"), alarm(clients, "AlarmLow")
    assert {a["AlarmName"] for a in answer["Alarms"]} == {high["AlarmName"], low["AlarmName"]}
    assert (high["Threshold"], high["EvaluationPeriods"], high["ComparisonOperator"]) == (60.0, 3,
                                                                                          "GreaterThanThreshold")
    assert (low["Threshold"], low["EvaluationPeriods"], low["ComparisonOperator"]) == (54.0, 15, "LessThanThreshold")
    assert high["AlarmActions"][0].startswith(answer["PolicyARN"])
    tracking_policy(clients, target=70.0)                                  # replacing it keeps two alarms
    alarms = clients["cw"].describe_alarms()["MetricAlarms"]
    assert sorted(a["Threshold"] for a in alarms) == [63.0, 70.0]
    tracking_policy(clients, "mem", metric="ECSServiceAverageMemoryUtilization", DisableScaleIn=True)
    memory = [a for a in clients["cw"].describe_alarms()["MetricAlarms"] if a["MetricName"] == "MemoryUtilization"]
    assert len(memory) == 1 and "-AlarmHigh-" in memory[0]["AlarmName"]      # DisableScaleIn: no AlarmLow
    label = "app/web/50dc6c49/targetgroup/web-tg/73e2d6bc"
    tracking_policy(clients, "req", target=100.0, metric="ALBRequestCountPerTarget", label=label)
    requests = [a for a in clients["cw"].describe_alarms()["MetricAlarms"]
                if a["MetricName"] == "RequestCountPerTarget"]
    assert len(requests) == 2 and {a["Namespace"] for a in requests} == {"AWS/ApplicationELB"}
    assert {a["Statistic"] for a in requests} == {"Sum"}
    assert requests[0]["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/web-tg/73e2d6bc"}]


def test_are_bad_policies_targets_and_schedules_rejected_like_aws(local, clients):
    make_service(clients)
    aas = clients["aas"]
    with pytest.raises(ClientError) as error:
        tracking_policy(clients)
    assert error.value.response["Error"]["Code"] == "ObjectNotFoundException"
    with pytest.raises(ClientError) as error:
        register(clients, minimum=5, maximum=2)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    register(clients)
    with pytest.raises(ClientError) as error:
        tracking_policy(clients, metric="ALBRequestCountPerTarget")
    assert "ResourceLabel" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="bad", ResourceId=RESOURCE,
                                 ScalableDimension=DIMENSION, Schedule="cron(0 22 * * *)",
                                 ScalableTargetAction={"MinCapacity": 2})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "Schedule" in error.value.response["Error"]["Message"]


def test_is_every_alarm_evaluated_with_its_treat_missing_data(local, clients):
    """Alarms that are not about scaling are evaluated too; with no data each TreatMissingData decides."""
    for mode in ("missing", "breaching", "notBreaching", "ignore"):
        custom_alarm(clients, f"no-data-{mode}", threshold=10, metric="NeverPut", TreatMissingData=mode)
    custom_alarm(clients, "with-data", threshold=10, periods=2)
    value = {"v": 25.0}
    with feeding(clients, value):
        wait_for(lambda: alarm(clients, "with-data")["StateValue"] == "ALARM", timeout=20, message="ALARM")
    states = {a["AlarmName"]: a["StateValue"] for a in clients["cw"].describe_alarms()["MetricAlarms"]}
    assert states["no-data-missing"] == "INSUFFICIENT_DATA"
    assert states["no-data-breaching"] == "ALARM"
    assert states["no-data-notBreaching"] == "OK"
    assert states["no-data-ignore"] == "INSUFFICIENT_DATA"             # kept: a new alarm starts there, as in AWS
    custom_alarm(clients, "no-data-breaching", threshold=20, metric="NeverPut", TreatMissingData="breaching")
    assert alarm(clients, "no-data-breaching")["StateValue"] == "ALARM"  # updating an alarm keeps its state
    body = alarm(clients, "with-data")
    assert body["StateReason"].startswith("Threshold Crossed: ")          # AWS's wording, e.g. 2 out of the last 2
    assert "greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition)." in body["StateReason"]
    data = json.loads(body["StateReasonData"])
    assert data["threshold"] == 10.0 and set(data["recentDatapoints"]) == {25.0} and data["period"] == 60
    history = clients["cw"].describe_alarm_history(AlarmName="with-data", HistoryItemType="StateUpdate")
    assert history["AlarmHistoryItems"][0]["HistorySummary"].endswith("to ALARM")
    assert history["AlarmHistoryItems"][-1]["HistorySummary"].startswith("Alarm updated from INSUFFICIENT_DATA")


def test_does_an_sns_alarm_action_notify_the_topic(local, clients):
    sns, sqs = local.client("sns"), local.client("sqs")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    custom_alarm(clients, "page-me", threshold=10, actions=[topic], TreatMissingData="breaching")
    message = wait_for(lambda: sqs.receive_message(QueueUrl=queue).get("Messages"), timeout=20, message="a message")
    body = json.loads(json.loads(message[0]["Body"])["Message"])
    assert body["AlarmName"] == "page-me" and body["NewStateValue"] == "ALARM"


# --- target tracking -------------------------------------------------------------------------------------------

def test_does_cpu_load_scale_out_proportionally_within_max_and_back_in_to_min(local, clients, fake):
    fake.cpu_demand_units = 768.0          # 300 % of one task's 256 units: ceil(1 x 300 / 50) = 6 -> max 4
    make_service(clients, desired=1)
    register(clients, minimum=1, maximum=4)
    tracking_policy(clients, target=50.0)
    wait_desired(clients, 4)
    wait_running(clients, 4)
    high = alarm(clients, "AlarmHigh")
    assert high["StateReason"].startswith("Threshold Crossed: ")
    assert high["StateReason"].endswith("greater than the threshold (50.0) (minimum 3 datapoints for OK -> ALARM "
                                        "transition).")
    fired = next(row.t for row in timeline_rows(local, "alarm", "cpu50 AlarmHigh") if row.value == "ALARM")
    first_activity = scaling_rows(local)[0]
    assert first_activity.t == fired and first_activity.value == "Setting desired count to 4."
    # still above target at max capacity: a not-scaled activity, shown only when asked for
    wait_for(lambda: any(a.get("NotScaledReasons") for a in activities(clients, IncludeNotScaledActivities=True)),
             timeout=20, message="an AlreadyAtMaxCapacity activity")
    reasons = [a["NotScaledReasons"][0] for a in activities(clients, IncludeNotScaledActivities=True)
               if a.get("NotScaledReasons")]
    assert reasons[0] == {"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 4}
    assert not any(a.get("NotScaledReasons") for a in activities(clients))
    stop = local.timeline.now()
    fake.cpu_demand_units = 0.0
    wait_desired(clients, 1)
    wait_running(clients, 1)
    scale_in = scaling_rows(local)[-1]
    assert scale_in.value == "Setting desired count to 1."
    assert scale_in.t - stop >= 14 * 60                                # AlarmLow: 15 datapoints below 45 %
    found = activities(clients, ResourceId=RESOURCE)
    assert [a["Description"] for a in found] == ["Setting desired count to 1.", "Setting desired count to 4."]
    assert "AlarmLow" in found[0]["Cause"] and "triggered policy cpu50" in found[0]["Cause"]
    assert {a["StatusCode"] for a in found} == {"Successful"}
    assert found[0]["StartTime"] > found[1]["StartTime"]
    counts = [row.value["desired"] for row in timeline_rows(local, "counts", "web")]
    assert max(counts) == 4 and min(counts) == 1
    assert timeline_rows(local, "metric", "web CPUUtilization")
    assert local.timeline.plot() is not None


def test_does_the_scale_in_cooldown_space_two_scale_ins(local, clients, fake):
    fake.cpu_demand_units = 200.0          # 4 tasks at 19.5 %: ceil(4 x 19.5 / 50) = 2
    make_service(clients, desired=4)
    register(clients, minimum=1, maximum=4)
    tracking_policy(clients, target=50.0, ScaleInCooldown=600)
    wait_desired(clients, 2)
    fake.cpu_demand_units = 0.0
    wait_desired(clients, 1, timeout=30)
    moves = [(row.t, row.value) for row in scaling_rows(local)]
    assert [value for _, value in moves] == ["Setting desired count to 2.", "Setting desired count to 1."], moves
    assert moves[1][0] - moves[0][0] >= 600


def test_is_scale_in_held_while_a_deployment_is_in_progress(local, clients, fake):
    make_service(clients, desired=3)
    clients["ecs"].register_task_definition(family="broken", containerDefinitions=[
        {"name": "web", "image": "not/pulled:1", "memory": 128, "cpu": 256}])
    clients["ecs"].update_service(cluster="c1", service="web", taskDefinition="broken")
    register(clients, minimum=1, maximum=4)
    tracking_policy(clients, target=50.0)
    wait_for(lambda: alarm(clients, "AlarmLow")["StateValue"] == "ALARM", timeout=20, message="AlarmLow")
    minutes_later(local, 5)
    assert desired(clients) == 3 and not scaling_rows(local)
    clients["ecs"].update_service(cluster="c1", service="web", taskDefinition="web")
    wait_desired(clients, 1, timeout=30)


def test_does_any_policy_scale_out_but_scale_in_need_every_policy(local, clients, fake):
    fake.memory_mib = 47.0                 # between AlarmLow (45) and AlarmHigh (50): memory has no opinion
    make_service(clients, desired=2, memory=100)
    register(clients, minimum=1, maximum=4)
    tracking_policy(clients, "cpu", target=50.0)
    tracking_policy(clients, "mem", target=50.0, metric="ECSServiceAverageMemoryUtilization")
    wait_for(lambda: any(row.value == "ALARM" for row in timeline_rows(local, "alarm", "cpu AlarmLow")),
             timeout=20, message="the CPU AlarmLow")
    minutes_later(local, 3)
    assert desired(clients) == 2                                      # CPU alone may not scale in
    for container in fake.running():
        fake.set_stats(container.id, memory_bytes=90 * MIB)           # memory alone scales out
    wait_desired(clients, 4)
    assert "triggered policy mem" in activities(clients)[0]["Cause"]


# --- step scaling, cooldowns, set_alarm_state ------------------------------------------------------------------

def test_does_a_step_policy_move_by_its_steps_with_its_cooldown(local, clients):
    make_service(clients, desired=1)
    register(clients, minimum=1, maximum=6)
    arn = step_policy(clients, "steps", cooldown=300, steps=[
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 3}])
    custom_alarm(clients, "queue-high", threshold=10, actions=[arn])
    value = {"v": 25.0}                   # 15 above the threshold: the +3 step
    with feeding(clients, value):
        wait_desired(clients, 4)
        wait_desired(clients, 6, timeout=30)                           # +3 after the cooldown, clamped to 6
        times = [row.t for row in scaling_rows(local)]
    assert [a["Description"] for a in activities(clients)][:2] == ["Setting desired count to 6.",
                                                                   "Setting desired count to 4."]
    assert times[1] - times[0] >= 300                                  # no flapping inside the cooldown


def test_does_a_learners_set_alarm_state_run_the_policy_once(local, clients):
    make_service(clients, desired=1)
    register(clients, minimum=1, maximum=5)
    arn = step_policy(clients, "plus2", steps=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}])
    custom_alarm(clients, "manual", threshold=10, actions=[arn], TreatMissingData="ignore")
    clients["cw"].set_alarm_state(AlarmName="manual", StateValue="ALARM", StateReason="testing the policy")
    wait_desired(clients, 3)
    history = clients["cw"].describe_alarm_history(AlarmName="manual")["AlarmHistoryItems"]
    kinds = {item["HistoryItemType"] for item in history}
    assert kinds == {"StateUpdate", "Action"}
    assert any(item["HistorySummary"] == f"Successfully executed action {arn}" for item in history)


# --- scheduled actions and registration ------------------------------------------------------------------------

def test_does_a_scheduled_action_fire_and_set_the_limits(local, clients):
    make_service(clients, desired=1)
    register(clients, minimum=1, maximum=4)
    when = (datetime.now(timezone.utc) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S")
    clients["aas"].put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="morning", ResourceId=RESOURCE,
                                        ScalableDimension=DIMENSION, Schedule=f"at({when})",
                                        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 6})
    wait_desired(clients, 3)
    wait_running(clients, 3)
    target = clients["aas"].describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 6)
    found = activities(clients)
    assert [a["Description"] for a in found] == ["Setting desired count to 3.",
                                                 "Setting min capacity to 3 and max capacity to 6"]
    assert found[1]["Cause"] == "scheduled action name morning was triggered"


def test_does_registering_a_target_move_the_desired_count_inside_its_limits(local, clients):
    make_service(clients, desired=1)
    register(clients, minimum=2, maximum=5)
    wait_desired(clients, 2)
    register(clients, minimum=1, maximum=1)
    wait_desired(clients, 1)
    assert [a["Cause"] for a in activities(clients)] == ["maximum capacity was set to 1",
                                                         "minimum capacity was set to 2"]
