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


def test_does_the_control_plane_give_up_on_a_task_whose_sync_always_fails(caplog):
    """Through LocalECS: the sync raises every time; after the queue's retries the task is STOPPED as failed to
    start (describe_tasks says so), the traceback was logged once, and the key is not retried any more."""
    from ecsdojo.control.local import LocalECS
    from ecsdojo.runtime.fake import FakeRuntime
    from tests.conftest import wait_for

    caplog.set_level("WARNING", logger="ecsdojo")
    with LocalECS(speed=100, runtime=FakeRuntime(), load_balancers=False) as local:
        plane = local.plane
        plane.queue._backoff_base_s, plane.queue._backoff_max_s, plane.queue._max_retries = 0.001, 0.002, 3
        attempts = []

        def broken_launch(task):
            attempts.append(task.arn)
            raise KeyError("containerDefinitions")

        plane.task_reconciler._launch = broken_launch
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="t", containerDefinitions=[
            {"name": "web", "image": "ecsdojo/app:latest", "memory": 64}])
        arn = ecs.run_task(cluster="c", taskDefinition="t")["tasks"][0]["taskArn"]
        task = wait_for(lambda: next((t for t in ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
                                      if t["lastStatus"] == "STOPPED"), None), timeout=20, message="the task to stop")
        assert task["stopCode"] == "TaskFailedToStart"
        assert task["stoppedReason"] == "CannotStartContainerError: 'containerDefinitions'"
        tried = len(attempts)
        assert tried == 4, "one attempt and three retries"
        plane.resync()
        wait_for(lambda: len(plane.queue) == 0, message="the resync to drain")
        assert len(attempts) == tried, "a STOPPED task is not launched again"
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1, [record.getMessage() for record in tracebacks]
