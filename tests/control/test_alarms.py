"""Does the local CloudWatch evaluate alarms the way the CloudWatch User Guide says?"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ecsdojo.control.autoscaling.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmSpec,
    AlarmSpecError,
    Datapoint,
    UnsupportedComparisonOperatorError,
    UnsupportedStatisticError,
    aggregate,
    evaluate_alarm,
)

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)
LOW, HIGH = 1.0, 10.0          # values on either side of the factory threshold (5.0)
RETAIN = "retain"


def make_alarm(**overrides) -> AlarmSpec:
    fields = dict(name="cpu-high", namespace="AWS/ECS", metric_name="CPUUtilization", period=60,
                  evaluation_periods=3, threshold=5.0, comparison_operator="GreaterThanThreshold")
    fields.update(overrides)
    return AlarmSpec(**fields)


def pattern_points(pattern: str) -> tuple[list[Datapoint], datetime]:
    """The User Guide's notation, oldest first: '0' within the threshold, 'X' breaching, '-' missing.
    Returns one datapoint per period and the evaluation time just after the last period."""
    marks = pattern.split()
    points = [Datapoint(T0 + timedelta(minutes=i, seconds=7), LOW if mark == "0" else HIGH)
              for i, mark in enumerate(marks) if mark != "-"]
    return points, T0 + timedelta(minutes=len(marks), seconds=5)


def expected_state(expected: str, previous: str) -> str:
    return previous if expected == RETAIN else expected


MODES = ("missing", "ignore", "breaching", "notBreaching")

# The User Guide's first table: Datapoints to Alarm = Evaluation Periods = 3, 5 datapoints retrieved.
TABLE_3_OF_3 = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ("X - - - -", (ALARM, RETAIN, ALARM, OK)),
]
# The second table: a 2 out of 3 alarm.
TABLE_2_OF_3 = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
]


@pytest.mark.parametrize("previous", [OK, ALARM])
@pytest.mark.parametrize("pattern,expected", TABLE_3_OF_3)
def test_does_a_3_of_3_alarm_match_every_row_of_the_user_guide_table(pattern, expected, previous):
    points, now = pattern_points(pattern)
    for mode, want in zip(MODES, expected):
        result = evaluate_alarm(make_alarm(treat_missing_data=mode), points, now=now, previous_state=previous)
        assert result.state == expected_state(want, previous), (pattern, mode)


@pytest.mark.parametrize("previous", [OK, INSUFFICIENT_DATA])
@pytest.mark.parametrize("pattern,expected", TABLE_2_OF_3)
def test_does_a_2_of_3_alarm_match_every_row_of_the_user_guide_table(pattern, expected, previous):
    points, now = pattern_points(pattern)
    for mode, want in zip(MODES, expected):
        alarm = make_alarm(treat_missing_data=mode, datapoints_to_alarm=2)
        result = evaluate_alarm(alarm, points, now=now, previous_state=previous)
        assert result.state == expected_state(want, previous), (pattern, mode)


def test_do_breaching_datapoints_need_not_be_consecutive_in_an_m_of_n_alarm():
    points, now = pattern_points("X 0 X")
    alarm = make_alarm(datapoints_to_alarm=2, evaluation_range=3)
    assert evaluate_alarm(alarm, points, now=now, previous_state=OK).state == ALARM
    points, now = pattern_points("X 0 0")
    assert evaluate_alarm(alarm, points, now=now, previous_state=ALARM).state == OK


def test_does_datapoints_to_alarm_default_to_evaluation_periods():
    points, now = pattern_points("X X 0")
    result = evaluate_alarm(make_alarm(evaluation_range=3), points, now=now, previous_state=OK)
    assert make_alarm().datapoints_needed == 3
    assert result.state == OK


@pytest.mark.parametrize("statistic,expected", [
    ("SampleCount", 4.0), ("Average", 25.0), ("Sum", 100.0), ("Minimum", 10.0), ("Maximum", 40.0),
])
def test_is_each_statistic_computed_over_the_samples_of_a_period(statistic, expected):
    samples = [Datapoint(T0 + timedelta(seconds=s), v) for s, v in ((1, 10.0), (20, 40.0), (30, 20.0), (59, 30.0))]
    alarm = make_alarm(statistic=statistic, evaluation_periods=1, threshold=expected - 0.5)
    result = evaluate_alarm(alarm, samples, now=T0 + timedelta(seconds=61), previous_state=OK)
    assert result.evaluated[0].value == expected
    assert result.evaluated[0].sample_count == 4
    assert result.state == ALARM          # just above the threshold
    above = evaluate_alarm(make_alarm(statistic=statistic, evaluation_periods=1, threshold=expected),
                           samples, now=T0 + timedelta(seconds=61), previous_state=ALARM)
    assert above.state == OK              # GreaterThanThreshold is strict


@pytest.mark.parametrize("percentile,expected", [("p50", 20.0), ("p90", 40.0), ("p25", 10.0), ("p100", 40.0)])
def test_are_percentiles_nearest_rank(percentile, expected):
    assert aggregate([10.0, 40.0, 20.0, 30.0], percentile) == expected
    alarm = make_alarm(statistic=None, extended_statistic=percentile, evaluation_periods=1, threshold=0.0)
    samples = [Datapoint(T0 + timedelta(seconds=s), v) for s, v in ((1, 10.0), (2, 40.0), (3, 20.0), (4, 30.0))]
    result = evaluate_alarm(alarm, samples, now=T0 + timedelta(seconds=61), previous_state=OK)
    assert result.evaluated[0].value == expected
    assert json.loads(result.reason_data)["extendedStatistic"] == percentile


def test_does_a_percentile_alarm_ignore_too_few_samples_when_told_to():
    alarm = make_alarm(statistic=None, extended_statistic="p99", evaluation_periods=1, threshold=5.0,
                       evaluate_low_sample_count_percentile="ignore")
    few = [Datapoint(T0 + timedelta(seconds=1), 50.0)]
    kept = evaluate_alarm(alarm, few, now=T0 + timedelta(seconds=61), previous_state=OK)
    assert kept.state == OK and not kept.changed
    evaluated = evaluate_alarm(make_alarm(statistic=None, extended_statistic="p99", evaluation_periods=1),
                               few, now=T0 + timedelta(seconds=61), previous_state=OK)
    assert evaluated.state == ALARM


@pytest.mark.parametrize("operator,value,state", [
    ("GreaterThanThreshold", 5.0, OK), ("GreaterThanOrEqualToThreshold", 5.0, ALARM),
    ("LessThanThreshold", 5.0, OK), ("LessThanOrEqualToThreshold", 5.0, ALARM),
    ("LessThanThreshold", 4.9, ALARM), ("GreaterThanThreshold", 5.1, ALARM),
])
def test_does_each_comparison_operator_treat_the_threshold_itself_correctly(operator, value, state):
    alarm = make_alarm(comparison_operator=operator, evaluation_periods=1)
    result = evaluate_alarm(alarm, [(T0, value)], now=T0 + timedelta(seconds=60), previous_state=INSUFFICIENT_DATA)
    assert result.state == state


def test_is_a_state_change_reported_only_when_the_state_changes():
    points, now = pattern_points("X X X")
    assert evaluate_alarm(make_alarm(), points, now=now, previous_state=OK).changed
    assert not evaluate_alarm(make_alarm(), points, now=now, previous_state=ALARM).changed
    result = evaluate_alarm(make_alarm(), points, now=now, previous_state=OK)
    assert result.previous_state == OK and result.state == ALARM


def test_is_the_alarm_reason_worded_like_aws():
    points = [Datapoint(T0 + timedelta(minutes=1, seconds=5), 85.2),
              Datapoint(T0 + timedelta(minutes=2, seconds=3), 91.0),
              Datapoint(T0 + timedelta(minutes=3, seconds=10), 88.4)]
    alarm = make_alarm(threshold=70.0)
    result = evaluate_alarm(alarm, points, now=T0 + timedelta(minutes=4, seconds=5), previous_state=OK)
    assert result.reason == (
        "Threshold Crossed: 3 out of the last 3 datapoints [88.4 (26/11/26 17:03:00), 91.0 (26/11/26 17:02:00), "
        "85.2 (26/11/26 17:01:00)] were greater than the threshold (70.0) "
        "(minimum 3 datapoints for OK -> ALARM transition).")


def test_is_the_ok_reason_worded_like_aws_with_the_alarm_to_ok_minimum():
    alarm = make_alarm(threshold=70.0, evaluation_periods=3, datapoints_to_alarm=2, evaluation_range=3)
    points = [(T0, 50.0), (T0 + timedelta(minutes=1), 95.0), (T0 + timedelta(minutes=2), 40.0)]
    result = evaluate_alarm(alarm, points, now=T0 + timedelta(minutes=3), previous_state=ALARM)
    assert result.state == OK
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [40.0 (26/11/26 17:02:00), 50.0 (26/11/26 17:00:00)] "
        "were not greater than the threshold (70.0) (minimum 2 datapoints for ALARM -> OK transition).")
    one = evaluate_alarm(make_alarm(evaluation_periods=1, comparison_operator="LessThanThreshold", threshold=1.0),
                         [(T0, 3.0)], now=T0 + timedelta(minutes=1), previous_state=ALARM)
    assert one.reason == ("Threshold Crossed: 1 out of the last 1 datapoints [3.0 (26/11/26 17:00:00)] was not "
                          "less than the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).")


def test_are_missing_data_reasons_worded_like_aws():
    now = T0 + timedelta(minutes=10)
    insufficient = evaluate_alarm(make_alarm(), [], now=now, previous_state=OK)
    assert insufficient.reason == "Insufficient Data: 3 datapoints were unknown."
    breaching = evaluate_alarm(make_alarm(evaluation_periods=1, treat_missing_data="breaching"), [], now=now,
                               previous_state=OK)
    assert breaching.reason == ("Threshold Crossed: no datapoints were received for 1 period and 1 missing "
                                "datapoint was treated as [Breaching].")
    not_breaching = evaluate_alarm(make_alarm(treat_missing_data="notBreaching"), [], now=now, previous_state=ALARM)
    assert not_breaching.reason == ("Threshold Crossed: no datapoints were received for 3 periods and 3 missing "
                                    "datapoints were treated as [NonBreaching].")
    points, now = pattern_points("- - - - X")
    filled = evaluate_alarm(make_alarm(treat_missing_data="breaching"), points, now=now, previous_state=OK)
    assert filled.reason == ("Threshold Crossed: 1 out of the last 3 datapoints [10.0 (26/11/26 17:04:00)] was "
                             "greater than the threshold (5.0) and 2 missing datapoints were treated as [Breaching] "
                             "(minimum 3 datapoints for OK -> ALARM transition).")
    partly = evaluate_alarm(make_alarm(), points, now=now, previous_state=OK)
    assert partly.reason == "Insufficient Data: 2 datapoints were unknown."


def test_does_ignore_keep_the_previous_reason_when_given():
    result = evaluate_alarm(make_alarm(treat_missing_data="ignore"), [], now=T0, previous_state=ALARM,
                            previous_reason="earlier reason")
    assert (result.state, result.reason, result.changed) == (ALARM, "earlier reason", False)


def test_is_the_reason_data_json_shaped_like_aws():
    points = [(T0 + timedelta(minutes=1), 85.2), (T0 + timedelta(minutes=2), 91.0),
              (T0 + timedelta(minutes=3, seconds=59), 88.4), (T0 + timedelta(minutes=3, seconds=1), 88.4)]
    result = evaluate_alarm(make_alarm(threshold=70.0), points, now=T0 + timedelta(minutes=4, seconds=5, milliseconds=399),
                            previous_state=OK)
    data = json.loads(result.reason_data)
    assert list(data) == ["version", "queryDate", "startDate", "statistic", "period", "recentDatapoints",
                          "threshold", "evaluatedDatapoints"]
    assert data["version"] == "1.0"
    assert data["queryDate"] == "2026-11-26T17:04:05.399+0000"
    assert data["startDate"] == "2026-11-26T17:01:00.000+0000"
    assert data["recentDatapoints"] == [85.2, 91.0, 88.4]                 # oldest first
    assert data["evaluatedDatapoints"][0] == {"timestamp": "2026-11-26T17:03:00.000+0000", "sampleCount": 2.0,
                                              "value": 88.4}              # newest first
    assert (data["statistic"], data["period"], data["threshold"]) == ("Average", 60, 70.0)
    assert ", " not in result.reason_data                                  # compact, like AWS
    empty = json.loads(evaluate_alarm(make_alarm(), [], now=T0, previous_state=OK).reason_data)
    assert "startDate" not in empty and empty["recentDatapoints"] == []
    assert all(set(p) == {"timestamp"} for p in empty["evaluatedDatapoints"])


def test_are_datapoints_bucketed_into_whole_periods_before_now():
    alarm = make_alarm(evaluation_periods=1, statistic="Sum")
    points = [(T0 + timedelta(seconds=0), 1.0), (T0 + timedelta(seconds=59.9), 2.0),   # 17:00 period
              (T0 + timedelta(seconds=60), 100.0),                                       # 17:01: not complete
              (T0 - timedelta(hours=1), 100.0)]                                          # outside the range
    result = evaluate_alarm(alarm, points, now=T0 + timedelta(seconds=90), previous_state=OK)
    assert result.evaluated[0].start == T0
    assert result.evaluated[0].value == 3.0
    assert result.state == OK


def test_are_naive_datetimes_and_epoch_seconds_taken_as_utc():
    naive = [(datetime(2026, 11, 26, 17, 0, 30), 50.0)]
    aware = evaluate_alarm(make_alarm(evaluation_periods=1), [(T0 + timedelta(seconds=30), 50.0)],
                           now=T0 + timedelta(minutes=1), previous_state=OK)
    mixed = evaluate_alarm(make_alarm(evaluation_periods=1), naive,
                           now=(T0 + timedelta(minutes=1)).timestamp(), previous_state=OK)
    assert aware.reason == mixed.reason and mixed.state == ALARM


def test_are_large_numbers_written_the_java_way():
    result = evaluate_alarm(make_alarm(evaluation_periods=1, threshold=1e7), [(T0, 2.5e7)],
                            now=T0 + timedelta(minutes=1), previous_state=OK)
    assert "[2.5E7 (26/11/26 17:00:00)]" in result.reason and "(1.0E7)" in result.reason


def test_can_the_result_be_passed_to_set_alarm_state():
    result = evaluate_alarm(make_alarm(), [], now=T0, previous_state=OK)
    assert result.set_alarm_state_kwargs() == {"AlarmName": "cpu-high", "StateValue": INSUFFICIENT_DATA,
                                               "StateReason": result.reason, "StateReasonData": result.reason_data}


def moto_alarm(**overrides) -> dict:
    """A MetricAlarms entry as moto's describe_alarms returns it for a target-tracking policy."""
    alarm = {
        "AlarmName": "TargetTracking-service/c/s-AlarmHigh-5d99d23c", "AlarmArn": "arn:aws:cloudwatch:...",
        "AlarmDescription": "DO NOT EDIT OR DELETE.", "ActionsEnabled": True, "OKActions": [],
        "AlarmActions": ["arn:aws:autoscaling:...:policyName/cpu-tracking"], "InsufficientDataActions": [],
        "StateValue": "OK", "StateReason": "Unchecked: Initial alarm creation", "StateReasonData": "{}",
        "MetricName": "CPUUtilization", "Namespace": "AWS/ECS", "Statistic": "Average",
        "Dimensions": [{"Name": "ClusterName", "Value": "c"}, {"Name": "ServiceName", "Value": "s"}],
        "Period": 60, "Unit": "Percent", "EvaluationPeriods": 3, "Threshold": 6.0,
        "ComparisonOperator": "GreaterThanThreshold", "Metrics": [],
    }
    alarm.update(overrides)
    return alarm


def test_is_an_alarm_read_from_describe_alarms_output():
    spec = AlarmSpec.from_moto(moto_alarm())
    assert (spec.name, spec.period, spec.evaluation_periods, spec.datapoints_needed) == (
        "TargetTracking-service/c/s-AlarmHigh-5d99d23c", 60, 3, 3)
    assert spec.dimensions == (("ClusterName", "c"), ("ServiceName", "s"))
    assert spec.treat_missing_data == "missing" and spec.statistic == "Average"
    percentile = AlarmSpec.from_moto(moto_alarm(Statistic=None, ExtendedStatistic="p90", DatapointsToAlarm=2,
                                                TreatMissingData="breaching"))
    assert (percentile.statistic, percentile.extended_statistic, percentile.datapoints_needed,
            percentile.treat_missing_data) == (None, "p90", 2, "breaching")


def test_does_an_unsupported_alarm_get_an_error_naming_the_alarm_and_field():
    with pytest.raises(UnsupportedComparisonOperatorError, match=r"alarm 'a1', field ComparisonOperator"):
        AlarmSpec.from_moto(moto_alarm(AlarmName="a1", ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold"))
    with pytest.raises(AlarmSpecError, match="field Metrics"):
        AlarmSpec.from_moto(moto_alarm(Metrics=[{"Id": "m1", "Expression": "a+b"}]))
    with pytest.raises(AlarmSpecError, match="field DatapointsToAlarm"):
        make_alarm(datapoints_to_alarm=4)
    with pytest.raises(UnsupportedStatisticError, match="ExtendedStatistic"):
        make_alarm(statistic=None, extended_statistic="tm90")
    with pytest.raises(AlarmSpecError, match="TreatMissingData"):
        make_alarm(treat_missing_data="sometimes")
    with pytest.raises(AlarmSpecError, match="field Period"):
        AlarmSpec.from_moto(moto_alarm(Period=None))


def test_does_an_alarm_round_trip_to_put_metric_alarm_parameters():
    spec = make_alarm(datapoints_to_alarm=2, unit="Percent", dimensions=(("ClusterName", "c"),))
    params = spec.to_put_metric_alarm()
    assert params["DatapointsToAlarm"] == 2 and params["Dimensions"] == [{"Name": "ClusterName", "Value": "c"}]
    again = AlarmSpec.from_moto(params)
    assert again.datapoints_needed == 2 and again.dimensions == spec.dimensions


def test_does_moto_accept_the_spec_and_the_evaluation_result():
    """put_metric_alarm from the spec, describe_alarms back, set_alarm_state with our reason and data."""
    import boto3
    from moto import mock_aws

    spec = make_alarm(name="cpu-high", datapoints_to_alarm=2, treat_missing_data="notBreaching",
                      dimensions=(("ClusterName", "demo"), ("ServiceName", "web")))
    points, now = pattern_points("X X X")
    result = evaluate_alarm(spec, points, now=now, previous_state=OK)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="testing",
                                  aws_secret_access_key="testing")
        cloudwatch.put_metric_alarm(**spec.to_put_metric_alarm())
        described = cloudwatch.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
        assert AlarmSpec.from_moto(described) == spec
        cloudwatch.set_alarm_state(**result.set_alarm_state_kwargs())
        after = cloudwatch.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
    assert (after["StateValue"], after["StateReason"]) == (ALARM, result.reason)
    assert json.loads(after["StateReasonData"])["threshold"] == 5.0
