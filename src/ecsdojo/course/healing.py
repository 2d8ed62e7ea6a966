"""Time to heal: when a service's tasks stopped and when their replacements started, as numbers and a picture.

Works on what `describe_tasks` returns (boto3 dicts: ``taskArn``, ``createdAt``, ``startedAt``, ``stoppedAt``,
``stopCode``, ``stoppedReason``), so the same code reads LocalECS and real AWS. Kill moments are datetimes
(or Unix seconds) recorded by the notebook just before it broke a task.

Example::

    arns = ecs.list_tasks(cluster="dojo", serviceName="web")["taskArns"]
    arns += ecs.list_tasks(cluster="dojo", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster="dojo", tasks=arns)["tasks"]
    heal_times(tasks, kills=[killed_at])        # [1.3]: seconds from the kill to the replacement's startedAt
    heal_timeline(tasks, kills=[killed_at])     # a matplotlib Figure: one bar per task, kills marked

The plot never calls `pyplot`: it builds a `matplotlib.figure.Figure` directly, so it works without a display
and leaves no global state behind. Jupyter draws a returned Figure once the inline backend is on: run
`%matplotlib inline` (or import pyplot) in the notebook first, else it shows only ``<Figure size ...>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["TaskSpan", "BadTaskItem", "task_spans", "heal_times", "heal_timeline"]

# Bar colours by how a task ended (still running: green).
_RUNNING_COLOUR = "tab:green"
_STOP_COLOURS = {
    "EssentialContainerExited": "tab:red",
    "TaskFailedToStart": "tab:orange",
    "ServiceSchedulerInitiated": "tab:purple",
    "UserInitiated": "tab:gray",
}
_OTHER_STOP_COLOUR = "tab:brown"


class BadTaskItem(ValueError):
    """One item of the task list cannot be drawn: it names the item and the field."""

    def __init__(self, index: int, field: str, problem: str) -> None:
        super().__init__(f"tasks[{index}]: field {field!r} {problem} (pass what describe_tasks returns: "
                         f"dicts with taskArn, createdAt, startedAt, stoppedAt)")
        self.index = index
        self.field = field


@dataclass(frozen=True)
class TaskSpan:
    """One task on the time axis (Unix seconds). `started` is None for a task that never ran."""

    task_id: str
    created: float
    started: float | None
    stopped: float | None
    stop_code: str | None
    stopped_reason: str | None


def _seconds(moment: datetime | float | int) -> float:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, (int, float)):
        raise TypeError(f"a moment must be a datetime or Unix seconds, not {type(moment).__name__}")
    return float(moment)


def _time_field(task: Mapping[str, Any], index: int, field: str) -> float | None:
    value = task.get(field)
    if value is None:
        return None
    try:
        return _seconds(value)
    except TypeError:
        raise BadTaskItem(index, field, f"is {type(value).__name__}, not a datetime") from None


def task_spans(tasks: Iterable[Mapping[str, Any]]) -> list[TaskSpan]:
    """`describe_tasks` dicts as TaskSpans, oldest first (by createdAt, then startedAt).

    Raises BadTaskItem for an item that is not a mapping, has no ``taskArn`` or no time at all.
    """
    spans = []
    for index, task in enumerate(tasks):
        if not isinstance(task, Mapping):
            raise BadTaskItem(index, "taskArn", f"is missing: the item is a {type(task).__name__}, not a dict")
        arn = task.get("taskArn")
        if not isinstance(arn, str) or not arn:
            raise BadTaskItem(index, "taskArn", "is missing or empty")
        created = _time_field(task, index, "createdAt")
        started = _time_field(task, index, "startedAt")
        stopped = _time_field(task, index, "stoppedAt")
        first = next((t for t in (created, started, stopped) if t is not None), None)
        if first is None:
            raise BadTaskItem(index, "createdAt", "is missing (and so are startedAt and stoppedAt)")
        spans.append(TaskSpan(task_id=arn.rsplit("/", 1)[-1], created=first, started=started, stopped=stopped,
                              stop_code=task.get("stopCode"), stopped_reason=task.get("stoppedReason")))
    return sorted(spans, key=lambda s: (s.created, s.started if s.started is not None else s.created, s.task_id))


def heal_times(tasks: Iterable[Mapping[str, Any]],
               kills: Sequence[datetime | float]) -> list[float | None]:
    """Seconds from each kill moment to the first task that started after it (None: nothing started yet).

    This is the time to heal as a user sees it: until a replacement task is RUNNING again. (A load
    balancer may take a little longer to send it traffic: the target must pass a health check first.)

    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> old = {"taskArn": "a/1", "startedAt": t0, "stoppedAt": t0 + timedelta(seconds=10)}
    >>> new = {"taskArn": "a/2", "startedAt": t0 + timedelta(seconds=13)}
    >>> heal_times([old, new], kills=[t0 + timedelta(seconds=10)])
    [3.0]
    """
    starts = sorted(s.started for s in task_spans(tasks) if s.started is not None)
    result: list[float | None] = []
    for kill in kills:
        moment = _seconds(kill)
        later = next((start for start in starts if start >= moment), None)
        result.append(None if later is None else round(later - moment, 3))
    return result


def heal_timeline(tasks: Iterable[Mapping[str, Any]], *, kills: Sequence[datetime | float] = (),
                  title: str = "Tasks of the service over time", now: datetime | float | None = None,
                  ax: Any = None) -> Any:
    """A matplotlib Figure: one horizontal bar per task from startedAt to stoppedAt (to `now`, or the last
    moment seen, while it runs), coloured by stop code; kill moments as red dashed lines, numbered above the
    plot; a task that never started as an orange cross at its stop. Times are seconds since the first task
    was created. With `ax`, it draws onto that axes and returns its figure.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    spans = task_spans(tasks)
    kill_moments = [_seconds(k) for k in kills]
    moments = [t for s in spans for t in (s.created, s.started, s.stopped) if t is not None] + kill_moments
    origin = min(moments) if moments else 0.0
    end = _seconds(now) if now is not None else (max(moments) if moments else 1.0)

    if ax is None:
        figure = Figure(figsize=(9, 0.45 * max(len(spans), 2) + 1.4), layout="constrained")
        ax = figure.subplots()
    else:
        figure = ax.figure
    used_codes: list[str] = []
    for row, span in enumerate(spans):
        if span.started is None:
            ax.plot([(span.stopped or span.created) - origin], [row], marker="x", color=_STOP_COLOURS[
                "TaskFailedToStart"], markersize=8, linestyle="none")
            used_codes.append(span.stop_code or "TaskFailedToStart")
            continue
        stop = span.stopped if span.stopped is not None else max(end, span.started)
        if span.stopped is None:
            colour = _RUNNING_COLOUR
        else:
            colour = _STOP_COLOURS.get(span.stop_code or "", _OTHER_STOP_COLOUR)
            used_codes.append(span.stop_code or "stopped")
        ax.barh(row, max(stop - span.started, (end - origin) * 0.003), left=span.started - origin, height=0.6,
                color=colour, alpha=0.85)
    for number, moment in enumerate(kill_moments):
        ax.axvline(moment - origin, color="tab:red", linestyle="--", linewidth=1.2)
        ax.annotate(str(number + 1), xy=(moment - origin, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2), textcoords="offset points", fontsize=8, color="tab:red", ha="center",
                    va="bottom")
    ax.set_yticks(range(len(spans)), [s.task_id[:8] for s in spans], fontsize=8)
    ax.set_ylim(-0.7, max(len(spans), 1) - 0.3)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds since the first task was created")
    ax.set_ylabel("task")
    ax.grid(True, axis="x", alpha=0.3)
    if title:
        ax.set_title(title, pad=16 if kill_moments else 6)
    legend = [Patch(color=_RUNNING_COLOUR, label="running")]
    for code in dict.fromkeys(used_codes):
        if code == "TaskFailedToStart":
            legend.append(Line2D([], [], marker="x", color=_STOP_COLOURS[code], linestyle="none", label=code))
        else:
            legend.append(Patch(color=_STOP_COLOURS.get(code, _OTHER_STOP_COLOUR), label=f"stopped: {code}"))
    if kill_moments:
        legend.append(Line2D([], [], color="tab:red", linestyle="--", label="kill (numbered above)"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, framealpha=0.85)
    return figure
