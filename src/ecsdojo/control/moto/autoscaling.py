"""moto's CloudWatch and Application Auto Scaling, read and written for control/autoscaling/ and control/metrics.py.

Everything here runs under the ECS adapter's lock (`MotoAdapter.lock`); handlers installed by
`install_autoscaling` get the request's PascalCase parameters and `call_original()`; errors to raise from a
handler are built by `validation_error` / `object_not_found` (Application Auto Scaling's error codes).

Example::

    from ecsdojo.control.moto import autoscaling as moto
    moto.scalable_targets(adapter, "ecs")     # [{"ResourceId": "service/c/web", "MinCapacity": 1, ...}]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ecsdojo.cloud import ACCOUNT_ID
from ecsdojo.control.moto.ecs import MotoAdapter

# Application Auto Scaling operations that run under the adapter's lock (so readers see consistent state);
# the ones with a handler get it. describe_scaling_activities is missing from moto and is added.
AUTOSCALING_WRAPPED = ("register_scalable_target", "deregister_scalable_target", "put_scaling_policy",
                       "delete_scaling_policy", "put_scheduled_action", "delete_scheduled_action")
AUTOSCALING_ADDED = ("describe_scaling_activities",)
CLOUDWATCH_WRAPPED = ("set_alarm_state", "put_metric_alarm",
                      "describe_alarms")     # describe_alarms under the lock: never mid-put_scaling_policy
CLOUDWATCH_ADDED = ("describe_alarm_history",)


def _autoscaling_backend(region: str):
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    return applicationautoscaling_backends[ACCOUNT_ID][region]


def _cloudwatch_backend(region: str):
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT_ID][region]


def _install_on(cls, handlers: dict[str, Callable], wrapped: tuple[str, ...], added: tuple[str, ...],
                lock, originals: dict[tuple[type, str], Any]) -> None:
    """Wrap `wrapped` methods of a moto response class (under `lock`) and add the `added` ones."""
    for name in wrapped + added:
        original = cls.__dict__.get(name)
        if original is None and name not in added:
            continue
        originals[(cls, name)] = original
        handler = handlers.get(name)
        if original is None and handler is None:
            continue

        def wrapper(response, _original=original, _handler=handler):
            with lock:
                call = (lambda: _original(response)) if _original is not None else (lambda: None)
                if _handler is None:
                    return call()
                return _handler(_request_params(response), call)

        setattr(cls, name, wrapper)


def _request_params(response) -> dict[str, Any]:
    """The request's parameters (PascalCase): moto's parsed ones, else the JSON body."""
    if getattr(response, "automated_parameter_parsing", False) and isinstance(getattr(response, "params", None), dict):
        return dict(response.params)
    try:
        params = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return params if isinstance(params, dict) else {}


def install_autoscaling(adapter: MotoAdapter, handlers: dict[str, Callable[[dict, Callable[[], Any]], Any]],
                        *, cloudwatch_handlers: dict[str, Callable] | None = None) -> None:
    """Wrap moto's Application Auto Scaling (and CloudWatch) response methods, like `MotoAdapter.install`:
    handler(params, call_original) -> result (no moto object reaches the handler). Adds
    describe_scaling_activities and describe_alarm_history, which moto lacks. Undo with `uninstall_autoscaling(adapter)`."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.cloudwatch.responses import CloudWatchResponse

    originals = adapter.__dict__.setdefault("_autoscaling_originals", {})
    _install_on(ApplicationAutoScalingResponse, handlers, AUTOSCALING_WRAPPED, AUTOSCALING_ADDED, adapter.lock,
                originals)
    _install_on(CloudWatchResponse, cloudwatch_handlers or {}, CLOUDWATCH_WRAPPED, CLOUDWATCH_ADDED, adapter.lock,
                originals)


def uninstall_autoscaling(adapter: MotoAdapter) -> None:
    originals = adapter.__dict__.get("_autoscaling_originals", {})
    for (cls, name), original in originals.items():
        if original is None:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, original)
    originals.clear()


def action_result(body: dict[str, Any]) -> Any:
    """A moto ActionResult (serialized with the service's botocore model, e.g. datetimes for CloudWatch)."""
    from moto.core.responses import ActionResult

    return ActionResult(body)


def validation_error(message: str) -> Exception:
    """Application Auto Scaling's ValidationException, to raise from a handler."""
    from moto.applicationautoscaling.exceptions import AWSValidationException

    return AWSValidationException(message)


def object_not_found(message: str) -> Exception:
    """Application Auto Scaling's ObjectNotFoundException."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ObjectNotFoundException", message)


def metric_datapoints(adapter: MotoAdapter, *,
                      since: float) -> list[tuple[str, str, frozenset, str | None, float, list[float]]]:
    """Every datapoint in moto's CloudWatch stamped at or after `since` (epoch seconds):
    (namespace, metric name, frozenset of (dimension, value), unit, epoch seconds, values).

    A StatisticValues datapoint becomes its SampleCount copies of the average (capped at 1000): Sum,
    Average and SampleCount stay right, Minimum/Maximum/percentiles of such data are approximate."""
    from datetime import timezone as _tz

    found = []
    for datum in list(_cloudwatch_backend(adapter.region).metric_data):
        stamp = datum.timestamp
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=_tz.utc)
        seconds = stamp.timestamp()
        if seconds < since:
            continue
        if hasattr(datum, "value"):
            values = [float(datum.value)]
        else:
            count = max(int(float(datum.sample_count)), 1)
            values = [float(datum.sum_stat) / count] * min(count, 1000)
        dimensions = frozenset((d.name, d.value) for d in datum.dimensions)
        found.append((datum.namespace, datum.name, dimensions, datum.unit, seconds, values))
    return found


def put_alarm(adapter: MotoAdapter, params: dict[str, Any]) -> None:
    """PutMetricAlarm straight into moto's backend (PascalCase parameters, single-metric alarms)."""
    _cloudwatch_backend(adapter.region).put_metric_alarm(
        name=params["AlarmName"], namespace=params.get("Namespace"), metric_name=params.get("MetricName"),
        comparison_operator=params["ComparisonOperator"], evaluation_periods=params["EvaluationPeriods"],
        period=params["Period"], threshold=params["Threshold"], statistic=params.get("Statistic"),
        extended_statistic=params.get("ExtendedStatistic"), description=params.get("AlarmDescription", ""),
        dimensions=params.get("Dimensions", []), alarm_actions=params.get("AlarmActions", []),
        datapoints_to_alarm=params.get("DatapointsToAlarm"), unit=params.get("Unit"),
        treat_missing_data=params.get("TreatMissingData"))


def set_alarm_fields(adapter: MotoAdapter, name: str, *, state: str, reason: str, reason_data: str = "{}") -> None:
    """Set an alarm's state without a history entry (a new alarm's INSUFFICIENT_DATA, a kept state)."""
    alarm = _cloudwatch_backend(adapter.region).alarms.get(name)
    if alarm is not None:
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = state, reason, reason_data


def delete_alarms(adapter: MotoAdapter, names: list[str]) -> None:
    _cloudwatch_backend(adapter.region).delete_alarms(list(names))


def alarm_summary(adapter: MotoAdapter, name: str) -> dict[str, Any] | None:
    """An alarm's state, reason, threshold and actions (by state), or None."""
    alarm = _cloudwatch_backend(adapter.region).alarms.get(name)
    if alarm is None:
        return None
    return {"name": alarm.name, "arn": alarm.alarm_arn, "state": alarm.state_value, "reason": alarm.state_reason,
            "reason_data": alarm.state_reason_data, "threshold": alarm.threshold,
            "actions_enabled": bool(alarm.actions_enabled),
            "actions": {"ALARM": list(alarm.alarm_actions or []), "OK": list(alarm.ok_actions or []),
                        "INSUFFICIENT_DATA": list(alarm.insufficient_data_actions or [])}}


def alarm_names(adapter: MotoAdapter) -> set[str]:
    return set(_cloudwatch_backend(adapter.region).alarms)


def scalable_targets(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scalable_targets' entries (PascalCase)."""
    backend = _autoscaling_backend(adapter.region)
    return [{"ServiceNamespace": t.service_namespace, "ResourceId": t.resource_id,
             "ScalableDimension": t.scalable_dimension, "MinCapacity": t.min_capacity,
             "MaxCapacity": t.max_capacity, "SuspendedState": t.suspended_state or {},
             "CreationTime": t.creation_time}
            for t in backend._flatten_scalable_targets(namespace)]


def write_scalable_target(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str,
                          min_capacity: int | None = None, max_capacity: int | None = None) -> None:
    """Set a scalable target's MinCapacity / MaxCapacity (what a scheduled action does)."""
    target = _autoscaling_backend(adapter.region).targets.get(dimension, {}).get(resource_id)
    if target is not None and target.service_namespace == namespace:
        target.update(min_capacity, max_capacity, None)


def scaling_policies(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scaling_policies' entries (PascalCase), each with its alarms' names."""
    found = []
    for policy in list(_autoscaling_backend(adapter.region).policies.values()):
        if policy.service_namespace != namespace:
            continue
        found.append({"PolicyARN": policy.policy_arn, "PolicyName": policy.policy_name,
                      "ServiceNamespace": policy.service_namespace, "ResourceId": policy.resource_id,
                      "ScalableDimension": policy.scalable_dimension, "PolicyType": policy.policy_type,
                      "StepScalingPolicyConfiguration": policy.step_scaling_policy_configuration,
                      "TargetTrackingScalingPolicyConfiguration": policy.target_tracking_scaling_policy_configuration,
                      "Alarms": [{"AlarmName": a.name, "AlarmARN": a.alarm_arn,
                                  "AlarmActions": list(a.alarm_actions)} for a in policy.alarms]})
    return found


def scaling_policy(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str,
                   name: str) -> dict[str, Any] | None:
    for policy in scaling_policies(adapter, namespace):
        if (policy["ResourceId"], policy["ScalableDimension"], policy["PolicyName"]) == (resource_id, dimension, name):
            return policy
    return None


def replace_policy_alarms(adapter: MotoAdapter, policy_arn: str, alarms: list[dict[str, Any]]) -> None:
    """Put `alarms` (PutMetricAlarm parameters) for a policy and make them its alarms; the policy's
    other alarms are deleted."""
    backend = _autoscaling_backend(adapter.region)
    policy = next((p for p in backend.policies.values() if p.policy_arn == policy_arn), None)
    if policy is None:
        return
    keep = {params["AlarmName"] for params in alarms}
    delete_alarms(adapter, [a.name for a in policy.alarms if a.name not in keep])
    for params in alarms:
        put_alarm(adapter, params)
        set_alarm_fields(adapter, params["AlarmName"], state="INSUFFICIENT_DATA",
                         reason="Unchecked: Initial alarm creation")
    cloudwatch = _cloudwatch_backend(adapter.region)
    policy.alarms = [cloudwatch.alarms[name] for name in (p["AlarmName"] for p in alarms) if name in cloudwatch.alarms]


def scheduled_actions(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scheduled_actions' entries (PascalCase; times as moto keeps them)."""
    return [{"ScheduledActionName": a.scheduled_action_name, "ScheduledActionARN": a.arn,
             "ServiceNamespace": a.service_namespace, "Schedule": a.schedule, "Timezone": a.timezone,
             "ResourceId": a.resource_id, "ScalableDimension": a.scalable_dimension, "StartTime": a.start_time,
             "EndTime": a.end_time, "CreationTime": a.creation_time,
             "ScalableTargetAction": a.scalable_target_action or {}}
            for a in list(_autoscaling_backend(adapter.region).scheduled_actions) if a.service_namespace == namespace]


def forget_target(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str) -> None:
    """What DeregisterScalableTarget also does in AWS: delete the target's scaling policies (with their
    alarms) and scheduled actions."""
    backend = _autoscaling_backend(adapter.region)
    for key, policy in list(backend.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, resource_id,
                                                                                          dimension):
            delete_alarms(adapter, [a.name for a in policy.alarms])
            del backend.policies[key]
    backend.scheduled_actions = [a for a in backend.scheduled_actions
                                 if (a.service_namespace, a.resource_id, a.scalable_dimension)
                                 != (namespace, resource_id, dimension)]
