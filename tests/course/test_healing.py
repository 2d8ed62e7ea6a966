"""Heal times and the heal timeline, from describe_tasks-shaped dicts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ecsdojo.course.healing import BadTaskItem, heal_times, heal_timeline, task_spans

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_task(task_id: str, *, created: float | None = 0, started: float | None = None,
              stopped: float | None = None, stop_code: str | None = None, reason: str | None = None) -> dict:
    """A dict shaped like one item of describe_tasks' `tasks`."""
    body = {"taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/dojo/{task_id}", "lastStatus":
            "STOPPED" if stopped is not None else "RUNNING"}
    for field, value in (("createdAt", created), ("startedAt", started), ("stoppedAt", stopped)):
        if value is not None:
            body[field] = at(value)
    if stop_code:
        body["stopCode"] = stop_code
    if reason:
        body["stoppedReason"] = reason
    return body


def healed_service() -> list[dict]:
    """Two tasks; the first killed at t=10 and replaced at t=12.5; a second kill at t=20 replaced at t=21."""
    return [
        make_task("aaaa1111", created=0, started=1, stopped=10.2, stop_code="EssentialContainerExited"),
        make_task("bbbb2222", created=0, started=1.5, stopped=20.1, stop_code="EssentialContainerExited"),
        make_task("cccc3333", created=11, started=12.5),
        make_task("dddd4444", created=20.5, started=21),
    ]


def test_what_is_the_time_from_each_kill_to_the_next_start():
    assert heal_times(healed_service(), kills=[at(10), at(20)]) == [2.5, 1.0]


def test_a_kill_with_no_replacement_yet_has_no_heal_time():
    tasks = [make_task("aaaa1111", started=1, stopped=10, stop_code="EssentialContainerExited")]
    assert heal_times(tasks, kills=[at(9.9)]) == [None]


def test_kills_may_be_unix_seconds_and_naive_datetimes_mean_utc():
    seconds = at(10).timestamp()
    naive = at(20).replace(tzinfo=None)
    assert heal_times(healed_service(), kills=[seconds, naive]) == [2.5, 1.0]


def test_are_spans_ordered_oldest_first_with_short_ids():
    spans = task_spans(list(reversed(healed_service())))
    assert [s.task_id for s in spans] == ["aaaa1111", "bbbb2222", "cccc3333", "dddd4444"]
    assert spans[0].stop_code == "EssentialContainerExited" and spans[2].stopped is None


def test_a_task_that_never_started_keeps_its_place_without_a_start():
    tasks = [make_task("eeee5555", created=3, stopped=3.2, stop_code="TaskFailedToStart",
                       reason="CannotPullContainerError: not found")]
    (span,) = task_spans(tasks)
    assert span.started is None and span.stopped is not None
    assert heal_times(tasks, kills=[at(0)]) == [None]


@pytest.mark.parametrize("item, field", [
    ({"startedAt": T0}, "taskArn"),
    ("arn:aws:ecs:...:task/x", "taskArn"),
    ({"taskArn": "a/1"}, "createdAt"),
    ({"taskArn": "a/1", "startedAt": "yesterday"}, "startedAt"),
])
def test_bad_items_are_named_by_index_and_field(item, field):
    with pytest.raises(BadTaskItem) as error:
        task_spans([make_task("ok000000", started=1), item])
    assert error.value.index == 1 and error.value.field == field
    assert f"tasks[1]: field {field!r}" in str(error.value)


def test_does_the_timeline_draw_one_bar_per_started_task_and_mark_each_kill():
    tasks = healed_service() + [make_task("eeee5555", created=3, stopped=3.2, stop_code="TaskFailedToStart")]
    figure = heal_timeline(tasks, kills=[at(10), at(20)], title="heal")
    (ax,) = figure.axes
    assert len(ax.patches) == 4                                    # four bars; the failed start is a cross
    assert [t.get_text() for t in ax.get_yticklabels()] == ["aaaa1111", "bbbb2222", "eeee5555", "cccc3333",
                                                             "dddd4444"]
    kill_lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(round(line.get_xdata()[0], 3) for line in kill_lines) == [10.0, 20.0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["running", "stopped: EssentialContainerExited", "TaskFailedToStart",
                      "kill (numbered above)"]
    assert ax.get_title() == "heal"


def test_a_running_bar_reaches_now():
    figure = heal_timeline([make_task("cccc3333", created=0, started=2)], now=at(30))
    bar = figure.axes[0].patches[0]
    assert (bar.get_x(), bar.get_width()) == (2.0, 28.0)


def test_the_timeline_can_draw_onto_a_given_axes():
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.subplots()
    assert heal_timeline(healed_service(), ax=ax) is figure
    assert len(ax.patches) == 4
