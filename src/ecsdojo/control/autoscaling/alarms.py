"""CloudWatch metric-alarm evaluation, as a pure function (moto never evaluates alarms). The alarm's
definition, `AlarmSpec`, is in `alarm_spec.py`.

`evaluate_alarm` turns an alarm definition and the raw datapoints of its metric into the state CloudWatch
would set, with a `StateReason` and `StateReasonData` shaped like AWS's, so the control loop can write
them back with `set_alarm_state`. No I/O, no clock: the caller passes `now`.

Example::

    spec = AlarmSpec(name="cpu-high", namespace="AWS/ECS", metric_name="CPUUtilization",
                     period=60, evaluation_periods=3, threshold=70.0,
                     comparison_operator="GreaterThanThreshold")
    result = evaluate_alarm(spec, [(t1, 85.2), (t2, 91.0), (t3, 88.4)], now=t4, previous_state="OK")
    result.state, result.changed, result.reason
    # ('ALARM', True, 'Threshold Crossed: 3 out of the last 3 datapoints [88.4 (26/11/26 17:03:00), ...] ...')

What follows the CloudWatch User Guide ("Evaluating an alarm", "Configuring how CloudWatch alarms treat
missing data", "Avoiding premature transitions to alarm state"), checked against both tables of examples
in that guide (tests/control/test_alarms.py reproduces every row):

* Datapoints are bucketed into periods aligned to multiples of `Period` since the Unix epoch (AWS aligns
  to the alarm's own schedule; the difference is an offset only) and aggregated by `Statistic` or a
  `pNN` `ExtendedStatistic`. Only complete periods count: the newest evaluated period ends at or before
  `now`.
* CloudWatch retrieves an *evaluation range* of more periods than `EvaluationPeriods` (N). The guide does
  not give the exact number; its examples use 5 for N=3. We use N+2 (`AlarmSpec.evaluation_range`
  overrides it).
* If at least N datapoints exist in the range, the N most recent existing ones are evaluated and
  `TreatMissingData` is not used. Otherwise the missing ones are filled with the treatment (`breaching`,
  `notBreaching`), every real datapoint in the range still counts. At least M (`DatapointsToAlarm`,
  default N) breaching datapoints give ALARM, else OK.
* `missing` / `ignore` with some but fewer than N datapoints: ALARM when M real datapoints breach; OK when
  at least one real datapoint does not breach; otherwise (only breaching, fewer than M) INSUFFICIENT_DATA
  for `missing` / the current state for `ignore` -- except that with `missing` the alarm goes to ALARM when
  the oldest breaching datapoint is at least M periods old (premature-transition rule).
* No datapoint at all in the range: INSUFFICIENT_DATA (`missing`), state kept (`ignore`), ALARM
  (`breaching`), OK (`notBreaching`).
"""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

# The alarm's definition lives in alarm_spec.py; its names are re-exported here for callers of this module.
from ecsdojo.control.autoscaling.alarm_spec import (  # noqa: F401
    _COMPARISONS,
    _PERCENTILE,
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    STATES,
    STATISTICS,
    TREAT_MISSING_DATA,
    AlarmSpec,
    AlarmSpecError,
    UnsupportedComparisonOperatorError,
    UnsupportedStatisticError,
)

__all__ = [
    "ALARM",
    "OK",
    "INSUFFICIENT_DATA",
    "AlarmSpec",
    "AlarmEvaluation",
    "Datapoint",
    "EvaluatedPeriod",
    "AlarmSpecError",
    "UnsupportedComparisonOperatorError",
    "UnsupportedStatisticError",
    "evaluate_alarm",
    "aggregate",
]

# SetAlarmState limits (botocore model: StateReason max 1023, StateReasonData max 4000).
_MAX_REASON = 1023


@dataclass(frozen=True)
class Datapoint:
    """One raw metric sample, as put_metric_data would store it."""
    timestamp: datetime
    value: float


@dataclass(frozen=True)
class EvaluatedPeriod:
    """One period the evaluation looked at. `value` None: no data (possibly filled by TreatMissingData)."""
    start: datetime
    value: float | None
    sample_count: int = 0
    breaching: bool | None = None      # None: missing and not filled
    filled: bool = False               # True: a missing period filled by TreatMissingData


@dataclass(frozen=True)
class AlarmEvaluation:
    """The outcome of one evaluation: what set_alarm_state should be told."""
    alarm_name: str
    state: str
    previous_state: str
    reason: str
    reason_data: str                   # JSON text, like StateReasonData
    evaluated: tuple[EvaluatedPeriod, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.state != self.previous_state

    @property
    def latest_value(self) -> float | None:
        """The newest real aggregated value among the evaluated periods (what scaling policies act on)."""
        for period in self.evaluated:
            if period.value is not None:
                return period.value
        return None

    def set_alarm_state_kwargs(self) -> dict[str, str]:
        """Keyword arguments for `cloudwatch.set_alarm_state(**...)`."""
        return {"AlarmName": self.alarm_name, "StateValue": self.state,
                "StateReason": self.reason, "StateReasonData": self.reason_data}


def aggregate(values: Sequence[float], statistic: str) -> float:
    """One statistic of raw values: SampleCount, Average, Sum, Minimum, Maximum or pNN (nearest rank).

    CloudWatch does not document its percentile interpolation; nearest rank (the smallest value with at
    least NN% of the samples at or below it) is used here.
    """
    if not values:
        raise ValueError("no values to aggregate")
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Sum":
        return float(math.fsum(values))
    if statistic == "Average":
        return float(math.fsum(values) / len(values))
    if statistic == "Minimum":
        return float(min(values))
    if statistic == "Maximum":
        return float(max(values))
    if _PERCENTILE.match(statistic):
        p = float(statistic[1:])
        ordered = sorted(values)
        rank = max(1, math.ceil(p / 100.0 * len(ordered) - 1e-9))
        return float(ordered[rank - 1])
    raise ValueError(f"unknown statistic {statistic!r}")


def evaluate_alarm(alarm: AlarmSpec, datapoints: Iterable[Datapoint | tuple[datetime, float]], *,
                   now: datetime | float, previous_state: str,
                   previous_reason: str | None = None) -> AlarmEvaluation:
    """Evaluate `alarm` over raw `datapoints` at `now`, as CloudWatch would.

    `datapoints` are (timestamp, value) samples of the alarm's metric (other metrics must be filtered out
    by the caller); naive datetimes are taken as UTC. `previous_state` is the alarm's current StateValue;
    with TreatMissingData=ignore it is kept when the data cannot decide (then `previous_reason` is kept
    too, when given).

    Example::

        evaluate_alarm(spec, [(datetime(2026, 11, 26, 17, 1, tzinfo=timezone.utc), 85.2)],
                       now=datetime(2026, 11, 26, 17, 2, 5, tzinfo=timezone.utc), previous_state="OK")
    """
    if previous_state not in STATES:
        raise AlarmSpecError(alarm.name, "StateValue", f"{previous_state!r} is not one of {', '.join(STATES)}")
    now_dt = _as_utc(now)
    periods = _bucket(alarm, datapoints, now_dt)          # newest first, length = range
    n = alarm.evaluation_periods
    m = alarm.datapoints_needed
    treat = alarm.treat_missing_data
    existing = [p for p in periods if p.value is not None]

    def keep(evaluated: list[EvaluatedPeriod], why: str) -> AlarmEvaluation:
        reason = previous_reason if previous_reason is not None else why
        return _result(alarm, now_dt, previous_state, previous_state, reason, evaluated)

    # Nothing at all in the evaluation range.
    if not existing:
        evaluated = periods[:n]
        if treat == "missing":
            return _result(alarm, now_dt, INSUFFICIENT_DATA, previous_state,
                           f"Insufficient Data: {_count(n, 'datapoint')} {_was(n)} unknown.", evaluated)
        if treat == "ignore":
            return keep(evaluated, f"Unchanged: no datapoints were received for {_count(n, 'period')} "
                                   f"and TreatMissingData is ignore.")
        filled_breaching = treat == "breaching"
        evaluated = [_fill(p, filled_breaching) for p in evaluated]
        state = ALARM if filled_breaching else OK
        label = "Breaching" if filled_breaching else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {_count(n, 'period')} and "
                  f"{_count(n, 'missing datapoint')} {_was(n)} treated as [{label}].")
        return _result(alarm, now_dt, state, previous_state, reason, evaluated)

    # Percentile alarms may be told to ignore samples too small to be significant.
    if (alarm.extended_statistic and alarm.evaluate_low_sample_count_percentile == "ignore"
            and sum(p.sample_count for p in existing[:n]) < _significant_samples(alarm.extended_statistic)):
        return keep(list(existing[:n]), "Unchanged: too few samples for a significant "
                                         f"{alarm.extended_statistic} (EvaluateLowSampleCountPercentile=ignore).")

    if len(existing) >= n:
        evaluated = [_judge(alarm, p) for p in existing[:n]]
        breaching = sum(1 for p in evaluated if p.breaching)
        state = ALARM if breaching >= m else OK
        return _result(alarm, now_dt, state, previous_state, _threshold_reason(alarm, state, evaluated), evaluated)

    # Fewer real datapoints than EvaluationPeriods: TreatMissingData decides how to fill the rest.
    missing_periods = [p for p in periods if p.value is None][: n - len(existing)]
    real = [_judge(alarm, p) for p in existing]
    real_breaching = sum(1 for p in real if p.breaching)
    if treat in ("breaching", "notBreaching"):
        filled_breaching = treat == "breaching"
        evaluated = _newest_first(real + [_fill(p, filled_breaching) for p in missing_periods])
        breaching = sum(1 for p in evaluated if p.breaching)
        state = ALARM if breaching >= m else OK
        return _result(alarm, now_dt, state, previous_state, _threshold_reason(alarm, state, evaluated), evaluated)

    evaluated = _newest_first(real + missing_periods)
    if real_breaching >= m:
        return _result(alarm, now_dt, ALARM, previous_state, _threshold_reason(alarm, ALARM, evaluated), evaluated)
    if real_breaching < len(real):   # at least one real datapoint within the threshold
        return _result(alarm, now_dt, OK, previous_state, _threshold_reason(alarm, OK, evaluated), evaluated)
    # Only breaching datapoints, fewer than M of them.
    oldest_age = periods.index(existing[-1]) + 1        # 1 = the newest period
    if treat == "missing" and oldest_age >= m:
        # "Avoiding premature transitions to alarm state": the oldest breaching datapoint is at least M
        # periods old and everything newer is breaching or missing.
        return _result(alarm, now_dt, ALARM, previous_state, _threshold_reason(alarm, ALARM, evaluated), evaluated)
    unknown = len(missing_periods)
    if treat == "ignore":
        return keep(evaluated, f"Unchanged: {_count(unknown, 'datapoint')} {_was(unknown)} unknown "
                               f"and TreatMissingData is ignore.")
    return _result(alarm, now_dt, INSUFFICIENT_DATA, previous_state,
                   f"Insufficient Data: {_count(unknown, 'datapoint')} {_was(unknown)} unknown.", evaluated)


# --- internals -------------------------------------------------------------------------------------------

def _as_utc(moment: datetime | float) -> datetime:
    if isinstance(moment, (int, float)):
        return datetime.fromtimestamp(float(moment), tz=timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _bucket(alarm: AlarmSpec, datapoints: Iterable[Datapoint | tuple[datetime, float]],
            now: datetime) -> list[EvaluatedPeriod]:
    """The evaluation range as periods, newest first, each aggregated by the alarm's statistic."""
    period = alarm.period
    end = math.floor(now.timestamp() / period) * period     # exclusive end of the newest complete period
    first = end - alarm.range_periods * period
    samples: dict[int, list[float]] = {}
    for point in datapoints:
        timestamp, value = (point.timestamp, point.value) if isinstance(point, Datapoint) else point
        seconds = _as_utc(timestamp).timestamp()
        start = math.floor(seconds / period) * period
        if first <= start < end and value is not None and not math.isnan(float(value)):
            samples.setdefault(start, []).append(float(value))
    periods = []
    for index in range(alarm.range_periods):
        start = end - (index + 1) * period
        values = samples.get(start)
        moment = datetime.fromtimestamp(start, tz=timezone.utc)
        if values:
            periods.append(EvaluatedPeriod(moment, aggregate(values, alarm.statistic_name), len(values)))
        else:
            periods.append(EvaluatedPeriod(moment, None))
    return periods


def _judge(alarm: AlarmSpec, period: EvaluatedPeriod) -> EvaluatedPeriod:
    assert period.value is not None
    return EvaluatedPeriod(period.start, period.value, period.sample_count, alarm.breaches(period.value))


def _fill(period: EvaluatedPeriod, breaching: bool) -> EvaluatedPeriod:
    return EvaluatedPeriod(period.start, None, 0, breaching, filled=True)


def _newest_first(periods: list[EvaluatedPeriod]) -> list[EvaluatedPeriod]:
    return sorted(periods, key=lambda p: p.start, reverse=True)


def _significant_samples(percentile: str) -> float:
    """The User Guide's rule: 10/(1-p) samples for p >= 0.5, 10/p below (p as a fraction)."""
    p = float(percentile[1:]) / 100.0
    if p >= 1.0 or p <= 0.0:
        return math.inf
    return 10.0 / (1.0 - p) if p >= 0.5 else 10.0 / p


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _java_double(value: float) -> str:
    """A number as Java's Double.toString writes it (CloudWatch is written in Java): 85.2, 70.0, 1.0E7."""
    value = float(value)
    if value == 0:
        return "0.0"
    if math.isinf(value) or math.isnan(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    power = len(digits) - 1 + int(exponent)
    fraction = mantissa[1:] or "0"
    return f"{'-' if sign else ''}{mantissa[0]}.{fraction}E{power}"


def _reason_time(moment: datetime) -> str:
    return moment.strftime("%d/%m/%y %H:%M:%S")


def _iso_millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _threshold_reason(alarm: AlarmSpec, state: str, evaluated: list[EvaluatedPeriod]) -> str:
    """AWS's wording, e.g. 'Threshold Crossed: 3 out of the last 3 datapoints [85.2 (26/11/26 17:03:00),
    ...] were greater than the threshold (70.0) (minimum 3 datapoints for OK -> ALARM transition).'"""
    n = alarm.evaluation_periods
    words = _COMPARISONS[alarm.comparison_operator][1]
    want_breaching = state == ALARM
    matching = [p for p in evaluated if p.value is not None and p.breaching == want_breaching]
    filled = [p for p in evaluated if p.filled]
    if want_breaching:
        minimum, transition = alarm.datapoints_needed, "OK -> ALARM"
    else:
        minimum, transition = n - alarm.datapoints_needed + 1, "ALARM -> OK"
        words = "not " + words
    threshold = _java_double(alarm.threshold)
    tail = f"(minimum {_count(minimum, 'datapoint')} for {transition} transition)."
    filled_text = ""
    if filled:
        label = "Breaching" if filled[0].breaching else "NonBreaching"
        filled_text = f"{_count(len(filled), 'missing datapoint')} {_was(len(filled))} treated as [{label}]"
    if not matching:
        return f"Threshold Crossed: {filled_text} {tail}"
    listed = ", ".join(f"{_java_double(p.value)} ({_reason_time(p.start)})" for p in matching)  # type: ignore[arg-type]
    text = (f"Threshold Crossed: {len(matching)} out of the last {n} datapoints [{listed}] "
            f"{_was(len(matching))} {words} the threshold ({threshold})")
    if filled_text:
        text += f" and {filled_text}"
    text = f"{text} {tail}"
    if len(text) > _MAX_REASON:   # SetAlarmState rejects longer reasons
        text = text[: _MAX_REASON - 4] + "...)"
    return text


def _result(alarm: AlarmSpec, now: datetime, state: str, previous_state: str, reason: str,
            evaluated: list[EvaluatedPeriod]) -> AlarmEvaluation:
    evaluated = _newest_first(list(evaluated))
    real = [p for p in evaluated if p.value is not None]
    data: dict[str, object] = {"version": "1.0", "queryDate": _iso_millis(now)}
    if real:
        data["startDate"] = _iso_millis(real[-1].start)
    if alarm.statistic:
        data["statistic"] = alarm.statistic
    else:
        data["extendedStatistic"] = alarm.extended_statistic
    data["period"] = alarm.period
    data["recentDatapoints"] = [p.value for p in reversed(real)]          # oldest first, like AWS
    data["threshold"] = float(alarm.threshold)
    data["evaluatedDatapoints"] = [
        {"timestamp": _iso_millis(p.start), "sampleCount": float(p.sample_count), "value": p.value}
        if p.value is not None else {"timestamp": _iso_millis(p.start)}
        for p in evaluated
    ]
    return AlarmEvaluation(alarm_name=alarm.name, state=state, previous_state=previous_state, reason=reason,
                           reason_data=json.dumps(data, separators=(",", ":")), evaluated=tuple(evaluated))
