"""Auto scaling that acts: CloudWatch alarms evaluated, Application Auto Scaling policies run, desiredCount set.

moto stores alarms, scalable targets, scaling policies and scheduled actions but never acts on them. Once
per ECS minute (the control plane's compressed clock), `AutoScaling`:

1. publishes the minute's ECS and load-balancer metrics (`MetricsPublisher`);
2. evaluates every CloudWatch metric alarm in moto (`AlarmEvaluator`, with `alarms.evaluate_alarm`) and
   writes state changes with SetAlarmState (AWS-style reason and reason data, alarm history);
3. invokes alarm actions: an Application Auto Scaling policy ARN runs the policy -- on the transition and
   then once a minute while the alarm stays in that state, as CloudWatch does for scaling actions -- an SNS
   topic ARN gets CloudWatch's notification (on transitions), anything else is recorded as failed;
4. decides with `scaling.decide_scaling` (target tracking, step scaling, several policies combined,
   cooldowns, min/max, scale-in held during a deployment) and sets desiredCount through the ECS API
   (`ecs.update_service`), recording a scaling activity.

Between minutes it runs due scheduled actions, puts registered targets' desired counts inside their new
min/max (as RegisterScalableTarget does), and records desired/running counts on the timeline.

It also completes moto's API: put_scaling_policy re-puts the target-tracking alarms with the right metric
and thresholds (TargetValue for AlarmHigh, 90 % of it for AlarmLow; moto writes 6 and CPUUtilization) and
rejects bad policies, schedules and unregistered targets as AWS does; deregister_scalable_target removes
the target's policies and scheduled actions; describe_scaling_activities and describe_alarm_history
(missing from moto) answer, through boto3 and the AWS CLI (`dojo up`) alike; a learner's own
set_alarm_state triggers the alarm's actions too.

Times: `EcsTime` (control/metrics.py). API timestamps stay real; the timeline's times are ECS seconds, so
a 300 s cooldown is 300 on the plot at any speed.

Example (a notebook)::

    with LocalECS(speed=60) as local:
        ...   # a service behind a load balancer, a scalable target, a CPU target-tracking policy
        local.timeline.mark("load starts")
        ...
        local.timeline.plot()
        local.client("application-autoscaling").describe_scaling_activities(ServiceNamespace="ecs")
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ecsdojo.control import alarms as alarm_rules
from ecsdojo.control.moto import autoscaling as moto
from ecsdojo.control.alarms import ALARM, AlarmEvaluation, AlarmSpec, AlarmSpecError, evaluate_alarm
from ecsdojo.control.metrics import METRIC_PERIOD_S, EcsTime, MetricsPublisher, timeline_metric_label
from ecsdojo.control.scaling import (ECS_NAMESPACE, STEP_SCALING, TARGET_TRACKING, CooldownTracker,
                                     PolicyProposal, ScalableTarget, ScalingActivity, ScalingPolicyError,
                                     ScheduledAction, ScheduledActionError, StepScalingConfig, TargetTrackingConfig,
                                     apply_scheduled_run, decide_scaling, due_scheduled_actions,
                                     step_scaling_proposal, target_tracking_alarms, target_tracking_proposal)
from ecsdojo.timeline import Timeline

__all__ = ["AutoScaling", "AlarmEvaluator", "AlarmHistory", "AlarmInvocation", "AlarmOutcome",
           "ScalingReconciler", "ScalingTimeline"]

log = logging.getLogger(__name__)

SUBTICK_ECS_S = 10             # schedules, registrations and counts are checked every 10 ECS seconds ...
MAX_SUBTICK_WALL_S = 0.5       # ... or every half wall second, whichever comes first
MAX_ACTIVITIES = 2000          # kept per LocalECS (AWS keeps six weeks)
MAX_HISTORY = 500              # alarm history items kept per alarm
INITIAL_REASON = "Unchecked: Initial alarm creation"


class ScalingTimeline(Timeline):
    """A `Timeline` on ECS time: `mark("load starts")` and `now()` need no clock of your own.

    Example::

        local.timeline.mark("load starts")
        figure = local.timeline.plot(title="CPU target tracking at 50 %")
    """

    def __init__(self, ecs_time: EcsTime) -> None:
        super().__init__()
        self.ecs_time = ecs_time

    def now(self) -> float:
        """ECS seconds (epoch-based), the timeline's time axis."""
        return self.ecs_time.now()

    def mark(self, text: str) -> None:
        """An event on the time axis, now."""
        self.record_event(self.now(), text)


# --- values passed between the parts --------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmOutcome:
    """One alarm after an evaluation round."""
    name: str
    spec: AlarmSpec
    state: str
    previous_state: str
    metric_value: float | None
    actions_enabled: bool
    actions: Mapping[str, tuple[str, ...]]      # state -> action ARNs

    @property
    def changed(self) -> bool:
        return self.state != self.previous_state


@dataclass(frozen=True)
class AlarmInvocation:
    """An alarm in some state invoking a scaling policy."""
    policy_arn: str
    alarm_name: str
    state: str
    metric_value: float | None
    threshold: float


@dataclass(frozen=True)
class _Transition:
    name: str
    old: str
    new: str
    summary: Mapping[str, Any]
    external: bool                 # set by someone other than the evaluator (a learner's set_alarm_state)


def is_policy_arn(arn: str) -> bool:
    return arn.startswith("arn:") and ":autoscaling:" in arn and ":scalingPolicy:" in arn


def _policy_for(action: str, policy_arns: list[str]) -> str | None:
    """The policy an alarm action names (target-tracking alarms add ':createdBy/<uuid>' to the ARN)."""
    for arn in policy_arns:
        if action == arn or action.startswith(arn + ":"):
            return arn
    return None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _wire(value: Any) -> Any:
    """JSON for the awsJson protocol: datetimes as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def _alarm_labels(policies: list[dict[str, Any]]) -> dict[str, str]:
    """Short timeline names for target-tracking alarms: 'POLICY AlarmHigh'."""
    labels = {}
    for policy in policies:
        for alarm in policy.get("Alarms") or []:
            for kind in ("AlarmHigh", "AlarmLow"):
                if f"-{kind}-" in alarm["AlarmName"]:
                    labels[alarm["AlarmName"]] = f"{policy['PolicyName']} {kind}"
    return labels


# --- alarm history -----------------------------------------------------------------------------------------------

class AlarmHistory:
    """describe_alarm_history's items (StateUpdate and Action), newest first per alarm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, deque[dict[str, Any]]] = {}

    def _add(self, name: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._items.setdefault(name, deque(maxlen=MAX_HISTORY)).appendleft(item)

    def state_update(self, name: str, *, old: str, old_reason: str, new: str, new_reason: str,
                     reason_data: str | None) -> None:
        try:
            data = json.loads(reason_data) if reason_data else None
        except ValueError:
            data = None
        new_state: dict[str, Any] = {"stateValue": new, "stateReason": new_reason}
        if data:
            new_state["stateReasonData"] = data
        self._add(name, {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": datetime.now(timezone.utc),
                         "HistoryItemType": "StateUpdate", "HistorySummary": f"Alarm updated from {old} to {new}",
                         "HistoryData": json.dumps({"version": "1.0",
                                                    "oldState": {"stateValue": old, "stateReason": old_reason},
                                                    "newState": new_state})})

    def action(self, name: str, *, action: str, succeeded: bool, detail: str = "") -> None:
        summary = (f"Successfully executed action {action}" if succeeded
                   else f"Failed to execute action {action}. Received error: \"{detail}\"")
        self._add(name, {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": datetime.now(timezone.utc),
                         "HistoryItemType": "Action", "HistorySummary": summary,
                         "HistoryData": json.dumps({"actionState": "Succeeded" if succeeded else "Failed",
                                                    "notificationResource": action,
                                                    **({"error": detail} if detail else {})})})

    def describe(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The DescribeAlarmHistory answer for these parameters (AlarmName, HistoryItemType, StartDate,
        EndDate, MaxRecords, NextToken, ScanBy)."""
        with self._lock:
            name = params.get("AlarmName")
            items = [i for key, found in self._items.items() if name in (None, key) for i in found]
        kind = params.get("HistoryItemType")
        if kind:
            items = [i for i in items if i["HistoryItemType"] == kind]
        start, end = params.get("StartDate"), params.get("EndDate")
        if start is not None:
            items = [i for i in items if i["Timestamp"].timestamp() >= _seconds(start)]
        if end is not None:
            items = [i for i in items if i["Timestamp"].timestamp() <= _seconds(end)]
        items.sort(key=lambda i: i["Timestamp"], reverse=params.get("ScanBy") != "TimestampAscending")
        first = int(params.get("NextToken") or 0)
        count = int(params.get("MaxRecords") or 100)
        body: dict[str, Any] = {"AlarmHistoryItems": items[first:first + count]}
        if first + count < len(items):
            body["NextToken"] = str(first + count)
        return body


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


# --- alarm evaluation --------------------------------------------------------------------------------------------

class AlarmEvaluator:
    """Evaluates every CloudWatch metric alarm in moto on ECS time and writes state changes.

    `evaluate_all(now)` is one round (ECS seconds); `transitions()` hands over state changes made by
    anyone (through the intercepted set_alarm_state), so actions run once per transition.
    """

    def __init__(self, adapter: Any, cloudwatch: Any, *, ecs_time: EcsTime, history: AlarmHistory,
                 timeline: Any = None, sns: Any = None) -> None:
        self.adapter = adapter
        self.cloudwatch = cloudwatch
        self.sns = sns
        self.ecs_time = ecs_time
        self.history = history
        self.timeline = timeline
        self._lock = threading.Lock()
        self._expected: set[tuple[str, str]] = set()
        self._transitions: deque[_Transition] = deque()
        self._reported: set[str] = set()
        self.last_values: dict[str, float] = {}
        self.last_outcomes: dict[str, AlarmOutcome] = {}
        self.labels: dict[str, str] = {}
        self.wake: Callable[[], None] = lambda: None

    # ---- the intercepted API -------------------------------------------------------------------------
    def handlers(self) -> dict[str, Callable]:
        return {"set_alarm_state": self._set_alarm_state, "put_metric_alarm": self._put_metric_alarm,
                "describe_alarm_history": self._describe_alarm_history}

    def _put_metric_alarm(self, response, params, original):
        """A new alarm starts in INSUFFICIENT_DATA (moto: OK); an updated one keeps its state (AWS's rule)."""
        name = params.get("AlarmName", "")
        before = moto.alarm_summary(self.adapter, name)
        result = original()
        if before is None:
            moto.set_alarm_fields(self.adapter, name, state="INSUFFICIENT_DATA", reason=INITIAL_REASON)
        else:
            moto.set_alarm_fields(self.adapter, name, state=before["state"], reason=before["reason"],
                                  reason_data=before["reason_data"])
        return result

    def _set_alarm_state(self, response, params, original):
        name = params.get("AlarmName", "")
        before = moto.alarm_summary(self.adapter, name)
        result = original()
        after = moto.alarm_summary(self.adapter, name)
        if before is not None and after is not None and before["state"] != after["state"]:
            self.history.state_update(name, old=before["state"], old_reason=before["reason"], new=after["state"],
                                      new_reason=after["reason"], reason_data=after["reason_data"])
            with self._lock:
                internal = (name, after["state"]) in self._expected
                self._expected.discard((name, after["state"]))
                self._transitions.append(_Transition(name, before["state"], after["state"], after, not internal))
            self.wake()
        return result

    def _describe_alarm_history(self, response, params, original):
        return moto.action_result(self.history.describe(params))

    def transitions(self) -> list[_Transition]:
        with self._lock:
            found = list(self._transitions)
            self._transitions.clear()
        return found

    # ---- one round -------------------------------------------------------------------------------------
    def _describe(self) -> list[dict[str, Any]]:
        alarms: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.cloudwatch.describe_alarms(**({"NextToken": token} if token else {}))
            alarms += page.get("MetricAlarms", [])
            token = page.get("NextToken")
            if not token:
                return alarms

    def evaluate_all(self, now: float) -> list[AlarmOutcome]:
        """Evaluate every metric alarm at ECS time `now`; write changes; return the outcomes."""
        described = self._describe()        # (describe_alarms runs under the adapter's lock: see install)
        with self.adapter.lock:
            self.labels = _alarm_labels(moto.scaling_policies(self.adapter))
        specs: list[tuple[dict[str, Any], AlarmSpec]] = []
        for alarm in described:
            try:
                specs.append((alarm, AlarmSpec.from_moto(alarm)))
            except AlarmSpecError as error:
                if alarm["AlarmName"] not in self._reported:
                    self._reported.add(alarm["AlarmName"])
                    log.warning("not evaluated: %s", error)
        if not specs:
            return []
        since = min(now - (spec.range_periods + 1) * spec.period for _, spec in specs)
        index: dict[tuple[str, str], list[tuple[frozenset, str | None, float, list[float]]]] = {}
        for namespace, name, dimensions, unit, seconds, values in moto.metric_datapoints(
                self.adapter, since=self.ecs_time.to_real(since)):
            index.setdefault((namespace, name), []).append((dimensions, unit, seconds, values))
        real_now = self.ecs_time.to_real(now)
        outcomes = []
        for alarm, spec in specs:
            wanted = frozenset(spec.dimensions)
            points = [(self.ecs_time.to_ecs(seconds), value)
                      for dimensions, unit, seconds, values in index.get((spec.namespace, spec.metric_name), ())
                      if dimensions == wanted and (spec.unit is None or unit == spec.unit) for value in values]
            previous = alarm.get("StateValue", "OK")
            reason = alarm.get("StateReason", "")
            evaluation = evaluate_alarm(spec, points, now=now, previous_state=previous,
                                        previous_reason=reason if spec.treat_missing_data == "ignore" else None)
            evaluation = self._in_real_time(spec, evaluation, real_now)
            if evaluation.latest_value is not None:
                self.last_values[spec.name] = evaluation.latest_value
            if evaluation.changed or reason.startswith(INITIAL_REASON):
                self._write(evaluation)
            if self.timeline is not None:
                self.timeline.record_alarm(self.labels.get(spec.name, spec.name), now, evaluation.state)
            outcome = AlarmOutcome(spec.name, spec, evaluation.state, previous, evaluation.latest_value,
                                   bool(alarm.get("ActionsEnabled", True)),
                                   {"ALARM": tuple(alarm.get("AlarmActions") or ()),
                                    "OK": tuple(alarm.get("OKActions") or ()),
                                    "INSUFFICIENT_DATA": tuple(alarm.get("InsufficientDataActions") or ())})
            self.last_outcomes[spec.name] = outcome
            outcomes.append(outcome)
        return outcomes

    def _in_real_time(self, spec: AlarmSpec, evaluation: AlarmEvaluation, real_now: float) -> AlarmEvaluation:
        """The evaluation with its periods, reason and reason data on real (wall) time, as the API shows."""
        mapped = [replace(p, start=_utc(self.ecs_time.to_real(p.start.timestamp()))) for p in evaluation.evaluated]
        reason = evaluation.reason
        if reason.startswith("Threshold Crossed:") and not reason.startswith("Threshold Crossed: no datapoints"):
            reason = alarm_rules._threshold_reason(spec, evaluation.state, mapped)
        return alarm_rules._result(spec, _utc(real_now), evaluation.state, evaluation.previous_state, reason, mapped)

    def _write(self, evaluation: AlarmEvaluation) -> None:
        key = (evaluation.alarm_name, evaluation.state)
        with self._lock:
            self._expected.add(key)
        try:
            self.cloudwatch.set_alarm_state(**evaluation.set_alarm_state_kwargs())
        except Exception:  # noqa: BLE001 - deleted meanwhile; the next round sees it gone
            log.exception("set_alarm_state %s failed", evaluation.alarm_name)
        finally:
            with self._lock:
                self._expected.discard(key)

    # ---- actions ---------------------------------------------------------------------------------------
    def invocations(self, outcomes: list[AlarmOutcome], policy_arns: list[str]) -> dict[str, list[AlarmInvocation]]:
        """Scaling policies invoked this minute: by every alarm whose current state lists them."""
        found: dict[str, list[AlarmInvocation]] = {}
        for outcome in outcomes:
            if not outcome.actions_enabled:
                continue
            for action in outcome.actions.get(outcome.state, ()):
                policy = _policy_for(action, policy_arns) if is_policy_arn(action) else None
                if policy is not None:
                    found.setdefault(policy, []).append(AlarmInvocation(
                        policy, outcome.name, outcome.state, outcome.metric_value, outcome.spec.threshold))
        return found

    def run_transition_actions(self, transitions: list[_Transition],
                               policy_arns: list[str]) -> dict[str, list[AlarmInvocation]]:
        """Actions of state changes: SNS notifications, history items; policies of external changes."""
        found: dict[str, list[AlarmInvocation]] = {}
        for transition in transitions:
            summary = transition.summary
            if not summary.get("actions_enabled", True):
                continue
            for action in summary["actions"].get(transition.new, ()):
                if is_policy_arn(action):
                    policy = _policy_for(action, policy_arns)
                    if policy is None:
                        self.history.action(transition.name, action=action, succeeded=False,
                                            detail="No scaling policy found for this action")
                        continue
                    self.history.action(transition.name, action=action, succeeded=True)
                    if transition.external:
                        found.setdefault(policy, []).append(AlarmInvocation(
                            policy, transition.name, transition.new, self._value_of(transition),
                            float(summary.get("threshold") or 0.0)))
                elif action.startswith("arn:aws:sns:"):
                    self._notify(transition, action)
                else:
                    self.history.action(transition.name, action=action, succeeded=False,
                                        detail="ECS Dojo runs scaling-policy and SNS actions only")
        return found

    def _value_of(self, transition: _Transition) -> float | None:
        """The metric value behind a set_alarm_state: its reason data's newest datapoint, else the last seen."""
        try:
            data = json.loads(transition.summary.get("reason_data") or "{}")
            recent = data.get("recentDatapoints") or []
            if recent:
                return float(recent[-1])
        except (TypeError, ValueError, AttributeError):
            pass
        return self.last_values.get(transition.name)

    def _notify(self, transition: _Transition, topic: str) -> None:
        summary = transition.summary
        message = {"AlarmName": transition.name, "AlarmArn": summary.get("arn"), "NewStateValue": transition.new,
                   "NewStateReason": summary.get("reason"), "OldStateValue": transition.old,
                   "StateChangeTime": datetime.now(timezone.utc).isoformat(), "Region": self.adapter.region}
        try:
            if self.sns is None:
                raise RuntimeError("no SNS client")
            self.sns.publish(TopicArn=topic, Subject=f'{transition.new}: "{transition.name}"'[:100],
                             Message=json.dumps(message))
            self.history.action(transition.name, action=topic, succeeded=True)
        except Exception as error:  # noqa: BLE001 - a missing topic is the learner's to fix
            self.history.action(transition.name, action=topic, succeeded=False, detail=str(error))


# --- scaling -----------------------------------------------------------------------------------------------------

class ScalingReconciler:
    """Runs Application Auto Scaling for ECS services: policies, scheduled actions, registrations.

    Every change of desiredCount goes through the ECS API (`ecs.update_service`) and is recorded as a
    `ScalingActivity`, served by the intercepted describe_scaling_activities.
    """

    def __init__(self, plane: Any, ecs: Any, *, ecs_time: EcsTime, timeline: Any = None) -> None:
        self.plane = plane
        self.adapter = plane.adapter
        self.ecs = ecs
        self.ecs_time = ecs_time
        self.timeline = timeline
        self._lock = threading.Lock()
        self._activities: deque[ScalingActivity] = deque(maxlen=MAX_ACTIVITIES)     # newest first
        self._cooldowns: dict[str, CooldownTracker] = {}
        self._schedule_checked: dict[tuple[str, str, str], float] = {}
        self._registered: set[tuple[str, str]] = set()
        self._counts: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._reported: set[str] = set()
        self.wake: Callable[[], None] = lambda: None

    # ---- the intercepted API -------------------------------------------------------------------------
    def handlers(self) -> dict[str, Callable]:
        return {"put_scaling_policy": self._put_scaling_policy, "register_scalable_target": self._register,
                "deregister_scalable_target": self._deregister, "put_scheduled_action": self._put_scheduled_action,
                "describe_scaling_activities": self._describe_scaling_activities}

    def _require_target(self, namespace: str, resource_id: str, dimension: str) -> None:
        if not any(t["ResourceId"] == resource_id and t["ScalableDimension"] == dimension
                   for t in moto.scalable_targets(self.adapter, namespace)):
            raise moto.object_not_found(f"No scalable target registered for service namespace: {namespace}, "
                                        f"resource ID: {resource_id}, scalable dimension: {dimension}")

    def _put_scaling_policy(self, response, params, original):
        namespace, resource_id = params.get("ServiceNamespace"), params.get("ResourceId", "")
        dimension, name = params.get("ScalableDimension"), params.get("PolicyName", "")
        old = moto.scaling_policy(self.adapter, namespace=namespace, resource_id=resource_id, dimension=dimension,
                                  name=name)
        kind = params.get("PolicyType") or (old or {}).get("PolicyType")   # required on creation
        if namespace == ECS_NAMESPACE:
            self._require_target(namespace, resource_id, dimension)
            try:
                if kind == TARGET_TRACKING:
                    config = TargetTrackingConfig.from_api(
                        params.get("TargetTrackingScalingPolicyConfiguration") or {}, policy_name=name)
                    target_tracking_alarms(name, resource_id, config)
                elif kind == STEP_SCALING:
                    StepScalingConfig.from_api(params.get("StepScalingPolicyConfiguration") or {}, policy_name=name)
            except (ScalingPolicyError, KeyError, TypeError, ValueError) as error:
                raise moto.validation_error(str(error)) from error
        result = original()
        policy = moto.scaling_policy(self.adapter, namespace=namespace, resource_id=resource_id,
                                     dimension=dimension, name=name)
        if policy is None:
            return result
        if namespace == ECS_NAMESPACE and policy["PolicyType"] == TARGET_TRACKING:
            self._retarget_alarms(policy)
            policy = moto.scaling_policy(self.adapter, namespace=namespace, resource_id=resource_id,
                                         dimension=dimension, name=name) or policy
        if old is not None:       # moto keeps the replaced policy's alarms: AWS replaces them
            current = {a["AlarmName"] for a in policy["Alarms"]}
            moto.delete_alarms(self.adapter, [a["AlarmName"] for a in old["Alarms"] if a["AlarmName"] not in current])
        self.wake()
        return json.dumps({"PolicyARN": policy["PolicyARN"],
                           "Alarms": [{"AlarmName": a["AlarmName"], "AlarmARN": a["AlarmARN"]}
                                      for a in policy["Alarms"]]})

    def _retarget_alarms(self, policy: dict[str, Any]) -> None:
        """Re-put moto's target-tracking alarms with the policy's metric and TargetValue thresholds."""
        config = TargetTrackingConfig.from_api(policy["TargetTrackingScalingPolicyConfiguration"] or {},
                                               policy_name=policy["PolicyName"])
        high, low = target_tracking_alarms(policy["PolicyName"], policy["ResourceId"], config,
                                           policy_arn=policy["PolicyARN"])
        existing = {kind: next((a for a in policy["Alarms"] if f"-{kind}-" in a["AlarmName"]), None)
                    for kind in ("AlarmHigh", "AlarmLow")}
        params = []
        for kind, spec in (("AlarmHigh", high), ("AlarmLow", low)):
            if spec is None:
                continue
            found = existing[kind]
            actions = tuple(found["AlarmActions"]) if found and found["AlarmActions"] else spec.alarm_actions
            params.append(replace(spec, name=found["AlarmName"] if found else spec.name,
                                  alarm_actions=actions).to_put_metric_alarm())
        moto.replace_policy_alarms(self.adapter, policy["PolicyARN"], params)

    def _register(self, response, params, original):
        low, high = params.get("MinCapacity"), params.get("MaxCapacity")
        if low is not None and high is not None and int(low) > int(high):
            raise moto.validation_error("Minimum capacity cannot be greater than maximum capacity")
        result = original()
        if params.get("ServiceNamespace") == ECS_NAMESPACE:
            with self._lock:
                self._registered.add((params.get("ResourceId", ""), params.get("ScalableDimension", "")))
            self.wake()
        return result

    def _deregister(self, response, params, original):
        result = original()
        namespace, resource_id = params.get("ServiceNamespace", ""), params.get("ResourceId", "")
        dimension = params.get("ScalableDimension", "")
        moto.forget_target(self.adapter, namespace=namespace, resource_id=resource_id, dimension=dimension)
        with self._lock:
            self._cooldowns.pop(resource_id, None)
        return result

    def _put_scheduled_action(self, response, params, original):
        namespace = params.get("ServiceNamespace")
        if namespace == ECS_NAMESPACE:
            self._require_target(namespace, params.get("ResourceId", ""), params.get("ScalableDimension", ""))
            try:
                ScheduledAction.from_api(params)
            except ScheduledActionError as error:
                raise moto.validation_error(str(error)) from error
        result = original()
        self.wake()
        return result

    def _describe_scaling_activities(self, response, params, original):
        namespace = params.get("ServiceNamespace")
        if not namespace:
            raise moto.validation_error("1 validation error detected: Value null at 'serviceNamespace' failed to "
                                        "satisfy constraint: Member must not be null")
        resource_id, dimension = params.get("ResourceId"), params.get("ScalableDimension")
        include_not_scaled = bool(params.get("IncludeNotScaledActivities"))
        with self._lock:
            items = [a for a in self._activities if a.service_namespace == namespace
                     and resource_id in (None, a.resource_id) and dimension in (None, a.scalable_dimension)
                     and (include_not_scaled or not a.not_scaled_reasons)]
        first = int(params.get("NextToken") or 0)
        count = max(1, min(int(params.get("MaxResults") or 50), 50))
        body: dict[str, Any] = {"ScalingActivities": [_wire(a.to_api()) for a in items[first:first + count]]}
        if first + count < len(items):
            body["NextToken"] = str(first + count)
        return json.dumps(body)

    # ---- reading state ------------------------------------------------------------------------------------
    def activities(self, resource_id: str | None = None, *, include_not_scaled: bool = False) -> list[ScalingActivity]:
        """Recorded activities, newest first."""
        with self._lock:
            return [a for a in self._activities if resource_id in (None, a.resource_id)
                    and (include_not_scaled or not a.not_scaled_reasons)]

    def _service(self, resource_id: str) -> tuple[str, str, int, bool] | None:
        """(cluster, service, desiredCount, deployment in progress) of an ACTIVE service, or None."""
        parts = resource_id.split("/")
        if len(parts) != 3 or parts[0] != "service":
            return None
        cluster, name = parts[1], parts[2]
        plane = self.plane
        with plane.lock:
            service = plane.adapter.service(cluster, name)
            if service is None or service.status != "ACTIVE":
                return None
            record = plane.services.get((cluster, name))
            deploying = record is not None and record.deployment_in_progress
            return cluster, name, int(service.desired_count), deploying

    def _targets_and_policies(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.adapter.lock:
            targets = moto.scalable_targets(self.adapter, ECS_NAMESPACE)
            return targets, moto.scaling_policies(self.adapter, ECS_NAMESPACE)

    def _target(self, raw: Mapping[str, Any]) -> ScalableTarget | None:
        try:
            return ScalableTarget.from_api(raw)
        except (ScalingPolicyError, KeyError, TypeError, ValueError) as error:
            self._report(str(raw.get("ResourceId")), error)
            return None

    def _report(self, key: str, error: Exception) -> None:
        if key not in self._reported:
            self._reported.add(key)
            log.warning("auto scaling skips %s: %s", key, error)

    # ---- policies --------------------------------------------------------------------------------------
    def policy_arns(self) -> list[str]:
        return [p["PolicyARN"] for p in self._targets_and_policies()[1]]

    def act(self, invocations: Mapping[str, list[AlarmInvocation]], *, now: float) -> list[ScalingActivity]:
        """Run the invoked policies of each scalable target together (ECS time `now`)."""
        if not invocations:
            return []
        targets, policies = self._targets_and_policies()
        recorded = []
        for raw in targets:
            target = self._target(raw)
            if target is None:
                continue
            mine = [p for p in policies if p["ResourceId"] == target.resource_id
                    and p["ScalableDimension"] == target.scalable_dimension]
            if not any(p["PolicyARN"] in invocations for p in mine):
                continue
            service = self._service(target.resource_id)
            if service is None:
                continue
            cluster, name, current, deploying = service
            cooldowns = self._cooldowns.setdefault(target.resource_id, CooldownTracker())
            proposals = [p for p in (self._proposal(policy, invocations.get(policy["PolicyARN"], []), current,
                                                     now, cooldowns) for policy in mine) if p is not None]
            decision = decide_scaling(target, current, proposals, now=now, cooldowns=cooldowns,
                                      deployment_in_progress=deploying)
            real_now = datetime.now(timezone.utc)
            activity = decision.activity(now=real_now)
            if decision.changed and activity is not None:
                error = self._set_desired(cluster, name, decision.new_capacity)
                if error:
                    activity = replace(activity, status_code="Failed", status_message=error)
                else:
                    winner = decision.proposal
                    assert winner is not None
                    cooldowns.record(now=now, old_capacity=current, new_capacity=decision.new_capacity,
                                     cooldown_s=winner.scale_out_cooldown_s if decision.direction == "out"
                                     else winner.scale_in_cooldown_s)
                self._record(activity, now)
                recorded.append(activity)
            elif activity is not None and self._new_not_scaled(activity):
                self._record(activity, now)
                recorded.append(activity)
        return recorded

    def _proposal(self, policy: Mapping[str, Any], invoked: list[AlarmInvocation], current: int, now: float,
                  cooldowns: CooldownTracker) -> PolicyProposal | None:
        name = policy["PolicyName"]
        try:
            if policy["PolicyType"] == TARGET_TRACKING:
                config = TargetTrackingConfig.from_api(policy["TargetTrackingScalingPolicyConfiguration"] or {},
                                                       policy_name=name)
                names = {kind: next((a["AlarmName"] for a in policy["Alarms"] if f"-{kind}-" in a["AlarmName"]), "")
                         for kind in ("AlarmHigh", "AlarmLow")}
                high = next((i for i in invoked if i.alarm_name == names["AlarmHigh"] and i.state == ALARM), None)
                low = next((i for i in invoked if i.alarm_name == names["AlarmLow"] and i.state == ALARM), None)
                value = (high or low).metric_value if (high or low) else None
                return target_tracking_proposal(name, config, high_state=ALARM if high else "OK",
                                                low_state=ALARM if low else "OK", metric_value=value,
                                                current_capacity=current, now=now, cooldowns=cooldowns,
                                                high_alarm_name=names["AlarmHigh"], low_alarm_name=names["AlarmLow"])
            if policy["PolicyType"] == STEP_SCALING:
                config = StepScalingConfig.from_api(policy["StepScalingPolicyConfiguration"] or {}, policy_name=name)
                firing = next((i for i in invoked if i.state == ALARM), invoked[0] if invoked else None)
                if firing is None:
                    return step_scaling_proposal(name, config, alarm_state="OK", alarm_name="", alarm_threshold=0.0,
                                                 metric_value=None, current_capacity=current)
                value = firing.metric_value if firing.metric_value is not None else firing.threshold
                return step_scaling_proposal(name, config, alarm_state=ALARM, alarm_name=firing.alarm_name,
                                             alarm_threshold=firing.threshold, metric_value=value,
                                             current_capacity=current, now=now, cooldowns=cooldowns)
        except (ScalingPolicyError, KeyError, TypeError, ValueError) as error:
            self._report(policy["PolicyARN"], error)
        return None

    def _new_not_scaled(self, activity: ScalingActivity) -> bool:
        """A not-scaled activity is recorded once while the same reason repeats."""
        with self._lock:
            previous = next((a for a in self._activities if a.resource_id == activity.resource_id), None)
        return previous is None or not (previous.not_scaled_reasons == activity.not_scaled_reasons
                                        and previous.cause == activity.cause)

    def _set_desired(self, cluster: str, service: str, desired: int) -> str | None:
        try:
            self.ecs.update_service(cluster=cluster, service=service, desiredCount=int(desired))
            return None
        except Exception as error:  # noqa: BLE001 - recorded as a failed activity
            return str(error)

    def _record(self, activity: ScalingActivity, now: float) -> None:
        with self._lock:
            self._activities.appendleft(activity)
        if self.timeline is not None:
            self.timeline.record_activity(now, activity.description if not activity.not_scaled_reasons
                                          else f"not scaled: {activity.not_scaled_reasons[0].get('Code')}")
        log.info("%s %s: %s (%s)", activity.resource_id, activity.status_code, activity.description, activity.cause)

    # ---- scheduled actions and registrations -----------------------------------------------------------
    def apply_schedules(self, now: float) -> list[ScalingActivity]:
        """Run the scheduled actions due since the last check (ECS time `now`).

        A schedule's instants (at(), cron(), StartTime, EndTime) are read as real time fast-forwarded from
        the moment the action was created: at speed 60, an at() five minutes after its creation fires five
        ECS minutes (5 wall seconds) later, and cron(0/5 * * * ? *) every five ECS minutes."""
        with self.adapter.lock:
            actions = moto.scheduled_actions(self.adapter, ECS_NAMESPACE)
            targets = {(t["ResourceId"], t["ScalableDimension"]): t
                       for t in moto.scalable_targets(self.adapter, ECS_NAMESPACE)}
        due: dict[tuple[str, str], list[tuple[float, Any]]] = {}
        for raw in actions:
            key = (raw["ResourceId"], raw["ScalableDimension"])
            try:
                spec = ScheduledAction.from_api(raw)
            except ScheduledActionError as error:
                self._report(raw.get("ScheduledActionARN", ""), error)
                continue
            created = raw.get("CreationTime")
            shift = self.ecs_time.to_ecs(float(created)) - float(created) if isinstance(created, (int, float)) else 0.0
            checked_key = (key[0], key[1], spec.name)
            last = self._schedule_checked.get(checked_key)
            runs = due_scheduled_actions([spec], now=now - shift,
                                         last_run={spec.name: last - shift} if last is not None else None)
            self._schedule_checked[checked_key] = now
            due.setdefault(key, []).extend((run.run_time.timestamp() + shift, run) for run in runs)
        recorded: list[ScalingActivity] = []
        for key, runs in due.items():
            raw_target = targets.get(key)
            for _, run in sorted(runs, key=lambda item: item[0]):
                target = self._target(raw_target) if raw_target else None
                service = self._service(key[0]) if target else None
                if target is None or service is None:
                    continue
                cluster, name, current, _ = service
                try:
                    outcome = apply_scheduled_run(target, current, run, now=datetime.now(timezone.utc))
                except ScheduledActionError as error:
                    self._report(f"{key[0]}:{run.action_name}", error)
                    continue
                with self.adapter.lock:
                    moto.write_scalable_target(self.adapter, namespace=ECS_NAMESPACE, resource_id=key[0],
                                               dimension=key[1], min_capacity=outcome.target.min_capacity,
                                               max_capacity=outcome.target.max_capacity)
                raw_target = dict(raw_target, MinCapacity=outcome.target.min_capacity,
                                  MaxCapacity=outcome.target.max_capacity)
                error = self._set_desired(cluster, name, outcome.desired) if outcome.desired != current else None
                for activity in outcome.activities:
                    if error and activity.description.startswith("Setting desired count"):
                        activity = replace(activity, status_code="Failed", status_message=error)
                    self._record(activity, now)
                    recorded.append(activity)
        return recorded

    def apply_registrations(self, now: float) -> list[ScalingActivity]:
        """Put each newly registered (or updated) target's desired count inside its min/max."""
        with self._lock:
            pending = list(self._registered)
            self._registered.clear()
        if not pending:
            return []
        targets, _ = self._targets_and_policies()
        recorded = []
        for resource_id, dimension in pending:
            raw = next((t for t in targets if (t["ResourceId"], t["ScalableDimension"]) == (resource_id, dimension)),
                       None)
            target = self._target(raw) if raw else None
            service = self._service(resource_id) if target else None
            if target is None or service is None:
                continue
            cluster, name, current, _ = service
            desired = target.clamp(current)
            if desired == current:
                continue
            cause = (f"minimum capacity was set to {target.min_capacity}" if desired > current
                     else f"maximum capacity was set to {target.max_capacity}")
            activity = ScalingActivity.desired_count_set(resource_id, desired, cause, start=datetime.now(timezone.utc))
            error = self._set_desired(cluster, name, desired)
            if error:
                activity = replace(activity, status_code="Failed", status_message=error)
            self._record(activity, now)
            recorded.append(activity)
        return recorded

    # ---- timeline ----------------------------------------------------------------------------------------
    def record_counts(self, now: float, *, force: bool = False) -> None:
        """Desired / running / pending of every service (on change, or always with `force`)."""
        if self.timeline is None:
            return
        plane = self.plane
        with plane.lock:
            rows = []
            for (cluster, name) in list(plane.services):
                service = plane.adapter.service(cluster, name)
                if service is not None and service.status == "ACTIVE":
                    rows.append(((cluster, name), (int(service.desired_count), int(service.running_count or 0),
                                                   int(service.pending_count or 0))))
        for key, counts in rows:
            if force or self._counts.get(key) != counts:
                self._counts[key] = counts
                self.timeline.record_counts(key[1], now, *counts)

    def record_targets(self) -> None:
        """Each target-tracking policy's TargetValue as a dashed line beside its metric on the timeline."""
        if self.timeline is None:
            return
        for policy in self._targets_and_policies()[1]:
            if policy["PolicyType"] != TARGET_TRACKING:
                continue
            try:
                config = TargetTrackingConfig.from_api(policy["TargetTrackingScalingPolicyConfiguration"] or {},
                                                       policy_name=policy["PolicyName"])
                high, _ = target_tracking_alarms(policy["PolicyName"], policy["ResourceId"], config)
            except (ScalingPolicyError, KeyError, TypeError, ValueError):
                continue
            label = timeline_metric_label(high.namespace, high.metric_name, dict(high.dimensions))
            if label:
                self.timeline.set_target(label, config.target_value)


# --- the engine ----------------------------------------------------------------------------------------------

class AutoScaling:
    """Metrics, alarms and Application Auto Scaling for one LocalECS, on its compressed clock.

    Example::

        scaling = AutoScaling(plane, moto_server, balancers=balancers, timeline=timeline)
        scaling.start()
        ...
        scaling.stop()
    """

    def __init__(self, plane: Any, moto_server: Any, *, balancers: Any = None, timeline: Any = None,
                 ecs_time: EcsTime | None = None) -> None:
        self.plane = plane
        self.ecs_time = ecs_time or getattr(timeline, "ecs_time", None) or EcsTime(plane.clock)
        self.timeline = timeline if timeline is not None else ScalingTimeline(self.ecs_time)
        cloudwatch = moto_server.client("cloudwatch")
        self.history = AlarmHistory()
        self.publisher = MetricsPublisher(plane, cloudwatch, ecs_time=self.ecs_time, balancers=balancers,
                                          timeline=self.timeline)
        self.evaluator = AlarmEvaluator(plane.adapter, cloudwatch, ecs_time=self.ecs_time, history=self.history,
                                        timeline=self.timeline, sns=moto_server.client("sns"))
        self.reconciler = ScalingReconciler(plane, moto_server.client("ecs"), ecs_time=self.ecs_time,
                                            timeline=self.timeline)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.evaluator.wake = self._wake.set
        self.reconciler.wake = self._wake.set
        self.minutes = 0

    def start(self) -> AutoScaling:
        moto.install_autoscaling(self.plane.adapter, self.reconciler.handlers(),
                                 cloudwatch_handlers=self.evaluator.handlers())
        self.publisher.start()
        self._thread = threading.Thread(target=self._run, name="ecsdojo-autoscaling", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.publisher.stop()
        moto.uninstall_autoscaling(self.plane.adapter)

    def now(self) -> float:
        """ECS time now (epoch seconds running at the control plane's speed)."""
        return self.ecs_time.now()

    def activities(self, resource_id: str | None = None, *, include_not_scaled: bool = False) -> list[ScalingActivity]:
        return self.reconciler.activities(resource_id, include_not_scaled=include_not_scaled)

    # ---- the loop --------------------------------------------------------------------------------------
    def _run(self) -> None:
        minute = math.floor(self.now() / METRIC_PERIOD_S) * METRIC_PERIOD_S
        while not self._stop.is_set():
            now = self.now()
            current = math.floor(now / METRIC_PERIOD_S) * METRIC_PERIOD_S
            if current > minute:
                self._guard("the minute", self.run_minute, current, int((current - minute) // METRIC_PERIOD_S))
                minute = current
            self._guard("the sub-tick", self.run_subtick, self.now())
            until_minute = self.ecs_time.wall_until(minute + METRIC_PERIOD_S)
            subtick = min(max(self.plane.clock.wall(SUBTICK_ECS_S), 0.02), MAX_SUBTICK_WALL_S)
            self._wake.wait(max(min(until_minute, subtick), 0.002))
            self._wake.clear()

    @staticmethod
    def _guard(what: str, step: Callable, *args: Any) -> None:
        try:
            step(*args)
        except Exception:  # noqa: BLE001 - one failed step must not stop auto scaling
            log.exception("auto scaling: %s failed", what)

    def run_minute(self, boundary: float, missed: int = 1) -> None:
        """Publish the minute(s) ending at `boundary`, evaluate every alarm, run invoked policies."""
        self.minutes += 1
        for index in range(min(missed, 5), 0, -1):
            end = boundary - (index - 1) * METRIC_PERIOD_S
            self.publisher.publish(end - METRIC_PERIOD_S, end)
        now = self.now()
        outcomes = self.evaluator.evaluate_all(now)
        policy_arns = self.reconciler.policy_arns()
        self._run_transitions(policy_arns, now)
        self.reconciler.act(self.evaluator.invocations(outcomes, policy_arns), now=now)
        self.reconciler.record_targets()
        self.reconciler.record_counts(now, force=True)

    def run_subtick(self, now: float) -> None:
        self._run_transitions(None, now)
        self.reconciler.apply_registrations(now)
        self.reconciler.apply_schedules(now)
        self.reconciler.record_counts(now)

    def _run_transitions(self, policy_arns: list[str] | None, now: float) -> None:
        transitions = self.evaluator.transitions()
        if not transitions:
            return
        arns = policy_arns if policy_arns is not None else self.reconciler.policy_arns()
        invoked = self.evaluator.run_transition_actions(transitions, arns)
        if invoked:
            self.reconciler.act(invoked, now=now)
