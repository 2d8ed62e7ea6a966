"""ScalingReconciler: runs invoked policies (`decisions.decide_scaling`), scheduled actions and registrations,
sets desiredCount through the ECS API and records scaling activities; completes moto's Application Auto
Scaling API (policy validation, target-tracking alarms, describe_scaling_activities).

Example::

    reconciler.act(invocations, now=now)
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from ecsdojo.control.autoscaling.alarms import ALARM
from ecsdojo.control.autoscaling.decisions import (
    CooldownTracker,
    PolicyProposal,
    ScalingActivity,
    decide_scaling,
    step_scaling_proposal,
    target_tracking_proposal,
)
from ecsdojo.control.autoscaling.history import MAX_ACTIVITIES, AlarmInvocation, _wire
from ecsdojo.control.autoscaling.policies import (
    ECS_NAMESPACE,
    STEP_SCALING,
    TARGET_TRACKING,
    ScalableTarget,
    ScalingPolicyError,
    ScheduledActionError,
    StepScalingConfig,
    TargetTrackingConfig,
    target_tracking_alarms,
)
from ecsdojo.control.autoscaling.schedule import ScheduledAction, apply_scheduled_run, due_scheduled_actions
from ecsdojo.control.metrics import (
    EcsTime,
    timeline_metric_label,
)
from ecsdojo.control.moto import autoscaling as moto

log = logging.getLogger(__name__)

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

    def _put_scaling_policy(self, params, original):
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

    def _register(self, params, original):
        low, high = params.get("MinCapacity"), params.get("MaxCapacity")
        if low is not None and high is not None and int(low) > int(high):
            raise moto.validation_error("Minimum capacity cannot be greater than maximum capacity")
        result = original()
        if params.get("ServiceNamespace") == ECS_NAMESPACE:
            with self._lock:
                self._registered.add((params.get("ResourceId", ""), params.get("ScalableDimension", "")))
            self.wake()
        return result

    def _deregister(self, params, original):
        result = original()
        namespace, resource_id = params.get("ServiceNamespace", ""), params.get("ResourceId", "")
        dimension = params.get("ScalableDimension", "")
        moto.forget_target(self.adapter, namespace=namespace, resource_id=resource_id, dimension=dimension)
        with self._lock:
            self._cooldowns.pop(resource_id, None)
        return result

    def _put_scheduled_action(self, params, original):
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

    def _describe_scaling_activities(self, params, original):
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


