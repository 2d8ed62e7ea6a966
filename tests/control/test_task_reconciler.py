"""TaskReconciler.sync, one call at a time: which containers does it start and stop, what does the task say?

Built from an in-memory store, the fake runtime and a fake desired-state reader (tests/control/fakes.py).
"""

from __future__ import annotations

from ecsdojo.control import events
from ecsdojo.runtime.base import (
    LABEL_TASK_ARN,
    ContainerSpec,
    ImageNotFoundError,
    RuntimeUnavailableError,
    owned_labels,
)
from ecsdojo.runtime.fake import FakeRuntime
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


# ---- issue 14: a paused container, a stop that fails, the exit against the load balancer, leftovers -------------

def test_is_a_paused_container_still_running_for_ecs():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    engine.runtime.pause(task.containers[0].runtime_id)
    engine.tasks.sync(task.arn)
    assert (task.last_status, task.desired_status, task.stop_code) == ("RUNNING", "RUNNING", None)
    assert task.containers[0].last_status == "RUNNING" and task.containers[0].exit_code is None
    assert engine.runtime.actions == []


def test_is_a_paused_container_really_stopped_when_its_task_is_stopped():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    engine.runtime.pause(runtime_id)
    engine.runtime.actions.clear()
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("stop", runtime_id)]
    assert engine.runtime.inspect(runtime_id).status == "exited"
    assert (task.last_status, task.stop_code) == ("STOPPED", events.SERVICE_SCHEDULER_INITIATED), \
        "a hung container is stopped for the failed health checks, not reported as exited"


class StopRefusingRuntime(FakeRuntime):
    """stop() fails (an engine that does not answer) while `refuse` is set."""

    refuse = True

    def stop(self, container_id, *, timeout_s=30.0):
        if self.refuse:
            self.actions.append(("stop", container_id))
            raise RuntimeUnavailableError("the Docker engine does not answer")
        super().stop(container_id, timeout_s=timeout_s)


def test_does_a_task_whose_container_did_not_stop_keep_its_resources_until_it_does():
    runtime = StopRefusingRuntime()
    engine = make_engine(runtime=runtime)
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    instance = engine.store.instances["demo"][task.container_instance_arn]
    held = instance.used_memory
    engine.store.request_stop(task, events.stop_by_user())
    engine.tasks.sync(task.arn)
    assert task.last_status == "STOPPING" and runtime.inspect(runtime_id).running
    assert instance.used_memory == held and instance.running_tasks == 1, "memory and ports held while it runs"
    runtime.refuse = False
    runtime.actions.clear()
    engine.tasks.sync(task.arn)
    assert runtime.actions == [("stop", runtime_id)]
    assert task.last_status == "STOPPED" and task.stop_code == events.USER_INITIATED
    assert (instance.used_memory, instance.running_tasks) == (0, 0)


def test_does_an_exit_win_over_the_load_balancers_failed_health_checks():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    engine.runtime.crash(runtime_id, exit_code=3)
    # The balancer's prober saw the refused connection before the task reconciler saw the exit.
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    engine.runtime.actions.clear()
    engine.tasks.sync(task.arn)
    assert (task.last_status, task.stop_code, task.stopped_reason) == (
        "STOPPED", events.ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    assert task.containers[0].exit_code == 3
    assert engine.runtime.actions == [], "nothing left to stop"


def test_does_an_oom_kill_win_over_the_load_balancers_failed_health_checks():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.runtime.oom(task.containers[0].runtime_id)
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    engine.tasks.sync(task.arn)
    assert task.stop_code == events.ESSENTIAL_CONTAINER_EXITED
    assert (task.containers[0].exit_code, task.containers[0].reason) == (137, events.OOM_REASON)


def test_does_a_removed_container_win_over_the_load_balancers_failed_health_checks():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.runtime.remove(task.containers[0].runtime_id)
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    engine.tasks.sync(task.arn)
    assert task.stop_code == events.ESSENTIAL_CONTAINER_EXITED
    assert task.containers[0].reason == events.CONTAINER_REMOVED_REASON


def test_does_a_user_stop_keep_its_reason_when_the_container_exits_meanwhile():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.store.request_stop(task, events.stop_by_user("done"))
    engine.runtime.crash(task.containers[0].runtime_id, exit_code=3)
    engine.tasks.sync(task.arn)
    assert (task.stop_code, task.stopped_reason) == (events.USER_INITIATED, "done")
    assert task.containers[0].exit_code == 3


def test_does_a_running_container_keep_the_load_balancers_reason():
    engine = make_engine()
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    engine.tasks.sync(task.arn)
    assert (task.stop_code, task.stopped_reason) == (events.SERVICE_SCHEDULER_INITIATED,
                                                    "Task failed ELB health checks in (elb web-lb)")
    assert task.containers[0].exit_code == 0


def test_are_leftover_containers_swept_and_owned_ones_left_alone():
    engine = make_engine()
    kept = one_task(engine)
    engine.tasks.sync(kept.arn)
    stopped = one_task(engine, family="done")
    engine.tasks.sync(stopped.arn)
    engine.store.request_stop(stopped, events.stop_by_user())
    engine.tasks.sync(stopped.arn)
    # A container of this session that no task record owns (a record lost, a replacement started twice).
    stray = engine.runtime.start(ContainerSpec(name="stray", image="ecsdojo/app:latest", labels={
        **owned_labels("unit"), LABEL_TASK_ARN: "arn:aws:ecs:us-east-1:123456789012:task/demo/gone"}))
    # Another session's container: never touched.
    other = engine.runtime.start(ContainerSpec(name="other", image="ecsdojo/app:latest", labels={
        **owned_labels("another"), LABEL_TASK_ARN: "arn:aws:ecs:us-east-1:123456789012:task/demo/x"}))
    # A STOPPED task's container that is running again (a leak: `docker start` by hand).
    leaked = stopped.containers[0].runtime_id
    engine.runtime.containers[leaked].status = "running"
    engine.runtime.actions.clear()
    assert sorted(engine.tasks.sweep_leftovers()) == sorted([("remove", stray.id), ("stop", leaked)])
    assert sorted(engine.runtime.actions) == sorted([("remove", stray.id), ("stop", leaked)])
    assert engine.runtime.inspect(kept.containers[0].runtime_id).running
    assert engine.runtime.inspect(other.id).running
    assert engine.runtime.inspect(leaked).status == "exited", "a stopped task's exited container is kept"
    engine.runtime.actions.clear()
    assert engine.tasks.sweep_leftovers() == [] and engine.runtime.actions == []


def test_is_a_launching_tasks_container_not_swept():
    engine = make_engine()
    task = one_task(engine)
    task.last_status = "PENDING"           # started, its id not recorded yet (the launch is in progress)
    spec = ContainerSpec(name="launching", image="ecsdojo/app:latest",
                         labels={**owned_labels("unit"), LABEL_TASK_ARN: task.arn})
    engine.runtime.start(spec)
    engine.runtime.actions.clear()
    assert engine.tasks.sweep_leftovers() == [] and engine.runtime.actions == []


class LaggingRuntime(FakeRuntime):
    """Reports a container that died as still running for the next `lag` inspects (the engine has not processed
    the exit yet, while the balancer's connection was already refused)."""

    lag = 0

    def inspect(self, container_id):
        state = super().inspect(container_id)
        if state is not None and self.lag > 0 and not state.alive:
            self.lag -= 1
            state.status, state.exit_code = "running", None
        return state


def test_does_an_exit_the_engine_reports_late_still_win_over_the_load_balancer():
    runtime = LaggingRuntime()
    engine = make_engine(runtime=runtime, exit_settle_s=5.0)
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    runtime.crash(runtime_id, exit_code=3)
    runtime.lag = 3
    engine.store.request_stop(task, events.stop_failed_elb_health_checks("web-lb"))
    runtime.actions.clear()
    engine.tasks.sync(task.arn)
    assert (task.stop_code, task.containers[0].exit_code) == (events.ESSENTIAL_CONTAINER_EXITED, 3)
    assert runtime.actions == [] and runtime.lag == 0


class StopDuringStartRuntime(FakeRuntime):
    """Calls `during_start()` once a container is started: the service scheduler asking the task to stop (from
    another thread, on the real plane) while its launch is under way."""

    during_start = None

    def start(self, spec):
        state = super().start(spec)
        if self.during_start is not None:
            hook, self.during_start = self.during_start, None
            hook()
        return state


def test_is_a_task_stopped_during_its_launch_stopped_in_the_same_sync_without_a_warning(caplog):
    runtime = StopDuringStartRuntime()
    engine = make_engine(runtime=runtime)
    task = one_task(engine)
    runtime.during_start = lambda: engine.store.request_stop(task, events.stop_for_scaling("ecs-svc/1"))
    with caplog.at_level("WARNING"):
        engine.tasks.sync(task.arn)
        runtime_id = task.containers[0].runtime_id
        assert runtime.actions == [("start", runtime.containers[runtime_id].name), ("stop", runtime_id)], \
            "started, then stopped in the same sync (as the agent stops a task stopped while it pulls)"
        assert not runtime.inspect(runtime_id).alive
        assert (task.last_status, task.stop_code) == ("STOPPED", events.SERVICE_SCHEDULER_INITIATED)
        assert not task.reached_running and task.started_at is None
        runtime.actions.clear()
        engine.tasks.sync(task.arn)
        assert engine.tasks.sweep_leftovers() == [] and runtime.actions == []
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == []



class ListThenRuntime(FakeRuntime):
    """Calls `after_list()` once list() has taken its snapshot: another worker acting between the resync's listing
    of the containers and its look at the task records."""

    after_list = None

    def list(self, labels):
        states = super().list(labels)
        if self.after_list is not None:
            hook, self.after_list = self.after_list, None
            hook()
        return states


def test_is_a_container_stopped_while_the_sweep_lists_not_stopped_again_with_a_warning(caplog):
    runtime = ListThenRuntime()
    engine = make_engine(runtime=runtime)
    task = one_task(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    engine.store.request_stop(task, events.stop_for_scaling("ecs-svc/1"))
    runtime.actions.clear()
    runtime.after_list = lambda: engine.tasks.sync(task.arn)      # the task's worker stops it meanwhile
    with caplog.at_level("WARNING"):
        assert engine.tasks.sweep_leftovers() == [], "the listing saw it running, but it is stopped now"
    assert task.last_status == "STOPPED"
    assert runtime.actions == [("stop", runtime_id)], "stopped once, by its task's sync"
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == []
