"""Application Auto Scaling decisions for ECS services, as pure functions and plain dataclasses.

moto stores scalable targets, policies and scheduled actions but never acts on them. This module decides
what Application Auto Scaling would do; the control loop feeds it alarm states and metric values and
writes the result (desiredCount, scaling activities) back. Time is always passed in (`now`, durations in
seconds), so a compressed clock works.

Example::

    target = ScalableTarget("service/demo/web", min_capacity=1, max_capacity=10)
    config = TargetTrackingConfig.from_api({"TargetValue": 50.0, "PredefinedMetricSpecification":
                                            {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    high, low = target_tracking_alarms("cpu50", target.resource_id, config)     # AlarmSpec x 2
    proposal = target_tracking_proposal("cpu50", config, high_state="ALARM", low_state="OK",
                                        metric_value=90.0, current_capacity=2, high_alarm_name=high.name)
    decision = decide_scaling(target, 2, [proposal], now=now, cooldowns=CooldownTracker())
    decision.new_capacity        # 4  (ceil(2 x 90 / 50))
    decision.activity(now=now).description   # 'Setting desired count to 4.'

Sources (Application Auto Scaling User Guide and API reference; see the docstrings for details and for
what had to be assumed): target tracking, step scaling, cooldown periods, scheduled scaling with cron
expressions, scaling activities; ECS developer guide (scale-in is turned off during deployments).
"""

from __future__ import annotations

import calendar
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecsdojo.control.alarms import ALARM, AlarmSpec

__all__ = [
    "ECS_NAMESPACE",
    "ECS_SCALABLE_DIMENSION",
    "DEFAULT_COOLDOWN_S",
    "TARGET_TRACKING",
    "STEP_SCALING",
    "ScalingPolicyError",
    "ScheduledActionError",
    "ScalableTarget",
    "TargetTrackingConfig",
    "StepAdjustment",
    "StepScalingConfig",
    "target_tracking_desired",
    "target_tracking_alarms",
    "step_adjustment",
    "CooldownTracker",
    "PolicyProposal",
    "target_tracking_proposal",
    "step_scaling_proposal",
    "combine_proposals",
    "ScalingDecision",
    "decide_scaling",
    "ScalingActivity",
    "ScheduledAction",
    "ScheduledActionRun",
    "ScheduledScalingOutcome",
    "CronExpression",
    "due_scheduled_actions",
    "apply_scheduled_run",
]

ECS_NAMESPACE = "ecs"
ECS_SCALABLE_DIMENSION = "ecs:service:DesiredCount"
DEFAULT_COOLDOWN_S = 300          # ScaleOutCooldown / ScaleInCooldown / Cooldown default for ECS services
TARGET_TRACKING = "TargetTrackingScaling"
STEP_SCALING = "StepScaling"

# Alarms Application Auto Scaling creates for a target-tracking policy (seen in real accounts:
# AlarmHigh threshold = TargetValue, AlarmLow threshold = 90 % of it).
HIGH_ALARM_PERIODS = 3
LOW_ALARM_PERIODS = 15
TRACKING_ALARM_PERIOD_S = 60
LOW_ALARM_FRACTION = 0.9

# PredefinedMetricType -> (namespace, metric name, statistic, unit)
PREDEFINED_METRICS = {
    "ECSServiceAverageCPUUtilization": ("AWS/ECS", "CPUUtilization", "Average", "Percent"),
    "ECSServiceAverageMemoryUtilization": ("AWS/ECS", "MemoryUtilization", "Average", "Percent"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum", None),
}
ADJUSTMENT_TYPES = ("ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity")
_ACCOUNT = "123456789012"         # moto's account id
_REGION = "us-east-1"


class ScalingPolicyError(ValueError):
    """A scaling policy or scalable target the local Application Auto Scaling cannot use."""

    def __init__(self, item: str, field_name: str, problem: str) -> None:
        super().__init__(f"scaling policy or target {item!r}, field {field_name}: {problem}")
        self.item = item
        self.field = field_name


class ScheduledActionError(ValueError):
    """A scheduled action whose schedule, time zone or capacities cannot be used."""

    def __init__(self, action: str, field_name: str, problem: str) -> None:
        super().__init__(f"scheduled action {action!r}, field {field_name}: {problem}")
        self.action = action
        self.field = field_name


# --- time helpers ------------------------------------------------------------------------------------------

def _seconds(moment: datetime | float) -> float:
    if isinstance(moment, (int, float)):
        return float(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _utc(moment: datetime | float) -> datetime:
    return datetime.fromtimestamp(_seconds(moment), tz=timezone.utc)


# --- scalable target ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScalableTarget:
    """A registered scalable target (RegisterScalableTarget / DescribeScalableTargets)."""
    resource_id: str
    min_capacity: int
    max_capacity: int
    dynamic_scaling_in_suspended: bool = False
    dynamic_scaling_out_suspended: bool = False
    scheduled_scaling_suspended: bool = False
    service_namespace: str = ECS_NAMESPACE
    scalable_dimension: str = ECS_SCALABLE_DIMENSION

    def __post_init__(self) -> None:
        if self.min_capacity < 0 or self.max_capacity < self.min_capacity:
            raise ScalingPolicyError(self.resource_id, "MinCapacity/MaxCapacity",
                                     f"need 0 <= MinCapacity <= MaxCapacity, got {self.min_capacity} and "
                                     f"{self.max_capacity}")

    def clamp(self, capacity: int) -> int:
        return max(self.min_capacity, min(self.max_capacity, capacity))

    @classmethod
    def from_api(cls, target: Mapping[str, object]) -> ScalableTarget:
        """From one `ScalableTargets` entry of describe_scalable_targets."""
        suspended = target.get("SuspendedState") or {}
        assert isinstance(suspended, Mapping)
        return cls(
            resource_id=str(target["ResourceId"]),
            min_capacity=int(target["MinCapacity"]),  # type: ignore[arg-type]
            max_capacity=int(target["MaxCapacity"]),  # type: ignore[arg-type]
            dynamic_scaling_in_suspended=bool(suspended.get("DynamicScalingInSuspended", False)),
            dynamic_scaling_out_suspended=bool(suspended.get("DynamicScalingOutSuspended", False)),
            scheduled_scaling_suspended=bool(suspended.get("ScheduledScalingSuspended", False)),
            service_namespace=str(target.get("ServiceNamespace") or ECS_NAMESPACE),
            scalable_dimension=str(target.get("ScalableDimension") or ECS_SCALABLE_DIMENSION),
        )


# --- target tracking ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetTrackingConfig:
    """TargetTrackingScalingPolicyConfiguration (cooldowns default to 300 s, the ECS default)."""
    target_value: float
    predefined_metric_type: str | None = None
    resource_label: str | None = None
    customized_metric: Mapping[str, object] | None = None
    scale_out_cooldown_s: float = DEFAULT_COOLDOWN_S
    scale_in_cooldown_s: float = DEFAULT_COOLDOWN_S
    disable_scale_in: bool = False

    @classmethod
    def from_api(cls, config: Mapping[str, object], *, policy_name: str = "?") -> TargetTrackingConfig:
        """From TargetTrackingScalingPolicyConfiguration (PascalCase), as put/describe_scaling_policies use it."""
        if config.get("TargetValue") is None:
            raise ScalingPolicyError(policy_name, "TargetValue", "is missing")
        predefined = config.get("PredefinedMetricSpecification") or {}
        customized = config.get("CustomizedMetricSpecification")
        assert isinstance(predefined, Mapping)
        if bool(predefined) == bool(customized):
            raise ScalingPolicyError(policy_name, "PredefinedMetricSpecification",
                                     "give exactly one of PredefinedMetricSpecification and "
                                     "CustomizedMetricSpecification")
        return cls(
            target_value=float(config["TargetValue"]),  # type: ignore[arg-type]
            predefined_metric_type=predefined.get("PredefinedMetricType") if predefined else None,  # type: ignore[arg-type]
            resource_label=predefined.get("ResourceLabel") if predefined else None,  # type: ignore[arg-type]
            customized_metric=customized,  # type: ignore[arg-type]
            scale_out_cooldown_s=float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN_S)),  # type: ignore[arg-type]
            scale_in_cooldown_s=float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN_S)),  # type: ignore[arg-type]
            disable_scale_in=bool(config.get("DisableScaleIn", False)),
        )


def target_tracking_desired(current_capacity: int, metric_value: float | None, target_value: float, *,
                            min_capacity: int | None = None, max_capacity: int | None = None,
                            disable_scale_in: bool = False) -> int:
    """The capacity a target-tracking policy asks for: ceil(current x metric / target), clamped.

    AWS documents the behaviour, not the formula: scale out "proportionally to the metric as fast as it
    can", scale in "more gradually", "rounding up or down ... to prevent adding insufficient capacity or
    removing too much capacity", and no scale-in when removing capacity would push the metric above the
    target. Rounding the proportional capacity *up* in both directions does all of that: the predicted
    metric after the change, current x metric / new, never exceeds the target. The "scale in only when
    clearly below the target (usually more than 10 % lower)" part is the AlarmLow threshold at 90 % of
    the target (see `target_tracking_alarms`). Assumption: from zero tasks any positive metric above the
    target asks for one task. No metric value (insufficient data) means no change.

    Example::

        target_tracking_desired(2, 90.0, 50.0, min_capacity=1, max_capacity=10)   # 4
        target_tracking_desired(4, 20.0, 50.0, min_capacity=1, max_capacity=10)   # 2
    """
    if target_value <= 0:
        raise ScalingPolicyError("target tracking", "TargetValue", f"{target_value} must be positive")
    desired = current_capacity
    if metric_value is not None:
        if current_capacity == 0:
            desired = 1 if metric_value > target_value else 0
        else:
            desired = math.ceil(round(current_capacity * metric_value / target_value, 9))
    if disable_scale_in:
        desired = max(desired, current_capacity)
    if min_capacity is not None:
        desired = max(desired, min_capacity)
    if max_capacity is not None:
        desired = min(desired, max_capacity)
    return desired


def _tracking_metric(policy_name: str, resource_id: str, config: TargetTrackingConfig
                     ) -> tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]:
    """(namespace, metric, statistic, unit, dimensions) of the metric a target-tracking policy watches."""
    if config.predefined_metric_type:
        kind = config.predefined_metric_type
        if kind not in PREDEFINED_METRICS:
            raise ScalingPolicyError(policy_name, "PredefinedMetricType",
                                     f"{kind!r} is not an ECS metric; use one of {', '.join(PREDEFINED_METRICS)}")
        namespace, metric, statistic, unit = PREDEFINED_METRICS[kind]
        if kind == "ALBRequestCountPerTarget":
            label = config.resource_label or ""
            if "/targetgroup/" not in label:
                raise ScalingPolicyError(policy_name, "ResourceLabel",
                                         "ALBRequestCountPerTarget needs ResourceLabel "
                                         "app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>")
            return namespace, metric, statistic, unit, (("TargetGroup", "targetgroup/" + label.split("/targetgroup/", 1)[1]),)
        parts = resource_id.split("/")
        if len(parts) != 3 or parts[0] != "service":
            raise ScalingPolicyError(policy_name, "ResourceId",
                                     f"{resource_id!r} is not service/<cluster>/<service>")
        return namespace, metric, statistic, unit, (("ClusterName", parts[1]), ("ServiceName", parts[2]))
    custom = config.customized_metric or {}
    if custom.get("Metrics"):
        raise ScalingPolicyError(policy_name, "CustomizedMetricSpecification.Metrics",
                                 "metric math is not evaluated by ECS Dojo")
    for required in ("MetricName", "Namespace"):
        if not custom.get(required):
            raise ScalingPolicyError(policy_name, f"CustomizedMetricSpecification.{required}", "is missing")
    dimensions = tuple((str(d["Name"]), str(d["Value"])) for d in custom.get("Dimensions") or ())  # type: ignore[union-attr]
    return (str(custom["Namespace"]), str(custom["MetricName"]), str(custom.get("Statistic") or "Average"),
            custom.get("Unit") or None, dimensions)  # type: ignore[return-value]


def _policy_uuid(resource_id: str, policy_name: str, suffix: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ecsdojo:{resource_id}:{policy_name}:{suffix}"))


def target_tracking_alarms(policy_name: str, resource_id: str, config: TargetTrackingConfig, *,
                           policy_arn: str | None = None) -> tuple[AlarmSpec, AlarmSpec | None]:
    """The two alarms Application Auto Scaling creates for a target-tracking policy: (AlarmHigh, AlarmLow).

    AlarmHigh: metric > TargetValue for 3 datapoints of 60 s. AlarmLow: metric < 90 % of TargetValue for
    15 datapoints of 60 s (numbers as AWS creates them: e.g. TargetValue 70 gives AlarmLow threshold 63).
    With DisableScaleIn there is no AlarmLow (None). Names follow AWS's
    `TargetTracking-<resource id>-AlarmHigh-<uuid>`; the uuid is derived from the policy, so the builder
    is pure. Use `dataclasses.replace(spec, name=...)` to keep moto's alarm names.

    Example::

        high, low = target_tracking_alarms("cpu50", "service/demo/web", config)
        high.threshold, low.threshold, low.evaluation_periods     # 50.0, 45.0, 15
    """
    namespace, metric, statistic, unit, dimensions = _tracking_metric(policy_name, resource_id, config)
    arn = policy_arn or (f"arn:aws:autoscaling:{_REGION}:{_ACCOUNT}:scalingPolicy:"
                         f"{_policy_uuid(resource_id, policy_name, 'policy')}:resource/{ECS_NAMESPACE}/"
                         f"{resource_id}:policyName/{policy_name}")
    common = dict(namespace=namespace, metric_name=metric, statistic=statistic, unit=unit, dimensions=dimensions,
                  period=TRACKING_ALARM_PERIOD_S, treat_missing_data="missing",
                  description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}.",
                  alarm_actions=(arn,))
    high = AlarmSpec(name=f"TargetTracking-{resource_id}-AlarmHigh-{_policy_uuid(resource_id, policy_name, 'high')}",
                     evaluation_periods=HIGH_ALARM_PERIODS, threshold=float(config.target_value),
                     comparison_operator="GreaterThanThreshold", **common)  # type: ignore[arg-type]
    if config.disable_scale_in:
        return high, None
    low = AlarmSpec(name=f"TargetTracking-{resource_id}-AlarmLow-{_policy_uuid(resource_id, policy_name, 'low')}",
                    evaluation_periods=LOW_ALARM_PERIODS,
                    threshold=round(LOW_ALARM_FRACTION * float(config.target_value), 10),
                    comparison_operator="LessThanThreshold", **common)  # type: ignore[arg-type]
    return high, low


# --- step scaling ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepAdjustment:
    """One StepAdjustment: bounds are relative to the alarm threshold; None = -inf / +inf."""
    lower_bound: float | None
    upper_bound: float | None
    scaling_adjustment: int

    def contains(self, difference: float, *, above_threshold: bool) -> bool:
        """Above the threshold the lower bound is inclusive and the upper exclusive; below, the reverse."""
        low = -math.inf if self.lower_bound is None else self.lower_bound
        high = math.inf if self.upper_bound is None else self.upper_bound
        return low <= difference < high if above_threshold else low < difference <= high


@dataclass(frozen=True)
class StepScalingConfig:
    """StepScalingPolicyConfiguration (Cooldown defaults to 300 s, MetricAggregationType to Average)."""
    adjustment_type: str
    step_adjustments: tuple[StepAdjustment, ...]
    min_adjustment_magnitude: int | None = None
    cooldown_s: float = DEFAULT_COOLDOWN_S
    metric_aggregation_type: str = "Average"
    policy_name: str = "?"

    def __post_init__(self) -> None:
        if self.adjustment_type not in ADJUSTMENT_TYPES:
            raise ScalingPolicyError(self.policy_name, "AdjustmentType",
                                     f"{self.adjustment_type!r} is not one of {', '.join(ADJUSTMENT_TYPES)}")
        if not self.step_adjustments:
            raise ScalingPolicyError(self.policy_name, "StepAdjustments", "at least one step is needed")
        for step in self.step_adjustments:
            if step.lower_bound is None and step.upper_bound is None:
                raise ScalingPolicyError(self.policy_name, "StepAdjustments",
                                         "a step cannot have both bounds null")
            if (step.lower_bound is not None and step.upper_bound is not None
                    and step.upper_bound <= step.lower_bound):
                raise ScalingPolicyError(self.policy_name, "StepAdjustments",
                                         f"upper bound {step.upper_bound} must be greater than lower bound "
                                         f"{step.lower_bound}")
            if self.adjustment_type == "ExactCapacity" and step.scaling_adjustment < 0:
                raise ScalingPolicyError(self.policy_name, "ScalingAdjustment",
                                         "ExactCapacity needs a non-negative adjustment")
        if self.min_adjustment_magnitude is not None and self.adjustment_type != "PercentChangeInCapacity":
            raise ScalingPolicyError(self.policy_name, "MinAdjustmentMagnitude",
                                     "only applies to AdjustmentType PercentChangeInCapacity")

    @classmethod
    def from_api(cls, config: Mapping[str, object], *, policy_name: str = "?") -> StepScalingConfig:
        """From StepScalingPolicyConfiguration (PascalCase)."""
        steps = tuple(
            StepAdjustment(
                lower_bound=None if s.get("MetricIntervalLowerBound") is None else float(s["MetricIntervalLowerBound"]),
                upper_bound=None if s.get("MetricIntervalUpperBound") is None else float(s["MetricIntervalUpperBound"]),
                scaling_adjustment=int(s["ScalingAdjustment"]),
            )
            for s in config.get("StepAdjustments") or ()  # type: ignore[union-attr]
        )
        magnitude = config.get("MinAdjustmentMagnitude")
        return cls(
            adjustment_type=str(config.get("AdjustmentType") or ""),
            step_adjustments=steps,
            min_adjustment_magnitude=int(magnitude) if magnitude is not None else None,  # type: ignore[arg-type]
            cooldown_s=float(config.get("Cooldown", DEFAULT_COOLDOWN_S)),  # type: ignore[arg-type]
            metric_aggregation_type=str(config.get("MetricAggregationType") or "Average"),
            policy_name=policy_name,
        )

    def step_for(self, metric_value: float, alarm_threshold: float) -> StepAdjustment | None:
        """The step whose interval holds metric - threshold, or None."""
        difference = metric_value - alarm_threshold
        sides = (True, False) if difference == 0 else (difference > 0,)
        for above in sides:
            for step in self.step_adjustments:
                if step.contains(difference, above_threshold=above):
                    return step
        return None


def _percent_delta(current_capacity: int, percent: float) -> int:
    """PercentChangeInCapacity rounding as the User Guide gives it: > 1 rounded down, between 0 and 1
    rounded to 1, between 0 and -1 rounded to -1, < -1 rounded up (towards zero)."""
    raw = round(current_capacity * percent / 100.0, 9)
    if raw >= 1:
        return math.floor(raw)
    if raw > 0:
        return 1
    if raw == 0:
        return 0
    if raw > -1:
        return -1
    return math.ceil(raw)


def step_adjustment(current_capacity: int, metric_value: float, config: StepScalingConfig, *,
                    alarm_threshold: float, min_capacity: int | None = None,
                    max_capacity: int | None = None) -> int:
    """The capacity a step-scaling policy sets when its alarm fires with `metric_value`.

    The step is chosen by metric - threshold; no matching step means no change. ChangeInCapacity adds the
    adjustment, ExactCapacity sets it, PercentChangeInCapacity adds a rounded percentage of the current
    capacity and then at least MinAdjustmentMagnitude. The result is clamped to min/max.

    Example (the User Guide's): 10 tasks, threshold 50, steps +10 % on [10, 20) and +30 % on [20, inf)::

        step_adjustment(10, 60.0, config, alarm_threshold=50.0)   # 11
        step_adjustment(11, 70.0, config, alarm_threshold=50.0)   # 14 (30 % of 11 = 3.3 -> 3)
    """
    step = config.step_for(metric_value, alarm_threshold)
    desired = current_capacity
    if step is not None:
        if config.adjustment_type == "ExactCapacity":
            desired = step.scaling_adjustment
        elif config.adjustment_type == "ChangeInCapacity":
            desired = current_capacity + step.scaling_adjustment
        else:
            delta = _percent_delta(current_capacity, step.scaling_adjustment)
            magnitude = config.min_adjustment_magnitude
            if magnitude and step.scaling_adjustment != 0 and abs(delta) < magnitude:
                delta = magnitude if step.scaling_adjustment > 0 else -magnitude
            desired = current_capacity + delta
    desired = max(desired, 0)
    if min_capacity is not None:
        desired = max(desired, min_capacity)
    if max_capacity is not None:
        desired = min(desired, max_capacity)
    return desired


# --- cooldowns ---------------------------------------------------------------------------------------------

@dataclass
class _ScaleOut:
    at: float
    base_capacity: int
    new_capacity: int
    cooldown_s: float


class CooldownTracker:
    """Cooldown state of one scalable target, following the Application Auto Scaling docs:

    * Scale-out cooldown: after a scale-out, the policy "won't increase the desired capacity again unless
      either a larger scale out is triggered or the cooldown period ends", and "the capacity added by the
      initiating scale-out activity is calculated as part of the desired capacity for the next scale-out".
      So during it, proposals are computed from `base_capacity()` (the capacity before that scale-out) and
      only one larger than the capacity it set goes through. Assumption: a further scale-out inside the
      cooldown restarts the timer and keeps the original base.
    * Scale-in cooldown: "after a scale-in activity completes before another scale-in activity can start"
      (API reference, ScaleInCooldown). A scale-out during it happens at once and ends it.
    * Cooldowns apply to policy-driven activities only; scheduled actions ignore them.

    Times are datetimes or seconds (any clock, e.g. a compressed one); durations are seconds.

    Example::

        cooldowns = CooldownTracker()
        cooldowns.record(now=1000.0, old_capacity=2, new_capacity=4, cooldown_s=300)
        cooldowns.base_capacity(4, now=1060.0)         # 2: the scale-out in progress counts
    """

    def __init__(self) -> None:
        self._scale_out: _ScaleOut | None = None
        self._scale_in_at: float | None = None

    def in_scale_out_cooldown(self, now: datetime | float, cooldown_s: float | None = None) -> bool:
        if self._scale_out is None:
            return False
        span = self._scale_out.cooldown_s if cooldown_s is None else cooldown_s
        return _seconds(now) - self._scale_out.at < span

    def in_scale_in_cooldown(self, now: datetime | float, cooldown_s: float) -> bool:
        return self._scale_in_at is not None and _seconds(now) - self._scale_in_at < cooldown_s

    def base_capacity(self, current_capacity: int, *, now: datetime | float,
                      cooldown_s: float | None = None) -> int:
        """The capacity scale-out proposals start from: before the in-progress scale-out, else current."""
        if self.in_scale_out_cooldown(now, cooldown_s):
            assert self._scale_out is not None
            return self._scale_out.base_capacity
        return current_capacity

    @property
    def last_scale_out_capacity(self) -> int | None:
        return self._scale_out.new_capacity if self._scale_out else None

    def record(self, *, now: datetime | float, old_capacity: int, new_capacity: int,
               cooldown_s: float = DEFAULT_COOLDOWN_S) -> None:
        """Note a policy-driven scaling activity that was carried out."""
        moment = _seconds(now)
        if new_capacity > old_capacity:
            base = old_capacity
            if self._scale_out is not None and moment - self._scale_out.at < self._scale_out.cooldown_s:
                base = self._scale_out.base_capacity
            self._scale_out = _ScaleOut(moment, base, new_capacity, cooldown_s)
            self._scale_in_at = None           # a scale-out ends the scale-in cooldown
        elif new_capacity < old_capacity:
            self._scale_in_at = moment
            self._scale_out = None


# --- proposals, combining, deciding ------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyProposal:
    """What one policy asks for now. `desired` None: the policy has no opinion (its alarm is not in ALARM)."""
    policy_name: str
    desired: int | None
    policy_type: str = TARGET_TRACKING
    alarm_name: str = ""
    scale_in_enabled: bool = True
    scale_out_cooldown_s: float = DEFAULT_COOLDOWN_S
    scale_in_cooldown_s: float = DEFAULT_COOLDOWN_S

    @property
    def cause(self) -> str:
        """The scaling activity's Cause, in AWS's words."""
        return f"monitor alarm {self.alarm_name} in state ALARM triggered policy {self.policy_name}"


def target_tracking_proposal(policy_name: str, config: TargetTrackingConfig, *, high_state: str,
                             low_state: str | None, metric_value: float | None, current_capacity: int,
                             now: datetime | float | None = None, cooldowns: CooldownTracker | None = None,
                             high_alarm_name: str = "", low_alarm_name: str = "") -> PolicyProposal:
    """A target-tracking policy's proposal from the states of its two alarms.

    AlarmHigh in ALARM: scale out to ceil(base x metric / target), base being the capacity before a
    scale-out still in cooldown. AlarmLow in ALARM (and scale-in enabled): scale in to
    ceil(current x metric / target). Anything else (OK, INSUFFICIENT_DATA, no metric): no proposal.
    """
    def proposal(desired: int | None, alarm: str) -> PolicyProposal:
        return PolicyProposal(policy_name, desired, TARGET_TRACKING, alarm, not config.disable_scale_in,
                              config.scale_out_cooldown_s, config.scale_in_cooldown_s)

    if metric_value is None:
        return proposal(None, "")
    if high_state == ALARM:
        base = current_capacity
        if cooldowns is not None and now is not None:
            base = cooldowns.base_capacity(current_capacity, now=now, cooldown_s=config.scale_out_cooldown_s)
        desired = target_tracking_desired(base, metric_value, config.target_value, disable_scale_in=True)
        return proposal(desired if desired > current_capacity else None, high_alarm_name)
    if low_state == ALARM and not config.disable_scale_in:
        desired = target_tracking_desired(current_capacity, metric_value, config.target_value)
        return proposal(desired if desired < current_capacity else None, low_alarm_name)
    return proposal(None, "")


def step_scaling_proposal(policy_name: str, config: StepScalingConfig, *, alarm_state: str, alarm_name: str,
                          alarm_threshold: float, metric_value: float | None, current_capacity: int,
                          now: datetime | float | None = None,
                          cooldowns: CooldownTracker | None = None) -> PolicyProposal:
    """A step-scaling policy's proposal when its alarm is in ALARM (else no proposal).

    During a scale-out cooldown the step is applied to the capacity before the scale-out in progress (the
    User Guide's example: +2 done, then a +3 step adds only 1).
    """
    def proposal(desired: int | None) -> PolicyProposal:
        return PolicyProposal(policy_name, desired, STEP_SCALING, alarm_name, True, config.cooldown_s,
                              config.cooldown_s)

    if alarm_state != ALARM or metric_value is None:
        return proposal(None)
    desired = step_adjustment(current_capacity, metric_value, config, alarm_threshold=alarm_threshold)
    if desired > current_capacity and cooldowns is not None and now is not None:
        base = cooldowns.base_capacity(current_capacity, now=now, cooldown_s=config.cooldown_s)
        if base != current_capacity:
            desired = step_adjustment(base, metric_value, config, alarm_threshold=alarm_threshold)
    return proposal(desired if desired != current_capacity else None)


def combine_proposals(current_capacity: int, proposals: Sequence[PolicyProposal]) -> PolicyProposal | None:
    """The proposal Application Auto Scaling acts on when several policies speak at once.

    Scale out if any policy asks to; scale in only if every target-tracking policy with scale-in enabled
    asks to (a step policy's scale-in is not blocked by them, as the User Guide warns). Among the
    candidates the one giving the largest capacity wins, for scale out and for scale in alike.
    """
    asking = [p for p in proposals if p.desired is not None]
    outs = [p for p in asking if p.desired > current_capacity]  # type: ignore[operator]
    if outs:
        return max(outs, key=lambda p: p.desired)  # type: ignore[arg-type,return-value]
    candidates: list[PolicyProposal] = []
    voters = [p for p in proposals if p.policy_type == TARGET_TRACKING and p.scale_in_enabled]
    tracking_ins = [p for p in voters if p.desired is not None and p.desired < current_capacity]
    if voters and len(tracking_ins) == len(voters):
        candidates += tracking_ins
    candidates += [p for p in asking if p.policy_type == STEP_SCALING and p.desired < current_capacity]  # type: ignore[operator]
    if candidates:
        return max(candidates, key=lambda p: p.desired)  # type: ignore[arg-type,return-value]
    return None


@dataclass(frozen=True)
class ScalingDecision:
    """What to do with desiredCount now, and why."""
    resource_id: str
    current_capacity: int
    new_capacity: int
    proposal: PolicyProposal | None
    explanation: str
    blocked_by: str | None = None          # "cooldown" | "deployment" | "suspended"
    not_scaled_code: str | None = None     # AlreadyAtMaxCapacity | AlreadyAtMinCapacity | AlreadyAtDesiredCapacity
    min_capacity: int = 0
    max_capacity: int = 0

    @property
    def changed(self) -> bool:
        return self.new_capacity != self.current_capacity

    @property
    def direction(self) -> str | None:
        if self.new_capacity > self.current_capacity:
            return "out"
        if self.new_capacity < self.current_capacity:
            return "in"
        return None

    def activity(self, *, now: datetime | float, activity_id: str | None = None) -> ScalingActivity | None:
        """The ScalingActivity to record: a successful change, a not-scaled one, or None."""
        if self.changed and self.proposal is not None:
            return ScalingActivity.desired_count_set(self.resource_id, self.new_capacity, self.proposal.cause,
                                                     start=now, activity_id=activity_id)
        if self.not_scaled_code and self.proposal is not None:
            return ScalingActivity.not_scaled(self.resource_id, self.proposal.cause, self.not_scaled_code,
                                              start=now, current_capacity=self.current_capacity,
                                              min_capacity=self.min_capacity, max_capacity=self.max_capacity,
                                              activity_id=activity_id)
        return None


def decide_scaling(target: ScalableTarget, current_capacity: int, proposals: Sequence[PolicyProposal], *,
                   now: datetime | float, cooldowns: CooldownTracker | None = None,
                   deployment_in_progress: bool = False) -> ScalingDecision:
    """Combine the policies' proposals and apply limits, suspensions, the deployment hold and cooldowns.

    Scale-in is held while an ECS deployment is in progress ("Application Auto Scaling turns off scale-in
    processes while Amazon ECS deployments are in progress"); scale-out goes on. This does not change
    `cooldowns`: call `cooldowns.record(...)` once the new desired count has been written.

    Example::

        decision = decide_scaling(target, 4, proposals, now=now, cooldowns=cooldowns,
                                  deployment_in_progress=False)
        if decision.changed:
            ecs.update_service(..., desiredCount=decision.new_capacity)
            cooldowns.record(now=now, old_capacity=4, new_capacity=decision.new_capacity,
                             cooldown_s=decision.proposal.scale_out_cooldown_s)
    """
    def decision(new: int, explanation: str, winner: PolicyProposal | None = None, blocked: str | None = None,
                 code: str | None = None) -> ScalingDecision:
        return ScalingDecision(target.resource_id, current_capacity, new, winner, explanation, blocked, code,
                               target.min_capacity, target.max_capacity)

    winner = combine_proposals(current_capacity, proposals)
    if winner is None or winner.desired is None:
        return decision(current_capacity, "no policy asks to scale")
    if winner.desired > current_capacity:
        desired = min(winner.desired, target.max_capacity)
        if desired <= current_capacity:
            return decision(current_capacity, f"{winner.policy_name} asks for {winner.desired} but the maximum "
                                              f"capacity is {target.max_capacity}", winner,
                            code="AlreadyAtMaxCapacity")
        if target.dynamic_scaling_out_suspended:
            return decision(current_capacity, "dynamic scale-out is suspended on the scalable target", winner,
                            blocked="suspended")
        if (cooldowns is not None and cooldowns.in_scale_out_cooldown(now, winner.scale_out_cooldown_s)
                and desired <= (cooldowns.last_scale_out_capacity or 0)):
            return decision(current_capacity, "scale-out cooldown: not larger than the scale-out in progress",
                            winner, blocked="cooldown")
        return decision(desired, f"{winner.policy_name} scales out from {current_capacity} to {desired}", winner)
    desired = max(winner.desired, target.min_capacity)
    if desired >= current_capacity:
        return decision(current_capacity, f"{winner.policy_name} asks for {winner.desired} but the minimum "
                                          f"capacity is {target.min_capacity}", winner,
                        code="AlreadyAtMinCapacity")
    if target.dynamic_scaling_in_suspended:
        return decision(current_capacity, "dynamic scale-in is suspended on the scalable target", winner,
                        blocked="suspended")
    if deployment_in_progress:
        return decision(current_capacity, "scale-in is held while a deployment is in progress", winner,
                        blocked="deployment")
    if cooldowns is not None and cooldowns.in_scale_in_cooldown(now, winner.scale_in_cooldown_s):
        return decision(current_capacity, "scale-in cooldown after the previous scale-in", winner,
                        blocked="cooldown")
    return decision(desired, f"{winner.policy_name} scales in from {current_capacity} to {desired}", winner)


# --- scaling activities ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScalingActivity:
    """One entry of describe_scaling_activities (which moto does not implement)."""
    activity_id: str
    resource_id: str
    description: str
    cause: str
    start_time: datetime
    status_code: str = "Successful"
    status_message: str = ""
    end_time: datetime | None = None
    service_namespace: str = ECS_NAMESPACE
    scalable_dimension: str = ECS_SCALABLE_DIMENSION
    details: str | None = None
    not_scaled_reasons: tuple[Mapping[str, object], ...] = ()

    def to_api(self) -> dict[str, object]:
        """PascalCase, as describe_scaling_activities returns it."""
        api: dict[str, object] = {
            "ActivityId": self.activity_id, "ServiceNamespace": self.service_namespace,
            "ResourceId": self.resource_id, "ScalableDimension": self.scalable_dimension,
            "Description": self.description, "Cause": self.cause, "StartTime": self.start_time,
        }
        if self.end_time is not None:
            api["EndTime"] = self.end_time
        api["StatusCode"] = self.status_code
        if self.status_message:
            api["StatusMessage"] = self.status_message
        if self.details:
            api["Details"] = self.details
        if self.not_scaled_reasons:
            api["NotScaledReasons"] = [dict(r) for r in self.not_scaled_reasons]
        return api

    @classmethod
    def desired_count_set(cls, resource_id: str, desired: int, cause: str, *, start: datetime | float,
                          end: datetime | float | None = None, activity_id: str | None = None) -> ScalingActivity:
        """'Setting desired count to 4.' / 'Successfully set desired count to 4. Change successfully
        fulfilled by ecs.' (wording from the AWS CLI and User Guide examples)."""
        return cls(activity_id or str(uuid.uuid4()), resource_id, f"Setting desired count to {desired}.", cause,
                   _utc(start), "Successful",
                   f"Successfully set desired count to {desired}. Change successfully fulfilled by ecs.",
                   _utc(end if end is not None else start))

    @classmethod
    def capacity_limits_set(cls, resource_id: str, action_name: str, *, min_capacity: int | None,
                            max_capacity: int | None, start: datetime | float,
                            activity_id: str | None = None) -> ScalingActivity:
        """A scheduled action setting min/max: 'Setting min capacity to 5 and max capacity to 10'."""
        parts = []
        if min_capacity is not None:
            parts.append(f"min capacity to {min_capacity}")
        if max_capacity is not None:
            parts.append(f"max capacity to {max_capacity}")
        what = " and ".join(parts)
        return cls(activity_id or str(uuid.uuid4()), resource_id, f"Setting {what}",
                   f"scheduled action name {action_name} was triggered", _utc(start), "Successful",
                   f"Successfully set {what}")

    @classmethod
    def not_scaled(cls, resource_id: str, cause: str, code: str, *, start: datetime | float,
                   current_capacity: int | None = None, min_capacity: int | None = None,
                   max_capacity: int | None = None, activity_id: str | None = None) -> ScalingActivity:
        """A 'not scaled' activity (--include-not-scaled-activities), e.g. Code AlreadyAtMaxCapacity."""
        reason: dict[str, object] = {"Code": code}
        if code == "AlreadyAtMaxCapacity" and max_capacity is not None:
            reason["MaxCapacity"] = max_capacity
        elif code == "AlreadyAtMinCapacity" and min_capacity is not None:
            reason["MinCapacity"] = min_capacity
        elif current_capacity is not None:
            reason["CurrentCapacity"] = current_capacity
        return cls(activity_id or str(uuid.uuid4()), resource_id, "Attempting to scale due to alarm triggered",
                   cause, _utc(start), "Failed", not_scaled_reasons=(reason,))


# --- scheduled scaling -------------------------------------------------------------------------------------

_MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_MAX_LOOKBACK = timedelta(days=400)


def _parse_values(text: str, low: int, high: int, names: Mapping[str, int], action: str, field_name: str) -> frozenset[int]:
    """A cron field made of `*`, numbers or names, `a-b` ranges, `/step` increments and `,` lists."""
    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduledActionError(action, field_name, f"{token!r} is not a value between {low} and {high}")
        value = int(token)
        if not low <= value <= high:
            raise ScheduledActionError(action, field_name, f"{value} is outside {low}-{high}")
        return value

    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduledActionError(action, field_name, f"bad increment {step_text!r}")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            first, last = number(start_text), number(end_text)
            if last < first:
                raise ScheduledActionError(action, field_name, f"range {base!r} runs backwards")
        else:
            first = number(base)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    """An Application Auto Scaling cron expression: six fields, `Minutes Hours Day-of-month Month
    Day-of-week Year` (EventBridge syntax: day-of-week 1-7 = SUN-SAT).

    Supported: `*`, `?` (in exactly one of the two day fields), numbers, `JAN-DEC` / `SUN-SAT` names,
    ranges `a-b`, increments `a/n` and `*/n`, lists `a,b`, `L` (last day of the month) in day-of-month,
    `n#k` (k-th weekday n of the month) and `nL` (last weekday n of the month) in day-of-week. Not
    supported (clear error): `W`, `LW`, `L-n`, the optional seventh (seconds) field.
    """
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None        # None: '?'
    last_day_of_month: bool
    months: frozenset[int]
    days_of_week: frozenset[int] | None         # None: '?'
    nth_weekdays: frozenset[tuple[int, int]]    # (weekday 1-7, k), k = -1 for the last one
    years: frozenset[int]

    @classmethod
    def parse(cls, text: str, *, action: str = "?") -> CronExpression:
        fields = text.split()
        if len(fields) != 6:
            raise ScheduledActionError(action, "Schedule",
                                       f"cron({text}) needs 6 fields: Minutes Hours Day-of-month Month "
                                       f"Day-of-week Year (got {len(fields)})")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduledActionError(action, "Schedule",
                                       "use ? in exactly one of Day-of-month and Day-of-week")
        last_day = False
        days_of_month = None
        if dom != "?":
            items = dom.split(",")
            if any(re.fullmatch(r"\d*W|LW|L-\d+", item) for item in items):
                raise ScheduledActionError(action, "Schedule", f"day-of-month {dom!r}: W and L-n are not supported")
            last_day = "L" in items
            rest = ",".join(item for item in items if item != "L")
            days_of_month = _parse_values(rest, 1, 31, {}, action, "Schedule (day-of-month)") if rest else frozenset()
        days_of_week = None
        nth: set[tuple[int, int]] = set()
        if dow != "?":
            plain = []
            for item in dow.split(","):
                match = re.fullmatch(r"(\w+)#([1-5])", item)
                last = re.fullmatch(r"(\w+)L", item)
                if match:
                    weekday = _parse_values(match.group(1), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                    nth.update((w, int(match.group(2))) for w in weekday)
                elif last and item != "L":
                    weekday = _parse_values(last.group(1), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                    nth.update((w, -1) for w in weekday)
                elif item == "L":
                    raise ScheduledActionError(action, "Schedule", "day-of-week L alone is not supported; use 7 or SAT")
                else:
                    plain.append(item)
            days_of_week = (_parse_values(",".join(plain), 1, 7, _DAYS, action, "Schedule (day-of-week)")
                            if plain else frozenset())
        return cls(
            minutes=_parse_values(minute, 0, 59, {}, action, "Schedule (minutes)"),
            hours=_parse_values(hour, 0, 23, {}, action, "Schedule (hours)"),
            days_of_month=days_of_month,
            last_day_of_month=last_day,
            months=_parse_values(month, 1, 12, _MONTHS, action, "Schedule (month)"),
            days_of_week=days_of_week,
            nth_weekdays=frozenset(nth),
            years=_parse_values(year, 1970, 2199, {}, action, "Schedule (year)"),
        )

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day in self.days_of_month or (self.last_day_of_month and day.day == last)
        weekday = (day.weekday() + 1) % 7 + 1          # Python Monday=0 -> cron SUN=1 .. SAT=7
        if self.days_of_week and weekday in self.days_of_week:
            return True
        for wanted, k in self.nth_weekdays:
            if wanted != weekday:
                continue
            if k == -1 and day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
                return True
            if k > 0 and (day.day - 1) // 7 + 1 == k:
                return True
        return False

    def latest_between(self, after: datetime, until: datetime, zone: ZoneInfo) -> datetime | None:
        """The latest firing time t (UTC) with after < t <= until, or None. Looks back at most 400 days."""
        after = max(after, until - _MAX_LOOKBACK)
        first_day = after.astimezone(zone).date()
        day = until.astimezone(zone).date()
        while day >= first_day:
            if self.matches_day(day):
                for hour in sorted(self.hours, reverse=True):
                    for minute in sorted(self.minutes, reverse=True):
                        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        moment = moment.astimezone(timezone.utc)
                        if after < moment <= until:
                            return moment
            day -= timedelta(days=1)
        return None


_RATE = re.compile(r"^(\d+)\s+(minute|minutes|hour|hours|day|days)$")
_AT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduledAction:
    """A scheduled action (PutScheduledAction / DescribeScheduledActions). Schedule is `at(...)`,
    `rate(...)` or `cron(...)`; at and cron are read in `timezone` (UTC by default); StartTime/EndTime
    are UTC."""
    name: str
    schedule: str
    min_capacity: int | None = None
    max_capacity: int | None = None
    timezone: str = "UTC"
    start_time: datetime | None = None
    end_time: datetime | None = None
    creation_time: datetime | None = None
    resource_id: str = ""

    def __post_init__(self) -> None:
        self._kind()   # validates the expression
        self.zone()
        if self.min_capacity is None and self.max_capacity is None:
            raise ScheduledActionError(self.name, "ScalableTargetAction", "set MinCapacity, MaxCapacity or both")
        if (self.min_capacity is not None and self.max_capacity is not None
                and self.min_capacity > self.max_capacity):
            raise ScheduledActionError(self.name, "ScalableTargetAction",
                                       f"MinCapacity {self.min_capacity} > MaxCapacity {self.max_capacity}")

    @classmethod
    def from_api(cls, action: Mapping[str, object]) -> ScheduledAction:
        """From one `ScheduledActions` entry of describe_scheduled_actions."""
        target_action = action.get("ScalableTargetAction") or {}
        assert isinstance(target_action, Mapping)

        def moment(key: str) -> datetime | None:
            value = action.get(key)
            return _utc(value) if isinstance(value, (datetime, int, float)) else None

        return cls(
            name=str(action.get("ScheduledActionName", "?")),
            schedule=str(action.get("Schedule", "")),
            min_capacity=target_action.get("MinCapacity"),  # type: ignore[arg-type]
            max_capacity=target_action.get("MaxCapacity"),  # type: ignore[arg-type]
            timezone=str(action.get("Timezone") or "UTC"),
            start_time=moment("StartTime"), end_time=moment("EndTime"), creation_time=moment("CreationTime"),
            resource_id=str(action.get("ResourceId") or ""),
        )

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ScheduledActionError(self.name, "Timezone", f"{self.timezone!r} is not an IANA time zone") from error

    def _kind(self) -> tuple[str, object]:
        match = re.fullmatch(r"\s*(at|rate|cron)\((.*)\)\s*", self.schedule)
        if not match:
            raise ScheduledActionError(self.name, "Schedule",
                                       f"{self.schedule!r} is not at(...), rate(...) or cron(...)")
        kind, body = match.group(1), match.group(2).strip()
        if kind == "at":
            at = _AT.match(body)
            if not at:
                raise ScheduledActionError(self.name, "Schedule", f"at({body}) is not at(yyyy-mm-ddThh:mm:ss)")
            return kind, datetime(*map(int, at.groups()))  # type: ignore[misc]
        if kind == "rate":
            rate = _RATE.match(body)
            if not rate or int(rate.group(1)) < 1:
                raise ScheduledActionError(self.name, "Schedule",
                                           f"rate({body}) is not rate(<positive integer> minute(s)|hour(s)|day(s))")
            return kind, int(rate.group(1)) * _UNIT_S[rate.group(2).rstrip("s")]
        return kind, CronExpression.parse(body, action=self.name)

    def latest_run(self, after: datetime, until: datetime) -> datetime | None:
        """The latest time t (UTC) in (after, until] at which this action runs, or None."""
        kind, spec = self._kind()
        zone = self.zone()
        candidates: list[datetime] = []
        if kind == "at":
            assert isinstance(spec, datetime)
            candidates.append(spec.replace(tzinfo=zone).astimezone(timezone.utc))
        else:
            lower = after
            if self.start_time is not None:
                lower = max(lower, self.start_time - timedelta(microseconds=1))
                candidates.append(self.start_time)            # "performs the action at this time" first
            upper = min(until, self.end_time) if self.end_time is not None else until
            if kind == "rate":
                assert isinstance(spec, int)
                anchor = self.start_time or self.creation_time or datetime(1970, 1, 1, tzinfo=timezone.utc)
                elapsed = (upper - anchor).total_seconds()
                if elapsed >= 0:
                    k = math.floor(elapsed / spec)
                    if k >= 1 or self.start_time is not None:
                        candidates.append(anchor + timedelta(seconds=k * spec))
            elif upper > lower:
                assert isinstance(spec, CronExpression)
                found = spec.latest_between(lower, upper, zone)
                if found is not None:
                    candidates.append(found)
        fitting = [t for t in candidates
                   if after < t <= until
                   and (self.start_time is None or kind == "at" or t >= self.start_time)
                   and (self.end_time is None or kind == "at" or t <= self.end_time)]
        return max(fitting) if fitting else None


@dataclass(frozen=True)
class ScheduledActionRun:
    """A scheduled action that is due: set these limits (None keeps the current one)."""
    action_name: str
    run_time: datetime
    min_capacity: int | None
    max_capacity: int | None


def due_scheduled_actions(actions: Sequence[ScheduledAction], *, now: datetime | float,
                          last_run: datetime | float | Mapping[str, datetime | float] | None
                          ) -> list[ScheduledActionRun]:
    """The scheduled actions that ran in (last_run, now], oldest first (AWS runs a target's actions in
    order). Several missed runs of one action count once (they set the same limits).

    `last_run` is the previous check (one time for all, or per action name). Without it an action is
    checked from its CreationTime; an `at()` without either is due once its time has passed.

    Example::

        due_scheduled_actions([ScheduledAction("night", "cron(0 22 * * ? *)", max_capacity=1)],
                              now=datetime(2026, 11, 26, 22, 0, 30, tzinfo=timezone.utc),
                              last_run=datetime(2026, 11, 26, 21, 59, 50, tzinfo=timezone.utc))
        # [ScheduledActionRun('night', 2026-11-26 22:00 UTC, None, 1)]
    """
    until = _utc(now)
    runs: list[tuple[datetime, int, ScheduledActionRun]] = []
    for index, action in enumerate(actions):
        if isinstance(last_run, Mapping):
            previous = last_run.get(action.name)
        else:
            previous = last_run
        if previous is not None:
            after = _utc(previous)
        elif action.creation_time is not None:
            after = action.creation_time - timedelta(microseconds=1)
        elif action.schedule.strip().startswith("at("):
            after = datetime(1970, 1, 1, tzinfo=timezone.utc)
        else:
            continue
        moment = action.latest_run(after, until)
        if moment is not None:
            runs.append((moment, index, ScheduledActionRun(action.name, moment, action.min_capacity,
                                                           action.max_capacity)))
    return [run for _, _, run in sorted(runs, key=lambda item: (item[0], item[1]))]


@dataclass(frozen=True)
class ScheduledScalingOutcome:
    """The scalable target and desired count after a scheduled action, with the activities it causes."""
    target: ScalableTarget
    desired: int
    activities: tuple[ScalingActivity, ...] = field(default_factory=tuple)


def apply_scheduled_run(target: ScalableTarget, current_capacity: int, run: ScheduledActionRun, *,
                        now: datetime | float | None = None) -> ScheduledScalingOutcome:
    """Apply a due scheduled action: set MinCapacity/MaxCapacity, then move the desired count inside them
    ("If current capacity is less than the specified minimum capacity, Application Auto Scaling scales
    out to the minimum; if greater than the maximum, it scales in to the maximum"). Cooldowns do not
    apply. Nothing happens while scheduled scaling is suspended.
    """
    if target.scheduled_scaling_suspended:
        return ScheduledScalingOutcome(target, current_capacity)
    moment = run.run_time if now is None else _utc(now)
    new_min = target.min_capacity if run.min_capacity is None else run.min_capacity
    new_max = target.max_capacity if run.max_capacity is None else run.max_capacity
    if new_min > new_max:
        raise ScheduledActionError(run.action_name, "ScalableTargetAction",
                                   f"MinCapacity {new_min} would exceed MaxCapacity {new_max}")
    new_target = replace(target, min_capacity=new_min, max_capacity=new_max)
    activities = [ScalingActivity.capacity_limits_set(target.resource_id, run.action_name,
                                                      min_capacity=run.min_capacity,
                                                      max_capacity=run.max_capacity, start=moment)]
    desired = new_target.clamp(current_capacity)
    if desired > current_capacity:
        activities.append(ScalingActivity.desired_count_set(target.resource_id, desired,
                                                            f"minimum capacity was set to {new_min}", start=moment))
    elif desired < current_capacity:
        activities.append(ScalingActivity.desired_count_set(target.resource_id, desired,
                                                            f"maximum capacity was set to {new_max}", start=moment))
    return ScheduledScalingOutcome(new_target, desired, tuple(activities))
