"""A CloudWatch metric alarm's definition as the local evaluator uses it: `AlarmSpec` (the fields of
PutMetricAlarm that decide the state, checked on construction), read from and written to moto's
describe_alarms / put_metric_alarm shapes, and the errors that name the alarm and the field.

Evaluation (datapoints in, state and reason out) is `alarms.evaluate_alarm`; see that module's docstring
for the CloudWatch rules it follows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ALARM",
    "OK",
    "INSUFFICIENT_DATA",
    "STATES",
    "STATISTICS",
    "TREAT_MISSING_DATA",
    "AlarmSpec",
    "AlarmSpecError",
    "UnsupportedComparisonOperatorError",
    "UnsupportedStatisticError",
]

ALARM = "ALARM"
OK = "OK"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
TREAT_MISSING_DATA = ("missing", "notBreaching", "breaching", "ignore")

# operator -> (test, words used in StateReason)
_COMPARISONS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
# Valid in PutMetricAlarm, but they compare against an anomaly-detection band we do not model.
_BAND_COMPARISONS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold",
                     "GreaterThanUpperThreshold")
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100(\.0+)?)$")

class AlarmSpecError(ValueError):
    """An alarm definition the local evaluator cannot use; names the alarm and the field."""

    def __init__(self, alarm: str, field_name: str, problem: str) -> None:
        super().__init__(f"alarm {alarm!r}, field {field_name}: {problem}")
        self.alarm = alarm
        self.field = field_name


class UnsupportedComparisonOperatorError(AlarmSpecError):
    """The comparison needs an anomaly-detection band, which the local CloudWatch does not model."""

    def __init__(self, alarm: str, operator: str) -> None:
        super().__init__(alarm, "ComparisonOperator",
                         f"{operator} compares against an anomaly-detection band, which ECS Dojo does not "
                         f"model; use one of {', '.join(_COMPARISONS)}")


class UnsupportedStatisticError(AlarmSpecError):
    """Only the five standard statistics and pNN percentiles are evaluated locally."""

    def __init__(self, alarm: str, field_name: str, value: object) -> None:
        super().__init__(alarm, field_name,
                         f"{value!r} is not supported; use one of {', '.join(STATISTICS)} "
                         f"or a percentile such as p90 / p99.9")


@dataclass(frozen=True)
class AlarmSpec:
    """The fields of PutMetricAlarm that decide an alarm's state (single-metric alarms only)."""
    name: str
    namespace: str
    metric_name: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str | None = "Average"
    extended_statistic: str | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    dimensions: tuple[tuple[str, str], ...] = ()
    unit: str | None = None
    evaluate_low_sample_count_percentile: str | None = None
    description: str = ""
    alarm_actions: tuple[str, ...] = ()
    evaluation_range: int | None = None   # periods retrieved; None = evaluation_periods + 2

    def __post_init__(self) -> None:
        name = self.name
        if self.comparison_operator in _BAND_COMPARISONS:
            raise UnsupportedComparisonOperatorError(name, self.comparison_operator)
        if self.comparison_operator not in _COMPARISONS:
            raise AlarmSpecError(name, "ComparisonOperator",
                                 f"{self.comparison_operator!r} is not one of {', '.join(_COMPARISONS)}")
        if (self.statistic is None) == (self.extended_statistic is None):
            raise AlarmSpecError(name, "Statistic", "give exactly one of Statistic and ExtendedStatistic")
        if self.statistic is not None and self.statistic not in STATISTICS:
            raise UnsupportedStatisticError(name, "Statistic", self.statistic)
        if self.extended_statistic is not None and not _PERCENTILE.match(self.extended_statistic):
            raise UnsupportedStatisticError(name, "ExtendedStatistic", self.extended_statistic)
        if not isinstance(self.period, int) or self.period <= 0:
            raise AlarmSpecError(name, "Period", f"{self.period!r} must be a positive number of seconds")
        if not isinstance(self.evaluation_periods, int) or self.evaluation_periods < 1:
            raise AlarmSpecError(name, "EvaluationPeriods", f"{self.evaluation_periods!r} must be >= 1")
        m = self.datapoints_to_alarm
        if m is not None and (not isinstance(m, int) or not 1 <= m <= self.evaluation_periods):
            raise AlarmSpecError(name, "DatapointsToAlarm",
                                 f"{m!r} must be between 1 and EvaluationPeriods ({self.evaluation_periods})")
        if self.treat_missing_data not in TREAT_MISSING_DATA:
            raise AlarmSpecError(name, "TreatMissingData",
                                 f"{self.treat_missing_data!r} is not one of {', '.join(TREAT_MISSING_DATA)}")
        if self.evaluation_range is not None and self.evaluation_range < self.evaluation_periods:
            raise AlarmSpecError(name, "evaluation_range", "must be >= EvaluationPeriods")

    @property
    def datapoints_needed(self) -> int:
        """M of "M out of N": DatapointsToAlarm, which defaults to EvaluationPeriods."""
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def range_periods(self) -> int:
        return self.evaluation_range or self.evaluation_periods + 2

    @property
    def statistic_name(self) -> str:
        return self.statistic or self.extended_statistic or ""

    def breaches(self, value: float) -> bool:
        """Whether one aggregated value is on the ALARM side of the threshold."""
        return _COMPARISONS[self.comparison_operator][0](value, self.threshold)

    @classmethod
    def from_moto(cls, alarm: Mapping[str, object]) -> AlarmSpec:
        """From one `MetricAlarms` entry of describe_alarms (PascalCase keys), as moto returns it.

        Example::

            AlarmSpec.from_moto(cloudwatch.describe_alarms()["MetricAlarms"][0])
        """
        name = str(alarm.get("AlarmName", "?"))
        if alarm.get("Metrics"):
            raise AlarmSpecError(name, "Metrics", "metric-math alarms are not evaluated by ECS Dojo")
        for required in ("MetricName", "Period", "EvaluationPeriods", "Threshold", "ComparisonOperator"):
            if alarm.get(required) is None:
                raise AlarmSpecError(name, required, "is missing")
        dimensions = tuple((str(d["Name"]), str(d["Value"])) for d in alarm.get("Dimensions") or ())
        try:
            datapoints_to_alarm = alarm.get("DatapointsToAlarm")
            return cls(
                name=name,
                namespace=str(alarm.get("Namespace") or ""),
                metric_name=str(alarm["MetricName"]),
                period=int(alarm["Period"]),  # type: ignore[arg-type]
                evaluation_periods=int(alarm["EvaluationPeriods"]),  # type: ignore[arg-type]
                threshold=float(alarm["Threshold"]),  # type: ignore[arg-type]
                comparison_operator=str(alarm["ComparisonOperator"]),
                statistic=alarm.get("Statistic") if not alarm.get("ExtendedStatistic") else None,  # type: ignore[arg-type]
                extended_statistic=alarm.get("ExtendedStatistic") or None,  # type: ignore[arg-type]
                datapoints_to_alarm=int(datapoints_to_alarm) if datapoints_to_alarm else None,  # type: ignore[arg-type]
                treat_missing_data=str(alarm.get("TreatMissingData") or "missing"),
                dimensions=dimensions,
                unit=alarm.get("Unit") or None,  # type: ignore[arg-type]
                evaluate_low_sample_count_percentile=alarm.get("EvaluateLowSampleCountPercentile") or None,  # type: ignore[arg-type]
                description=str(alarm.get("AlarmDescription") or ""),
                alarm_actions=tuple(alarm.get("AlarmActions") or ()),  # type: ignore[arg-type]
            )
        except (TypeError, ValueError) as error:
            if isinstance(error, AlarmSpecError):
                raise
            raise AlarmSpecError(name, "definition", str(error)) from error

    from_describe = from_moto

    def to_put_metric_alarm(self) -> dict[str, object]:
        """The PutMetricAlarm parameters for this alarm (to create it in moto)."""
        params: dict[str, object] = {
            "AlarmName": self.name, "Namespace": self.namespace, "MetricName": self.metric_name,
            "Period": self.period, "EvaluationPeriods": self.evaluation_periods,
            "Threshold": self.threshold, "ComparisonOperator": self.comparison_operator,
            "TreatMissingData": self.treat_missing_data,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
        }
        if self.statistic:
            params["Statistic"] = self.statistic
        else:
            params["ExtendedStatistic"] = self.extended_statistic
        if self.datapoints_to_alarm:
            params["DatapointsToAlarm"] = self.datapoints_to_alarm
        if self.unit:
            params["Unit"] = self.unit
        if self.description:
            params["AlarmDescription"] = self.description
        if self.alarm_actions:
            params["AlarmActions"] = list(self.alarm_actions)
        return params
