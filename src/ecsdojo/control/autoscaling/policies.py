"""Application Auto Scaling policies for ECS services: scalable targets, target tracking and step scaling, as
pure functions and plain dataclasses (time is always passed in, so a compressed clock works).

Example::

    config = TargetTrackingConfig.from_api({"TargetValue": 50.0, "PredefinedMetricSpecification":
                                            {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    target_tracking_desired(2, 90.0, 50.0)      # 4

Sources: the Application Auto Scaling User Guide and API reference (target tracking, step scaling).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ecsdojo.control.autoscaling.alarms import AlarmSpec
from ecsdojo.timeline import epoch_seconds

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



def _utc(moment: datetime | float) -> datetime:
    """An aware UTC datetime of a datetime (naive ones are UTC) or of epoch seconds."""
    return datetime.fromtimestamp(epoch_seconds(moment), tz=timezone.utc)


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


