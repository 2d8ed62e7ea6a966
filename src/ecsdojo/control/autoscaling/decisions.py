"""From policy proposals to a new desired count: cooldowns, combining several policies, min/max, scale-in held
during a deployment, and the scaling activity that records it.

Example::

    decision = decide_scaling(target, 2, [proposal], now=now, cooldowns=CooldownTracker())
    decision.new_capacity, decision.activity(now=now).description    # 4, 'Setting desired count to 4.'

Sources: Application Auto Scaling User Guide (cooldown periods, scaling activities); ECS developer guide
(scale-in is turned off during deployments).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ecsdojo.control.autoscaling.alarms import ALARM
from ecsdojo.control.autoscaling.policies import (
    DEFAULT_COOLDOWN_S,
    ECS_NAMESPACE,
    ECS_SCALABLE_DIMENSION,
    STEP_SCALING,
    TARGET_TRACKING,
    ScalableTarget,
    StepScalingConfig,
    TargetTrackingConfig,
    _utc,
    step_adjustment,
    target_tracking_desired,
)
from ecsdojo.timeline import epoch_seconds

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
        return epoch_seconds(now) - self._scale_out.at < span

    def in_scale_in_cooldown(self, now: datetime | float, cooldown_s: float) -> bool:
        return self._scale_in_at is not None and epoch_seconds(now) - self._scale_in_at < cooldown_s

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
        moment = epoch_seconds(now)
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


