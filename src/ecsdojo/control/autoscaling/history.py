"""Values passed between the auto scaling parts, the alarm history CloudWatch keeps, and the timeline on ECS time.

Example::

    history = AlarmHistory()
    history.describe({"AlarmName": "cpu-high"})
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ecsdojo.control.autoscaling.alarms import AlarmSpec
from ecsdojo.control.metrics import (
    EcsTime,
)
from ecsdojo.timeline import Timeline, epoch_seconds

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
            items = [i for i in items if i["Timestamp"].timestamp() >= epoch_seconds(start)]
        if end is not None:
            items = [i for i in items if i["Timestamp"].timestamp() <= epoch_seconds(end)]
        items.sort(key=lambda i: i["Timestamp"], reverse=params.get("ScanBy") != "TimestampAscending")
        first = int(params.get("NextToken") or 0)
        count = int(params.get("MaxRecords") or 100)
        body: dict[str, Any] = {"AlarmHistoryItems": items[first:first + count]}
        if first + count < len(items):
            body["NextToken"] = str(first + count)
        return body




