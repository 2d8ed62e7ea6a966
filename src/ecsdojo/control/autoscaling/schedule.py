"""Scheduled scaling: at(), rate() and cron() schedules, due runs, and what a run does to a scalable target.

Example::

    runs = due_scheduled_actions(actions, now=now, last_checked=before)
    outcome = apply_scheduled_run(target, current_capacity, runs[0], now=now)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecsdojo.control.autoscaling.cron import CronExpression
from ecsdojo.control.autoscaling.decisions import ScalingActivity
from ecsdojo.control.autoscaling.policies import ScalableTarget, ScheduledActionError, _utc

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
