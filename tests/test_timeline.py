"""Does the timeline record what auto scaling did and draw it on one time axis?"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from ecsdojo.timeline import Timeline

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)


def make_scaling_story() -> Timeline:
    """Load rises at 300 s, AlarmHigh fires at 480 s, desired 2 -> 4, running follows at 540 s."""
    timeline = Timeline()
    desired = running = 2
    for second in range(0, 1260, 60):
        load = 180.0 if 300 <= second < 900 else 40.0
        timeline.record_metric("CPUUtilization", second, load / running, target=50.0)
        timeline.record_alarm("AlarmHigh", second, "ALARM" if 480 <= second < 660 else "OK")
        timeline.record_alarm("AlarmLow", second, "INSUFFICIENT_DATA" if second < 120 else "OK")
        if second == 480:
            desired = 4
            timeline.record_activity(second, "Setting desired count to 4.")
        if second == 540:
            running = 4
        timeline.record_counts("web", second, desired=desired, running=running, pending=desired - running)
    timeline.record_event(300, "load test starts")
    return timeline


def test_are_records_returned_as_rows_in_time_order():
    timeline = Timeline()
    timeline.record_event(30, "later")
    timeline.record_metric("cpu", 10, 55.0)
    timeline.record_counts("web", 20, desired=3, running=2, pending=1)
    timeline.record_alarm("high", 15, "ALARM")
    timeline.record_activity(25, "Setting desired count to 3.")
    rows = [row.as_dict() for row in timeline.to_rows()]
    assert [(r["t"], r["kind"]) for r in rows] == [(10.0, "metric"), (15.0, "alarm"), (20.0, "counts"),
                                                   (25.0, "activity"), (30.0, "event")]
    assert rows[2]["value"] == {"desired": 3, "running": 2, "pending": 1}


def test_are_datetimes_recorded_as_unix_seconds():
    timeline = Timeline()
    timeline.record_metric("cpu", T0, 1.0)
    timeline.record_metric("cpu", T0 + timedelta(seconds=90), 2.0)
    assert [row.t for row in timeline.to_rows()] == [T0.timestamp(), T0.timestamp() + 90]


def test_is_recording_safe_from_many_threads():
    timeline = Timeline()

    def record(worker: int) -> None:
        for i in range(500):
            timeline.record_metric("cpu", worker * 1000 + i, float(i))
            timeline.record_event(i, f"w{worker}")

    threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(timeline.to_rows()) == 8 * 500 * 2


def test_does_the_plot_draw_metrics_targets_alarms_counts_and_activities(tmp_path):
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon, Rectangle

    figure = make_scaling_story().plot(title="target tracking at 50 %")
    assert isinstance(figure, Figure)
    metric_ax, count_ax = figure.axes
    assert metric_ax.get_shared_x_axes().joined(metric_ax, count_ax)
    lines = {line.get_label(): line for line in metric_ax.get_lines()}
    assert "CPUUtilization" in lines
    target = lines["CPUUtilization target (50)"]
    assert target.get_linestyle() == "--" and list(target.get_ydata()) == [50.0, 50.0]
    assert list(lines["CPUUtilization"].get_xdata())[:2] == [0.0, 60.0]          # seconds since start
    bands = [p for p in metric_ax.patches if isinstance(p, (Polygon, Rectangle))]
    labels = {p.get_label() for p in bands}
    assert {"AlarmHigh: ALARM", "AlarmLow: INSUFFICIENT_DATA"} <= labels
    high = next(p for p in bands if p.get_label() == "AlarmHigh: ALARM")
    if isinstance(high, Rectangle):
        span = [high.get_x(), high.get_x() + high.get_width()]
    else:
        span = sorted({x for x, _ in high.get_xy()})
    assert [round(x, 6) for x in span] == [480.0, 660.0]
    counts = {line.get_label(): line for line in count_ax.get_lines()}
    assert {"web desired", "web running", "web pending"} <= set(counts)
    assert counts["web desired"].get_drawstyle() == "steps-post"
    assert max(counts["web desired"].get_ydata()) == 4
    activity_lines = [line for line in metric_ax.get_lines() if line.get_label() == "scaling activity"]
    assert activity_lines and list(activity_lines[0].get_xdata()) == [480.0, 480.0]
    assert any(text.get_text() == "Setting desired count to 4." for text in metric_ax.texts)
    assert any(text.get_text() == "load test starts" for text in count_ax.texts)
    assert figure.texts[0].get_text() == "target tracking at 50 %"
    legend_labels = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert "AlarmHigh: ALARM" in legend_labels and "CPUUtilization target (50)" in legend_labels
    path = tmp_path / "scaling.png"
    figure.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_does_the_plot_draw_into_a_given_axes():
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.add_subplot()
    returned = make_scaling_story().plot(ax, title="one panel")
    assert returned is figure
    assert ax.get_title() == "one panel"
    assert len(figure.axes) == 2                       # the counts go on a twin y axis
    assert any(line.get_label() == "web desired" for line in figure.axes[1].get_lines())


@pytest.mark.parametrize("fill", [False, True])
def test_can_an_empty_or_tiny_timeline_be_plotted(tmp_path, fill):
    timeline = Timeline()
    if fill:
        timeline.record_alarm("only", 5, "ALARM")
    figure = timeline.plot()
    figure.savefig(tmp_path / "empty.png")
    assert (tmp_path / "empty.png").exists()


def test_does_plotting_leave_pyplot_alone():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    make_scaling_story().plot()
    assert plt.get_fignums() == before
