"""TaskReconciler.sync, one call at a time: which containers does it start and stop, what does the task say?

Built from an in-memory store, the fake runtime and a fake desired-state reader (tests/control/fakes.py).
"""

from __future__ import annotations

from ecsdojo.control import events
from ecsdojo.runtime.base import ImageNotFoundError
from tests.control.fakes import make_engine


def one_task(engine, *, family="job", **definition_options):
    definition = engine.desired.add_definition(family, **definition_options)
    result = engine.launcher.launch(cluster="demo", definition=definition, count=1, group=f"family:{family}",
                                    started_by="", launch_type="EC2")
    assert result.failure is None
    return engine.store.tasks[result.task_arns[0]]


def test_does_a_provisioning_task_start_its_container_and_reach_running():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", engine.runtime.containers[task.containers[0].runtime_id].name)]
    assert task.last_status == "RUNNING" and task.reached_running
    assert task.containers[0].host_ports == {8080: 32768}
    assert engine.desired.written_tasks[task.arn] == "RUNNING"
    assert engine.store.task_by_container(task.containers[0].runtime_id) is task


def test_does_a_missing_image_stop_the_task_with_task_failed_to_start():
    engine = make_engine()
    engine.runtime.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    task = one_task(engine, image="ecsdojo/missing:1")
    engine.tasks.sync(task.arn)
    assert task.last_status == "STOPPED" and task.stop_code == events.TASK_FAILED_TO_START
    assert task.stopped_reason.startswith("CannotPullContainerError")
    assert task.containers[0].reason == task.stopped_reason
    assert [action for action, _ in engine.runtime.actions] == ["start"], "one attempt, nothing to stop"
    instance = engine.store.instances["demo"][task.container_instance_arn]
    assert (instance.used_memory, instance.running_tasks) == (0, 0), "its reservation is given back"


def test_does_an_oom_killed_essential_container_stop_the_task_with_the_oom_reason():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    engine.runtime.oom(task.containers[0].runtime_id)
    engine.tasks.sync(task.arn)
    assert (task.last_status, task.stop_code) == ("STOPPED", events.ESSENTIAL_CONTAINER_EXITED)
    assert task.containers[0].reason == events.OOM_REASON
    assert engine.runtime.actions == []


def test_does_a_stop_request_stop_the_container_once_and_keep_the_first_reason():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    assert engine.store.request_stop(task, events.stop_by_user("done"))
    assert not engine.store.request_stop(task, events.stop_for_scaling("ecs-svc/1"))
    engine.tasks.sync(task.arn)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    assert engine.runtime.actions == [("stop", runtime_id)]
    assert (task.last_status, task.stop_code, task.stopped_reason) == ("STOPPED", events.USER_INITIATED, "done")
    assert task.containers[0].exit_code == 0 and task.stopped_at is not None


def test_does_a_health_change_only_enqueue_keys():
    engine = make_engine()
    task = one_task(engine, health_check=True)
    engine.tasks.sync(task.arn)
    engine.queue.clear()
    engine.runtime.set_health(task.containers[0].runtime_id, "healthy")
    engine.tasks.sync(task.arn)
    assert task.health_status == "HEALTHY"
    assert engine.queue.added == [("balancers",)], "a task outside a service wakes only the load balancers"
