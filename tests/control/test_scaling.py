"""Does the local Application Auto Scaling decide like the User Guide says it does?"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import botocore.loaders
import pytest

from ecsdojo.control.autoscaling.alarms import ALARM, INSUFFICIENT_DATA, OK, evaluate_alarm
from ecsdojo.control.autoscaling.cron import CronExpression
from ecsdojo.control.autoscaling.decisions import (
    CooldownTracker,
    PolicyProposal,
    ScalingActivity,
    combine_proposals,
    decide_scaling,
    step_scaling_proposal,
    target_tracking_proposal,
)
from ecsdojo.control.autoscaling.policies import (
    STEP_SCALING,
    TARGET_TRACKING,
    ScalableTarget,
    ScalingPolicyError,
    ScheduledActionError,
    StepScalingConfig,
    TargetTrackingConfig,
    step_adjustment,
    target_tracking_alarms,
    target_tracking_desired,
)
from ecsdojo.control.autoscaling.schedule import (
    ScheduledAction,
    ScheduledActionRun,
    apply_scheduled_run,
    due_scheduled_actions,
)

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)
RESOURCE = "service/demo/web"


def make_target(**overrides) -> ScalableTarget:
    fields = dict(resource_id=RESOURCE, min_capacity=1, max_capacity=10)
    fields.update(overrides)
    return ScalableTarget(**fields)


def make_tracking(**overrides) -> TargetTrackingConfig:
    config = {"TargetValue": 50.0,
              "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}
    config.update(overrides)
    return TargetTrackingConfig.from_api(config, policy_name="cpu50")


def make_step(adjustment_type="ChangeInCapacity", steps=((0, 10, 1), (10, 20, 2), (20, None, 3)), **extra):
    """A StepScalingPolicyConfiguration from (lower, upper, adjustment) rows; None bounds are left out."""
    rows = []
    for lower, upper, adjustment in steps:
        row = {"ScalingAdjustment": adjustment}
        if lower is not None:
            row["MetricIntervalLowerBound"] = lower
        if upper is not None:
            row["MetricIntervalUpperBound"] = upper
        rows.append(row)
    config = {"AdjustmentType": adjustment_type, "StepAdjustments": rows}
    config.update(extra)
    return StepScalingConfig.from_api(config, policy_name="steps")


def proposal(desired, policy_type=TARGET_TRACKING, name="p", **extra) -> PolicyProposal:
    return PolicyProposal(name, desired, policy_type, alarm_name=f"{name}-alarm", **extra)


# --- target tracking ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("current,metric,expected", [
    (2, 90.0, 4),       # the brief's example: ceil(2 x 90 / 50)
    (10, 51.0, 11),     # just above the target: one more
    (3, 75.0, 5),       # 4.5 rounded up
    (4, 20.0, 2),       # scale in to ceil(1.6)
    (4, 45.0, 4),       # removing one would push the metric to 60 > 50: no scale-in
    (4, 50.0, 4),
    (2, 0.0, 1),        # clamped to the minimum
    (5, None, 5),       # no data, no change
])
def test_does_target_tracking_ask_for_the_proportional_capacity(current, metric, expected):
    assert target_tracking_desired(current, metric, 50.0, min_capacity=1, max_capacity=20) == expected


def test_is_the_target_tracking_capacity_clamped_and_scale_in_disableable():
    assert target_tracking_desired(2, 400.0, 50.0, min_capacity=1, max_capacity=6) == 6
    assert target_tracking_desired(4, 10.0, 50.0, min_capacity=3, max_capacity=6) == 3
    assert target_tracking_desired(4, 10.0, 50.0, disable_scale_in=True) == 4
    assert target_tracking_desired(0, 10.0, 5.0) == 1 and target_tracking_desired(0, 0.0, 5.0, min_capacity=0) == 0


def test_does_a_cpu_policy_get_the_alarms_aws_creates():
    high, low = target_tracking_alarms("cpu70", RESOURCE, make_tracking(TargetValue=70.0))
    assert high.name.startswith("TargetTracking-service/demo/web-AlarmHigh-")
    assert low is not None and low.name.startswith("TargetTracking-service/demo/web-AlarmLow-")
    assert (high.namespace, high.metric_name, high.statistic, high.unit) == ("AWS/ECS", "CPUUtilization", "Average",
                                                                             "Percent")
    assert high.dimensions == (("ClusterName", "demo"), ("ServiceName", "web"))
    assert (high.comparison_operator, high.threshold, high.evaluation_periods, high.period) == (
        "GreaterThanThreshold", 70.0, 3, 60)
    assert (low.comparison_operator, low.threshold, low.evaluation_periods, low.period) == (
        "LessThanThreshold", 63.0, 15, 60)
    assert high.description.startswith("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy arn:aws:autoscaling:")
    assert target_tracking_alarms("cpu70", RESOURCE, make_tracking(TargetValue=70.0)) == (high, low)   # pure


def test_do_the_other_metric_kinds_get_the_right_alarm_metric():
    memory, _ = target_tracking_alarms("mem", RESOURCE, make_tracking(
        PredefinedMetricSpecification={"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}))
    assert memory.metric_name == "MemoryUtilization"
    label = "app/my-alb/778d41231b141a0f/targetgroup/my-tg/943f017f100becff"
    alb, _ = target_tracking_alarms("req", RESOURCE, make_tracking(
        TargetValue=1000.0, PredefinedMetricSpecification={"PredefinedMetricType": "ALBRequestCountPerTarget",
                                                           "ResourceLabel": label}))
    assert (alb.namespace, alb.metric_name, alb.statistic) == ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum")
    assert alb.dimensions == (("TargetGroup", "targetgroup/my-tg/943f017f100becff"),)
    custom, _ = target_tracking_alarms("queue", RESOURCE, TargetTrackingConfig.from_api({
        "TargetValue": 10.0, "CustomizedMetricSpecification": {
            "MetricName": "Backlog", "Namespace": "Demo", "Statistic": "Maximum",
            "Dimensions": [{"Name": "Queue", "Value": "jobs"}]}}))
    assert (custom.namespace, custom.metric_name, custom.statistic, custom.dimensions) == (
        "Demo", "Backlog", "Maximum", (("Queue", "jobs"),))


def test_does_disable_scale_in_drop_the_low_alarm():
    high, low = target_tracking_alarms("cpu50", RESOURCE, make_tracking(DisableScaleIn=True))
    assert low is None and high.threshold == 50.0


def test_are_bad_tracking_policies_reported_with_the_field():
    with pytest.raises(ScalingPolicyError, match="field ResourceLabel"):
        target_tracking_alarms("req", RESOURCE, make_tracking(
            PredefinedMetricSpecification={"PredefinedMetricType": "ALBRequestCountPerTarget"}))
    with pytest.raises(ScalingPolicyError, match="field ResourceId"):
        target_tracking_alarms("cpu", "table/orders", make_tracking())
    with pytest.raises(ScalingPolicyError, match="PredefinedMetricSpecification"):
        TargetTrackingConfig.from_api({"TargetValue": 5.0})
    with pytest.raises(ScalingPolicyError, match="PredefinedMetricType"):
        target_tracking_alarms("x", RESOURCE, make_tracking(
            PredefinedMetricSpecification={"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}))


def test_does_the_high_alarm_fire_after_three_minutes_above_target():
    high, _ = target_tracking_alarms("cpu50", RESOURCE, make_tracking())
    points = [(T0 + timedelta(minutes=i, seconds=30), 90.0) for i in range(3)]
    early = evaluate_alarm(high, points[:2], now=T0 + timedelta(minutes=2, seconds=1), previous_state=OK)
    fired = evaluate_alarm(high, points, now=T0 + timedelta(minutes=3, seconds=1), previous_state=OK)
    assert early.state == OK or early.state == INSUFFICIENT_DATA
    assert early.state != ALARM and fired.state == ALARM


def test_are_tracking_cooldowns_and_defaults_read_from_the_api_shape():
    config = make_tracking(ScaleOutCooldown=60, ScaleInCooldown=120)
    assert (config.scale_out_cooldown_s, config.scale_in_cooldown_s) == (60.0, 120.0)
    assert (make_tracking().scale_out_cooldown_s, make_tracking().scale_in_cooldown_s) == (300.0, 300.0)


# --- step scaling ------------------------------------------------------------------------------------------

def user_guide_percent_policies():
    out = make_step("PercentChangeInCapacity", ((0, 10, 0), (10, 20, 10), (20, None, 30)))
    scale_in = make_step("PercentChangeInCapacity", ((-10, 0, 0), (-20, -10, -10), (None, -20, -30)))
    return out, scale_in


def test_does_the_user_guide_step_example_come_out_the_same():
    out, scale_in = user_guide_percent_policies()
    assert step_adjustment(10, 50.0, out, alarm_threshold=50.0) == 10
    assert step_adjustment(10, 60.0, out, alarm_threshold=50.0) == 11         # +10 % of 10
    assert step_adjustment(11, 70.0, out, alarm_threshold=50.0) == 14         # +30 % of 11 = 3.3 -> 3
    assert step_adjustment(14, 40.0, scale_in, alarm_threshold=50.0) == 13    # -10 % of 14 = -1.4 -> -1
    assert step_adjustment(13, 30.0, scale_in, alarm_threshold=50.0) == 10    # -30 % of 13 = -3.9 -> -3
    assert step_adjustment(13, 45.0, scale_in, alarm_threshold=50.0) == 13


def test_are_step_bounds_inclusive_or_exclusive_by_side_of_the_threshold():
    out, scale_in = user_guide_percent_policies()
    assert step_adjustment(10, 59.999, out, alarm_threshold=50.0) == 10       # [0, 10): adjustment 0
    assert step_adjustment(10, 60.0, out, alarm_threshold=50.0) == 11         # lower bound inclusive above
    assert step_adjustment(14, 40.0, scale_in, alarm_threshold=50.0) == 13    # upper bound inclusive below
    assert step_adjustment(14, 40.001, scale_in, alarm_threshold=50.0) == 14


@pytest.mark.parametrize("adjustment_type,steps,current,metric,expected", [
    ("ChangeInCapacity", ((0, 10, 1), (10, None, 3)), 3, 55.0, 4),
    ("ChangeInCapacity", ((0, 10, 1), (10, None, 3)), 3, 75.0, 6),
    ("ChangeInCapacity", ((None, 0, -2),), 5, 20.0, 3),
    ("ExactCapacity", ((0, None, 8),), 3, 90.0, 8),
    ("ExactCapacity", ((None, 0, 2),), 6, 10.0, 2),
    ("PercentChangeInCapacity", ((0, None, 200),), 10, 90.0, 30),
    ("PercentChangeInCapacity", ((0, None, 10),), 3, 90.0, 4),     # 0.3 rounds to 1
    ("PercentChangeInCapacity", ((None, 0, -20),), 3, 10.0, 2),    # -0.6 rounds to -1
    ("PercentChangeInCapacity", ((None, 0, -50),), 9, 10.0, 5),    # -4.5 rounds up to -4
])
def test_does_each_adjustment_type_move_by_its_step(adjustment_type, steps, current, metric, expected):
    config = make_step(adjustment_type, steps)
    assert step_adjustment(current, metric, config, alarm_threshold=50.0) == expected


def test_does_min_adjustment_magnitude_raise_small_percent_steps():
    config = make_step("PercentChangeInCapacity", ((0, None, 25),), MinAdjustmentMagnitude=2)
    assert step_adjustment(4, 80.0, config, alarm_threshold=50.0) == 6     # 25 % of 4 = 1, at least 2
    assert step_adjustment(20, 80.0, config, alarm_threshold=50.0) == 25   # 5 is already larger
    down = make_step("PercentChangeInCapacity", ((None, 0, -25),), MinAdjustmentMagnitude=2)
    assert step_adjustment(4, 10.0, down, alarm_threshold=50.0) == 2


def test_is_a_step_result_clamped_to_the_target_limits():
    config = make_step("ChangeInCapacity", ((0, None, 5),))
    assert step_adjustment(8, 90.0, config, alarm_threshold=50.0, max_capacity=10) == 10
    down = make_step("ChangeInCapacity", ((None, 0, -5),))
    assert step_adjustment(3, 10.0, down, alarm_threshold=50.0, min_capacity=1) == 1


def test_are_bad_step_policies_reported_with_the_field():
    with pytest.raises(ScalingPolicyError, match="field AdjustmentType"):
        make_step("Doubling")
    with pytest.raises(ScalingPolicyError, match="field StepAdjustments"):
        make_step(steps=())
    with pytest.raises(ScalingPolicyError, match="MinAdjustmentMagnitude"):
        make_step("ChangeInCapacity", MinAdjustmentMagnitude=2)
    with pytest.raises(ScalingPolicyError, match="both bounds null"):
        make_step(steps=((None, None, 1),))
    assert make_step().cooldown_s == 300.0 and make_step().metric_aggregation_type == "Average"


# --- cooldowns ---------------------------------------------------------------------------------------------

def test_does_a_larger_step_during_scale_out_cooldown_add_only_the_difference():
    """The User Guide: +2 done, the alarm fires again at a +3 step: only 1 more is added."""
    config = make_step("ChangeInCapacity", ((0, 20, 2), (20, None, 3)))
    cooldowns = CooldownTracker()
    first = step_scaling_proposal("steps", config, alarm_state=ALARM, alarm_name="hi", alarm_threshold=50.0,
                                  metric_value=60.0, current_capacity=4, now=T0, cooldowns=cooldowns)
    assert first.desired == 6
    cooldowns.record(now=T0, old_capacity=4, new_capacity=6, cooldown_s=config.cooldown_s)
    same = step_scaling_proposal("steps", config, alarm_state=ALARM, alarm_name="hi", alarm_threshold=50.0,
                                 metric_value=60.0, current_capacity=6, now=T0 + timedelta(seconds=60),
                                 cooldowns=cooldowns)
    assert same.desired is None                                    # same step again: nothing more
    larger = step_scaling_proposal("steps", config, alarm_state=ALARM, alarm_name="hi", alarm_threshold=50.0,
                                   metric_value=80.0, current_capacity=6, now=T0 + timedelta(seconds=60),
                                   cooldowns=cooldowns)
    assert larger.desired == 7                                     # 4 + 3, so only 1 added
    after = step_scaling_proposal("steps", config, alarm_state=ALARM, alarm_name="hi", alarm_threshold=50.0,
                                  metric_value=60.0, current_capacity=6, now=T0 + timedelta(seconds=301),
                                  cooldowns=cooldowns)
    assert after.desired == 8                                      # cooldown over: from current again


def test_does_the_scale_out_cooldown_prevent_runaway_scale_out_while_the_metric_lags():
    target, config, cooldowns = make_target(), make_tracking(ScaleOutCooldown=300), CooldownTracker()
    current = 2
    history = []
    for minute in range(0, 12):                   # the metric stays at 90 % while new tasks start
        now = T0 + timedelta(minutes=minute)
        p = target_tracking_proposal("cpu50", config, high_state=ALARM, low_state=OK, metric_value=90.0,
                                     current_capacity=current, now=now, cooldowns=cooldowns)
        decision = decide_scaling(target, current, [p], now=now, cooldowns=cooldowns)
        if decision.changed:
            cooldowns.record(now=now, old_capacity=current, new_capacity=decision.new_capacity,
                             cooldown_s=config.scale_out_cooldown_s)
            current = decision.new_capacity
        history.append(current)
    assert history[:5] == [4, 4, 4, 4, 4]         # one scale-out, then the cooldown holds
    assert history[5] == 8 and max(history) == 10 # after it: proportional again, up to the maximum


def test_does_a_bigger_spike_during_the_scale_out_cooldown_still_scale_out():
    target, config, cooldowns = make_target(), make_tracking(), CooldownTracker()
    cooldowns.record(now=T0, old_capacity=2, new_capacity=4, cooldown_s=300)
    p = target_tracking_proposal("cpu50", config, high_state=ALARM, low_state=OK, metric_value=150.0,
                                 current_capacity=4, now=T0 + timedelta(seconds=60), cooldowns=cooldowns)
    assert p.desired == 6                          # ceil(2 x 150 / 50), from the capacity before the scale-out
    assert decide_scaling(target, 4, [p], now=T0 + timedelta(seconds=60), cooldowns=cooldowns).new_capacity == 6


def test_does_the_scale_in_cooldown_block_the_next_scale_in_but_not_a_scale_out():
    target, cooldowns = make_target(), CooldownTracker()
    cooldowns.record(now=T0, old_capacity=6, new_capacity=4)
    scale_in = [proposal(3, scale_in_cooldown_s=300)]
    blocked = decide_scaling(target, 4, scale_in, now=T0 + timedelta(seconds=100), cooldowns=cooldowns)
    assert (blocked.changed, blocked.blocked_by) == (False, "cooldown")
    allowed = decide_scaling(target, 4, scale_in, now=T0 + timedelta(seconds=300), cooldowns=cooldowns)
    assert allowed.new_capacity == 3
    out = decide_scaling(target, 4, [proposal(5)], now=T0 + timedelta(seconds=100), cooldowns=cooldowns)
    assert out.new_capacity == 5                   # a scale-out goes through at once ...
    cooldowns.record(now=T0 + timedelta(seconds=100), old_capacity=4, new_capacity=5)
    assert not cooldowns.in_scale_in_cooldown(T0 + timedelta(seconds=101), 300)   # ... and ends the cooldown


def test_does_the_cooldown_stop_a_firing_scale_in_alarm_from_flapping_capacity_down():
    """A step policy removing 1 task per alarm notification, its alarm in ALARM for 10 minutes."""
    config = make_step("ChangeInCapacity", ((None, 0, -1),), Cooldown=300)

    def run(cooldowns):
        current, changes = 10, []
        for minute in range(10):
            now = T0 + timedelta(minutes=minute)
            p = step_scaling_proposal("down", config, alarm_state=ALARM, alarm_name="low", alarm_threshold=30.0,
                                      metric_value=10.0, current_capacity=current, now=now, cooldowns=cooldowns)
            decision = decide_scaling(make_target(), current, [p], now=now, cooldowns=cooldowns)
            if decision.changed:
                if cooldowns is not None:
                    cooldowns.record(now=now, old_capacity=current, new_capacity=decision.new_capacity)
                changes.append(minute)
                current = decision.new_capacity
        return changes

    assert run(None) == list(range(9))                # without cooldowns: one task less every minute, down to 1
    assert run(CooldownTracker()) == [0, 5]           # with a 300 s cooldown: every 5 minutes


def test_does_time_given_as_seconds_work_for_cooldowns():
    cooldowns = CooldownTracker()
    cooldowns.record(now=1000.0, old_capacity=2, new_capacity=3, cooldown_s=60)
    assert cooldowns.base_capacity(3, now=1059.0) == 2 and cooldowns.base_capacity(3, now=1060.0) == 3


# --- combining, deployments, suspension --------------------------------------------------------------------

def test_does_any_policy_asking_to_scale_out_win_with_the_largest_capacity():
    assert combine_proposals(4, [proposal(5, name="a"), proposal(None, name="b"), proposal(3, name="c")]).policy_name == "a"
    assert combine_proposals(4, [proposal(6, name="a"), proposal(8, STEP_SCALING, name="b")]).desired == 8
    # The API reference's example: +3 against +200 % at capacity 10: the 200 % policy wins (30).
    plus3 = step_adjustment(10, 90.0, make_step("ChangeInCapacity", ((0, None, 3),)), alarm_threshold=50.0)
    double = step_adjustment(10, 90.0, make_step("PercentChangeInCapacity", ((0, None, 200),)), alarm_threshold=50.0)
    winner = combine_proposals(10, [proposal(plus3, STEP_SCALING, "plus3"), proposal(double, STEP_SCALING, "x3")])
    assert (winner.policy_name, winner.desired) == ("x3", 30)


def test_does_scale_in_need_every_tracking_policy_to_agree():
    assert combine_proposals(6, [proposal(3, name="cpu"), proposal(None, name="mem")]) is None
    assert combine_proposals(6, [proposal(3, name="cpu"), proposal(6, name="mem")]) is None
    both = combine_proposals(6, [proposal(3, name="cpu"), proposal(5, name="mem")])
    assert (both.policy_name, both.desired) == ("mem", 5)       # the largest capacity wins for scale-in too
    no_vote = PolicyProposal("req", None, TARGET_TRACKING, scale_in_enabled=False)
    assert combine_proposals(6, [proposal(4, name="cpu"), no_vote]).desired == 4
    assert combine_proposals(6, [proposal(4, STEP_SCALING, "steps"), proposal(None, name="cpu")]).desired == 4


def test_is_scale_in_held_during_a_deployment_but_scale_out_not():
    target = make_target()
    held = decide_scaling(target, 5, [proposal(3)], now=T0, deployment_in_progress=True)
    assert (held.new_capacity, held.blocked_by) == (5, "deployment")
    assert "deployment" in held.explanation
    out = decide_scaling(target, 5, [proposal(7)], now=T0, deployment_in_progress=True)
    assert out.new_capacity == 7


def test_do_suspended_flags_stop_the_matching_direction():
    target = make_target(dynamic_scaling_in_suspended=True)
    assert decide_scaling(target, 5, [proposal(3)], now=T0).blocked_by == "suspended"
    assert decide_scaling(target, 5, [proposal(6)], now=T0).new_capacity == 6
    target = make_target(dynamic_scaling_out_suspended=True)
    assert decide_scaling(target, 5, [proposal(6)], now=T0).blocked_by == "suspended"


def test_are_limits_applied_and_reported_as_not_scaled():
    target = make_target(min_capacity=2, max_capacity=6)
    assert decide_scaling(target, 4, [proposal(9)], now=T0).new_capacity == 6
    at_max = decide_scaling(target, 6, [proposal(9, name="cpu50")], now=T0)
    assert (at_max.changed, at_max.not_scaled_code) == (False, "AlreadyAtMaxCapacity")
    activity = at_max.activity(now=T0)
    assert activity.to_api()["StatusCode"] == "Failed"
    assert activity.to_api()["NotScaledReasons"] == [{"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 6}]
    assert activity.description == "Attempting to scale due to alarm triggered"
    at_min = decide_scaling(target, 2, [proposal(1)], now=T0)
    assert at_min.not_scaled_code == "AlreadyAtMinCapacity"
    assert decide_scaling(target, 3, [], now=T0).activity(now=T0) is None


def test_is_the_scaling_activity_worded_like_describe_scaling_activities():
    high, _ = target_tracking_alarms("cpu-tracking", "service/c/s", make_tracking())
    p = target_tracking_proposal("cpu-tracking", make_tracking(), high_state=ALARM, low_state=OK, metric_value=90.0,
                                 current_capacity=2, high_alarm_name=high.name)
    decision = decide_scaling(make_target(resource_id="service/c/s"), 2, [p], now=T0)
    api = decision.activity(now=T0, activity_id="a-1").to_api()
    assert api["Description"] == "Setting desired count to 4."
    assert api["Cause"] == f"monitor alarm {high.name} in state ALARM triggered policy cpu-tracking"
    assert api["Cause"].startswith("monitor alarm TargetTracking-service/c/s-AlarmHigh-")
    assert api["StatusCode"] == "Successful"
    assert api["StatusMessage"] == "Successfully set desired count to 4. Change successfully fulfilled by ecs."
    assert (api["ServiceNamespace"], api["ResourceId"], api["ScalableDimension"]) == (
        "ecs", "service/c/s", "ecs:service:DesiredCount")
    assert api["StartTime"] == T0 and api["EndTime"] == T0
    model = botocore.loaders.create_loader().load_service_model("application-autoscaling", "service-2")
    assert set(api) <= set(model["shapes"]["ScalingActivity"]["members"])


def test_does_a_tracking_policy_propose_nothing_on_insufficient_data():
    config = make_tracking()
    for high, low in ((INSUFFICIENT_DATA, INSUFFICIENT_DATA), (OK, OK), (OK, INSUFFICIENT_DATA)):
        assert target_tracking_proposal("cpu", config, high_state=high, low_state=low, metric_value=10.0,
                                        current_capacity=4).desired is None
    disabled = make_tracking(DisableScaleIn=True)
    p = target_tracking_proposal("cpu", disabled, high_state=OK, low_state=ALARM, metric_value=10.0,
                                 current_capacity=4)
    assert p.desired is None and not p.scale_in_enabled


def test_is_a_scalable_target_read_from_the_api_shape():
    target = ScalableTarget.from_api({
        "ServiceNamespace": "ecs", "ResourceId": "service/c/s", "ScalableDimension": "ecs:service:DesiredCount",
        "MinCapacity": 1, "MaxCapacity": 10,
        "SuspendedState": {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": False,
                           "ScheduledScalingSuspended": False}})
    assert (target.min_capacity, target.max_capacity, target.dynamic_scaling_in_suspended) == (1, 10, True)
    assert target.clamp(0) == 1 and target.clamp(11) == 10
    with pytest.raises(ScalingPolicyError, match="MinCapacity/MaxCapacity"):
        make_target(min_capacity=5, max_capacity=2)


# --- scheduled actions -------------------------------------------------------------------------------------

def make_run(name, min_capacity=None, max_capacity=None) -> ScheduledActionRun:
    return ScheduledActionRun(name, T0, min_capacity, max_capacity)


def make_action(name="night", schedule="cron(0 22 * * ? *)", **overrides) -> ScheduledAction:
    fields = dict(name=name, schedule=schedule, min_capacity=1, max_capacity=2)
    fields.update(overrides)
    return ScheduledAction(**fields)


def test_does_a_daily_cron_action_fire_once_at_its_time():
    action = make_action()
    window = dict(last_run=datetime(2026, 11, 26, 21, 59, 50, tzinfo=timezone.utc))
    runs = due_scheduled_actions([action], now=datetime(2026, 11, 26, 22, 0, 10, tzinfo=timezone.utc), **window)
    assert [(r.action_name, r.run_time) for r in runs] == [("night", datetime(2026, 11, 26, 22, 0, tzinfo=timezone.utc))]
    assert due_scheduled_actions([action], now=datetime(2026, 11, 26, 21, 59, 59, tzinfo=timezone.utc), **window) == []
    later = due_scheduled_actions([action], now=datetime(2026, 11, 26, 22, 5, tzinfo=timezone.utc),
                                  last_run=datetime(2026, 11, 26, 22, 0, 10, tzinfo=timezone.utc))
    assert later == []


def test_is_a_cron_schedule_read_in_its_time_zone():
    action = make_action(timezone="Europe/Paris")                   # 22:00 in Paris = 21:00 UTC in November
    runs = due_scheduled_actions([action], now=datetime(2026, 11, 26, 21, 0, 30, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 11, 26, 20, 59, tzinfo=timezone.utc))
    assert runs and runs[0].run_time == datetime(2026, 11, 26, 21, 0, tzinfo=timezone.utc)
    summer = make_action(schedule="cron(0 9 * * ? *)", timezone="America/New_York")
    july = due_scheduled_actions([summer], now=datetime(2026, 7, 1, 13, 0, 1, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    january = due_scheduled_actions([summer], now=datetime(2026, 1, 5, 14, 0, 1, tzinfo=timezone.utc),
                                    last_run=datetime(2026, 1, 5, 13, 30, tzinfo=timezone.utc))
    assert july[0].run_time.hour == 13 and january[0].run_time.hour == 14   # daylight saving followed


@pytest.mark.parametrize("expression,day,matches", [
    ("0 18 ? * MON-FRI *", datetime(2026, 11, 27), True),     # a Friday
    ("0 18 ? * MON-FRI *", datetime(2026, 11, 28), False),    # a Saturday
    ("0 18 ? * 1 *", datetime(2026, 11, 29), True),           # 1 = Sunday
    ("0 8 1 * ? *", datetime(2026, 12, 1), True),
    ("0 8 L * ? *", datetime(2026, 2, 28), True),             # last day of February
    ("0 8 L * ? *", datetime(2026, 2, 27), False),
    ("0 8 ? * 6#4 *", datetime(2026, 11, 26), False),         # 6 = Friday; the 26th is a Thursday
    ("0 8 ? * 5#4 *", datetime(2026, 11, 26), True),          # fourth Thursday of November
    ("0 8 ? * 2L *", datetime(2026, 11, 30), True),           # last Monday
    ("0 8 ? * * 2027", datetime(2026, 11, 30), False),
    ("0 8 ? JAN,DEC * *", datetime(2026, 12, 3), True),
])
def test_do_cron_day_fields_match_eventbridge_syntax(expression, day, matches):
    assert CronExpression.parse(expression).matches_day(day.date()) is matches


def test_do_cron_minute_increments_fire_on_their_minutes():
    action = make_action(schedule="cron(0/15 8-17 ? * MON-FRI *)")
    runs = due_scheduled_actions([action], now=datetime(2026, 11, 27, 9, 31, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 11, 27, 9, 20, tzinfo=timezone.utc))
    assert runs[0].run_time == datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
    assert due_scheduled_actions([action], now=datetime(2026, 11, 27, 18, 10, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 11, 27, 17, 50, tzinfo=timezone.utc)) == []


def test_does_a_one_time_at_action_fire_once():
    action = make_action(name="launch", schedule="at(2026-11-26T18:00:00)", min_capacity=5, max_capacity=10)
    assert due_scheduled_actions([action], now=datetime(2026, 11, 26, 17, 59, tzinfo=timezone.utc), last_run=None) == []
    runs = due_scheduled_actions([action], now=datetime(2026, 11, 26, 18, 0, 5, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 11, 26, 17, 59, 55, tzinfo=timezone.utc))
    assert [(r.min_capacity, r.max_capacity) for r in runs] == [(5, 10)]
    assert due_scheduled_actions([action], now=datetime(2026, 11, 26, 19, 0, tzinfo=timezone.utc),
                                 last_run=datetime(2026, 11, 26, 18, 0, 5, tzinfo=timezone.utc)) == []


def test_does_a_rate_action_repeat_from_its_start_and_stop_at_its_end():
    start = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)
    action = make_action(schedule="rate(5 minutes)", start_time=start, end_time=start + timedelta(minutes=12))
    def due(after, until):
        return [r.run_time for r in due_scheduled_actions([action], now=start + timedelta(minutes=until),
                                                           last_run=start + timedelta(minutes=after))]
    assert due(-1, 0) == [start]                                    # the start time itself
    assert due(4, 6) == [start + timedelta(minutes=5)]
    assert due(6, 9) == []
    assert due(9, 11) == [start + timedelta(minutes=10)]
    assert due(11, 30) == []                                        # ended at +12 min
    created = make_action(schedule="rate(1 hour)", creation_time=start)
    assert due_scheduled_actions([created], now=start + timedelta(minutes=59), last_run=None) == []
    assert due_scheduled_actions([created], now=start + timedelta(minutes=61), last_run=None)[0].run_time == (
        start + timedelta(hours=1))


def test_are_several_due_actions_returned_in_time_order_with_per_action_last_runs():
    morning = make_action(name="morning", schedule="cron(0 8 * * ? *)", min_capacity=4, max_capacity=10)
    evening = make_action(name="evening", schedule="cron(0 20 * * ? *)")
    runs = due_scheduled_actions([evening, morning], now=datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc),
                                 last_run={"morning": datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc),
                                           "evening": datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)})
    assert [r.action_name for r in runs] == ["morning", "evening"]


def test_does_a_scheduled_action_move_limits_and_desired_count_with_aws_wording():
    target = make_target(min_capacity=1, max_capacity=4)
    run = due_scheduled_actions([make_action(name="peak", schedule="at(2026-11-26T18:00:00)", min_capacity=5,
                                             max_capacity=10)],
                                now=datetime(2026, 11, 26, 18, 0, 1, tzinfo=timezone.utc), last_run=None)[0]
    outcome = apply_scheduled_run(target, 2, run)
    assert (outcome.target.min_capacity, outcome.target.max_capacity, outcome.desired) == (5, 10, 5)
    limits, scale = (a.to_api() for a in outcome.activities)
    assert limits["Description"] == "Setting min capacity to 5 and max capacity to 10"
    assert limits["Cause"] == "scheduled action name peak was triggered"
    assert limits["StatusMessage"] == "Successfully set min capacity to 5 and max capacity to 10"
    assert scale["Description"] == "Setting desired count to 5." and scale["Cause"] == "minimum capacity was set to 5"
    night = make_run("night", max_capacity=2)
    shrunk = apply_scheduled_run(make_target(), 6, night)
    assert shrunk.desired == 2 and shrunk.activities[-1].cause == "maximum capacity was set to 2"
    suspended = apply_scheduled_run(make_target(scheduled_scaling_suspended=True), 2, run)
    assert suspended.desired == 2 and suspended.activities == ()


def test_is_a_scheduled_action_read_from_describe_scheduled_actions():
    action = ScheduledAction.from_api({
        "ScheduledActionName": "peak", "Schedule": "cron(0 8 ? * MON-FRI *)", "Timezone": "Europe/Berlin",
        "ResourceId": "service/c/s", "ScalableTargetAction": {"MinCapacity": 4},
        "CreationTime": datetime(2026, 11, 1, tzinfo=timezone.utc)})
    assert (action.name, action.min_capacity, action.max_capacity, action.timezone) == ("peak", 4, None, "Europe/Berlin")
    assert action.creation_time == datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("schedule,timezone_name,field", [
    ("cron(0 8 * * * *)", "UTC", "Schedule"),             # * in both day fields
    ("cron(0 8 * *)", "UTC", "Schedule"),
    ("cron(0 0 8 * * ? *)", "UTC", "Schedule"),           # the seven-field form
    ("cron(0 8 1W * ? *)", "UTC", "Schedule"),
    ("cron(61 8 * * ? *)", "UTC", "Schedule (minutes)"),
    ("rate(0 minutes)", "UTC", "Schedule"),
    ("every day", "UTC", "Schedule"),
    ("at(2026-11-26 18:00)", "UTC", "Schedule"),
    ("cron(0 8 * * ? *)", "Mars/Olympus", "Timezone"),
])
def test_are_bad_schedules_reported_with_the_action_and_field(schedule, timezone_name, field):
    with pytest.raises(ScheduledActionError, match=rf"scheduled action 'bad', field {field.split()[0]}"):
        make_action(name="bad", schedule=schedule, timezone=timezone_name)


def test_is_an_action_without_capacities_rejected():
    with pytest.raises(ScheduledActionError, match="ScalableTargetAction"):
        make_action(min_capacity=None, max_capacity=None)
    with pytest.raises(ScheduledActionError, match="ScalableTargetAction"):
        make_action(min_capacity=5, max_capacity=2)


def test_does_a_scheduled_run_ignore_cooldowns():
    """Scheduled actions are not policy-driven, so cooldowns never hold them back."""
    cooldowns = CooldownTracker()
    cooldowns.record(now=T0, old_capacity=5, new_capacity=4)
    run = make_run("floor", min_capacity=6)
    assert apply_scheduled_run(make_target(), 4, run, now=T0 + timedelta(seconds=5)).desired == 6
    assert ScalingActivity.capacity_limits_set(RESOURCE, "floor", min_capacity=6, max_capacity=None,
                                               start=T0).description == "Setting min capacity to 6"


def test_do_our_tracking_alarms_match_the_ones_moto_creates_except_the_threshold():
    """moto creates AlarmHigh/AlarmLow with the right shape but a threshold hard-coded to 6."""
    import boto3
    from moto import mock_aws

    from ecsdojo.control.autoscaling.alarms import AlarmSpec

    config = {"TargetValue": 50.0, "ScaleOutCooldown": 60,
              "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}
    keys = dict(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with mock_aws():
        ecs = boto3.client("ecs", **keys)
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="t", containerDefinitions=[{"name": "a", "image": "x", "memory": 128}])
        ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=1)
        scaling = boto3.client("application-autoscaling", **keys)
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/c/s",
                                         ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=10)
        scaling.put_scaling_policy(PolicyName="cpu50", ServiceNamespace="ecs", ResourceId="service/c/s",
                                   ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
                                   TargetTrackingScalingPolicyConfiguration=config)
        policy = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"][0]
        target = ScalableTarget.from_api(scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0])
        moto_alarms = {AlarmSpec.from_moto(a).comparison_operator: AlarmSpec.from_moto(a)
                       for a in boto3.client("cloudwatch", **keys).describe_alarms()["MetricAlarms"]}
    ours_high, ours_low = target_tracking_alarms(policy["PolicyName"], policy["ResourceId"],
                                                 TargetTrackingConfig.from_api(policy["TargetTrackingScalingPolicyConfiguration"]))
    assert (target.min_capacity, target.max_capacity) == (1, 10)
    for ours in (ours_high, ours_low):
        theirs = moto_alarms[ours.comparison_operator]
        same = ("namespace", "metric_name", "statistic", "dimensions", "period", "evaluation_periods", "unit")
        assert {f: getattr(ours, f) for f in same} == {f: getattr(theirs, f) for f in same}
        assert theirs.threshold == 6.0                     # moto's bug; ours follows the TargetValue
    assert (ours_high.threshold, ours_low.threshold) == (50.0, 45.0)
