"""Start failures end (issue 14 item 6): an engine answer the runtime did not classify fails the task to start
once; a sync that keeps failing is given up after the queue's retries instead of being retried forever.

Built from an in-memory store, the fake runtime and a fake desired-state reader (tests/control/fakes.py)."""

from __future__ import annotations

from ecsdojo.control import events
from ecsdojo.control.queue import WorkQueue
from tests.control.fakes import make_engine


def one_task(engine, *, family="job", **definition_options):
    definition = engine.desired.add_definition(family, **definition_options)
    result = engine.launcher.launch(cluster="demo", definition=definition, count=1, group=f"family:{family}",
                                    started_by="", launch_type="EC2")
    assert result.failure is None
    return engine.store.tasks[result.task_arns[0]]


class EngineAnswer400(Exception):
    """Stands for an SDK error the runtime does not turn into a RuntimeError_ (docker.errors.APIError)."""


def test_does_an_unclassified_start_error_stop_the_task_once_instead_of_raising():
    engine = make_engine()
    engine.runtime.fail_image("weird:1", EngineAnswer400("400 Client Error: invalid reference format"))
    task = one_task(engine, image="weird:1")
    engine.tasks.sync(task.arn)                       # before: raised, so the worker retried the key forever
    assert (task.last_status, task.stop_code) == ("STOPPED", events.TASK_FAILED_TO_START)
    assert task.stopped_reason == "CannotStartContainerError: 400 Client Error: invalid reference format"
    assert [action for action, _ in engine.runtime.actions] == ["start"]
    engine.tasks.sync(task.arn)
    assert [action for action, _ in engine.runtime.actions] == ["start"], "a STOPPED task is not started again"


def test_does_give_up_record_a_task_that_never_started_as_failed_to_start():
    engine = make_engine()
    task = one_task(engine)
    instance = engine.store.instances["demo"][task.container_instance_arn]
    assert instance.used_memory > 0
    engine.tasks.give_up(task.arn, RuntimeError("the definition cannot be read"))
    assert (task.last_status, task.desired_status, task.stop_code) == ("STOPPED", "STOPPED",
                                                                       events.TASK_FAILED_TO_START)
    assert task.stopped_reason == "CannotStartContainerError: the definition cannot be read"
    assert task.stopped_at is not None and instance.used_memory == 0
    assert engine.runtime.actions == []


def test_does_give_up_leave_a_running_task_to_the_resync():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.tasks.give_up(task.arn, RuntimeError("inspect failed"))
    assert (task.last_status, task.stop_code) == ("RUNNING", None)


def test_is_a_key_that_keeps_failing_dropped_after_max_retries():
    queue = WorkQueue(backoff_base_s=0.001, backoff_max_s=0.002, max_retries=3)
    delays = [queue.add_rate_limited("bad") for _ in range(4)]
    assert delays[:3] == [0.001, 0.002, 0.002] and delays[3] is None
    assert queue.failures("bad") == 0, "dropped keys start afresh if they come back"
