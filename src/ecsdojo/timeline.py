"""A recorder of what auto scaling saw and did over time, with a plot for notebooks.

The control loop records metric values, alarm states, desired/running/pending counts, scaling activities
and free-text events; a notebook then shows them on one time axis, so a learner sees the load rise, the
alarm fire, the desired count step up and the running count follow.

Example::

    timeline = Timeline()
    timeline.record_metric("CPUUtilization", 0, 20.0, target=50.0)
    timeline.record_alarm("AlarmHigh", 0, "OK")
    timeline.record_counts("web", 0, desired=2, running=2, pending=0)
    timeline.record_activity(180, "Setting desired count to 4.")
    figure = timeline.plot(title="Target tracking at 50 % CPU")     # a matplotlib Figure
    figure.savefig("scaling.png")

Times are seconds (any clock, e.g. the control plane's compressed one) or datetimes; the plot shows
seconds since the first record. Recording is thread-safe. The plot never calls `pyplot`: it builds a
`matplotlib.figure.Figure` directly, so it works without a display and leaves no global state behind
(Jupyter shows a returned Figure inline).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["Timeline", "TimelineRow"]

# Shading for alarm states (OK is left clear): ALARM in one colour per alarm, INSUFFICIENT_DATA grey.
_ALARM_COLOURS = ("tab:red", "tab:blue", "tab:orange", "tab:olive", "tab:cyan")
_INSUFFICIENT_COLOUR = "tab:gray"
# Count lines: (desired, running, pending) colours for the first services.
_COUNT_COLOURS = (("tab:green", "tab:brown", "tab:orange"), ("tab:olive", "tab:cyan", "tab:pink"),
                  ("tab:brown", "tab:purple", "tab:gray"))


def epoch_seconds(moment: datetime | float) -> float:
    """Unix seconds of a datetime (naive ones are UTC) or of a number already in seconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    return float(moment)


@dataclass(frozen=True)
class TimelineRow:
    """One recorded fact, for tables (`Timeline.to_rows`)."""
    t: float                 # seconds (datetimes become Unix seconds)
    kind: str                # metric | alarm | counts | activity | event
    name: str                # metric, alarm or service name; "" for activities and events
    value: Any               # float, state, {"desired":..,"running":..,"pending":..}, or text

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, "name": self.name, "value": self.value}


class Timeline:
    """Thread-safe recorder of metrics, alarm states, task counts, scaling activities and events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, list[tuple[float, float]]] = {}
        self._targets: dict[str, float] = {}
        self._alarms: dict[str, list[tuple[float, str]]] = {}
        self._counts: dict[str, list[tuple[float, int, int, int]]] = {}
        self._activities: list[tuple[float, str]] = []
        self._events: list[tuple[float, str]] = []

    # --- recording -------------------------------------------------------------------------------------

    def record_metric(self, name: str, t: datetime | float, value: float, *, target: float | None = None) -> None:
        """A metric value; `target` (a policy's TargetValue) is drawn as a dashed line."""
        with self._lock:
            self._metrics.setdefault(name, []).append((epoch_seconds(t), float(value)))
            if target is not None:
                self._targets[name] = float(target)

    def set_target(self, metric: str, value: float) -> None:
        """The target value of a metric (drawn dashed)."""
        with self._lock:
            self._targets[metric] = float(value)

    def record_alarm(self, name: str, t: datetime | float, state: str) -> None:
        """An alarm state (OK, ALARM, INSUFFICIENT_DATA); repeated states are fine."""
        with self._lock:
            self._alarms.setdefault(name, []).append((epoch_seconds(t), str(state)))

    def record_counts(self, service: str, t: datetime | float, desired: int, running: int, pending: int = 0) -> None:
        """A service's desired, running and pending task counts."""
        with self._lock:
            self._counts.setdefault(service, []).append((epoch_seconds(t), int(desired), int(running), int(pending)))

    def record_activity(self, t: datetime | float, description: str) -> None:
        """A scaling activity, e.g. 'Setting desired count to 4.'."""
        with self._lock:
            self._activities.append((epoch_seconds(t), str(description)))

    def record_event(self, t: datetime | float, text: str) -> None:
        """Anything else worth a mark on the time axis (a load test starting, a deployment, ...)."""
        with self._lock:
            self._events.append((epoch_seconds(t), str(text)))

    # --- reading ---------------------------------------------------------------------------------------

    def to_rows(self) -> list[TimelineRow]:
        """Everything recorded, oldest first (ties keep recording order per kind)."""
        with self._lock:
            rows = [TimelineRow(t, "metric", name, v) for name, points in self._metrics.items() for t, v in points]
            rows += [TimelineRow(t, "alarm", name, s) for name, points in self._alarms.items() for t, s in points]
            rows += [TimelineRow(t, "counts", name, {"desired": d, "running": r, "pending": p})
                     for name, points in self._counts.items() for t, d, r, p in points]
            rows += [TimelineRow(t, "activity", "", text) for t, text in self._activities]
            rows += [TimelineRow(t, "event", "", text) for t, text in self._events]
        return sorted(rows, key=lambda row: row.t)

    def _snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "metrics": {k: sorted(v) for k, v in self._metrics.items()},
                "targets": dict(self._targets),
                "alarms": {k: sorted(v, key=lambda p: p[0]) for k, v in self._alarms.items()},
                "counts": {k: sorted(v, key=lambda p: p[0]) for k, v in self._counts.items()},
                "activities": sorted(self._activities, key=lambda p: p[0]),
                "events": sorted(self._events, key=lambda p: p[0]),
            }

    # --- plotting --------------------------------------------------------------------------------------

    def plot(self, ax: Any = None, *, title: str = "Auto scaling timeline") -> Any:
        """A matplotlib Figure on one time axis (seconds since the first record).

        Top panel: metric lines, each target as a dashed line, alarm states as shaded bands (ALARM red,
        INSUFFICIENT_DATA grey). Bottom panel: desired / running / pending counts as step lines. Scaling
        activities are vertical dotted lines on both panels, annotated on top; events are marked at the
        bottom. With `ax`, everything goes onto that axes (counts on a twin y axis) and its figure is
        returned.
        """
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        data = self._snapshot()
        times = [t for points in data["metrics"].values() for t, _ in points]
        times += [t for points in data["alarms"].values() for t, _ in points]
        times += [p[0] for points in data["counts"].values() for p in points]
        times += [t for t, _ in data["activities"]] + [t for t, _ in data["events"]]
        origin = min(times) if times else 0.0
        end = max(times) if times else 1.0

        if ax is None:
            figure = Figure(figsize=(10, 6.5), layout="constrained")
            metric_ax, count_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        else:
            figure = ax.figure
            metric_ax, count_ax = ax, ax.twinx()
        if title:
            if ax is None:
                figure.suptitle(title)
            else:
                metric_ax.set_title(title)

        # Metrics and their targets.
        for index, (name, points) in enumerate(data["metrics"].items()):
            colour = f"C{index % 10}"
            metric_ax.plot([t - origin for t, _ in points], [v for _, v in points], color=colour,
                           marker=".", label=name)
            if name in data["targets"]:
                metric_ax.axhline(data["targets"][name], color=colour, linestyle="--", linewidth=1,
                                  label=f"{name} target ({data['targets'][name]:g})")
        for name, target in data["targets"].items():
            if name not in data["metrics"]:
                metric_ax.axhline(target, color="black", linestyle="--", linewidth=1, label=f"{name} target ({target:g})")

        # Alarm states as bands: each state lasts until the next record (the last one until the end).
        labelled: set[str] = set()
        sliver = max((end - origin) * 0.005, 1e-9)      # width of a state recorded at the very end
        for a_index, (name, points) in enumerate(data["alarms"].items()):
            for t, state, stop in _state_runs(points, end):
                if state == "ALARM":
                    colour = _ALARM_COLOURS[a_index % len(_ALARM_COLOURS)]
                elif state == "INSUFFICIENT_DATA":
                    colour = _INSUFFICIENT_COLOUR
                else:
                    continue
                if stop <= t:
                    stop = t + sliver
                label = f"{name}: {state}"
                metric_ax.axvspan(t - origin, stop - origin, color=colour, alpha=0.15, linewidth=0,
                                  label=None if label in labelled else label)
                labelled.add(label)
        metric_ax.set_ylabel("metric")
        metric_ax.grid(True, alpha=0.3)

        # Counts as step lines.
        styles = (("desired", "-", 2.0), ("running", "-", 1.2), ("pending", ":", 1.2))
        for s_index, (service, points) in enumerate(data["counts"].items()):
            xs = [p[0] - origin for p in points]
            for column, (what, line, width) in enumerate(styles, start=1):
                values = [p[column] for p in points]
                if what == "pending" and not any(values):
                    continue
                count_ax.step(xs, values, where="post", linestyle=line, linewidth=width,
                              color=_COUNT_COLOURS[s_index % len(_COUNT_COLOURS)][column - 1],
                              label=f"{service} {what}")
        count_ax.set_ylabel("tasks")
        count_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if ax is None:
            count_ax.grid(True, alpha=0.3)

        # Activities and events.
        top = metric_ax.get_ylim()[1] if data["metrics"] or data["targets"] else 1.0
        for number, (t, description) in enumerate(data["activities"]):
            x = t - origin
            for axes in {id(metric_ax): metric_ax, id(count_ax): count_ax}.values():
                axes.axvline(x, color="tab:purple", linestyle=":", linewidth=1.2,
                             label="scaling activity" if number == 0 and axes is metric_ax else None)
            metric_ax.annotate(description, xy=(x, top), xytext=(2, -4), textcoords="offset points",
                               rotation=90, va="top", ha="left", fontsize=7, color="tab:purple")
        if data["events"]:
            count_ax.plot([t - origin for t, _ in data["events"]], [0] * len(data["events"]), linestyle="none",
                          marker="^", color="black", label="event")
            for t, text in data["events"]:
                count_ax.annotate(text, xy=(t - origin, 0), xytext=(3, 6), textcoords="offset points",
                                  fontsize=7, rotation=30)

        (count_ax if ax is None else metric_ax).set_xlabel("seconds since start")
        _legend(metric_ax, [metric_ax] if ax is None else [metric_ax, count_ax])
        if ax is None:
            _legend(count_ax, [count_ax])
        return figure


def _legend(where: Any, axes: Sequence[Any]) -> None:
    handles, labels = [], []
    for each in axes:
        h, l = each.get_legend_handles_labels()
        handles += h
        labels += l
    if handles:
        where.legend(handles, labels, loc="upper left", fontsize=7, framealpha=0.8)


def _state_runs(points: Sequence[tuple[float, str]], end: float) -> list[tuple[float, str, float]]:
    """(start, state, stop) for each run of equal consecutive states; the last run lasts until `end`."""
    runs: list[tuple[float, str, float]] = []
    for t, state in points:
        if runs and runs[-1][1] == state:
            continue
        if runs:
            runs[-1] = (runs[-1][0], runs[-1][1], t)
        runs.append((t, state, end))
    return runs
