"""AlarmEvaluator: every CloudWatch metric alarm in moto evaluated once per ECS minute (`alarms.evaluate_alarm`),
state changes written with AWS-style reasons and history, alarm actions invoked (scaling policies, SNS).

Example::

    outcomes = evaluator.evaluate_all(now)
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ecsdojo.control.autoscaling import alarms as alarm_rules
from ecsdojo.control.autoscaling.alarms import AlarmEvaluation, AlarmSpec, AlarmSpecError, evaluate_alarm
from ecsdojo.control.autoscaling.history import (
    INITIAL_REASON,
    AlarmHistory,
    AlarmInvocation,
    AlarmOutcome,
    _alarm_labels,
    _policy_for,
    _Transition,
    is_policy_arn,
)
from ecsdojo.control.autoscaling.policies import _utc
from ecsdojo.control.metrics import (
    EcsTime,
)
from ecsdojo.control.moto import autoscaling as moto

log = logging.getLogger(__name__)

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

    def _put_metric_alarm(self, params, original):
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

    def _set_alarm_state(self, params, original):
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

    def _describe_alarm_history(self, params, original):
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


