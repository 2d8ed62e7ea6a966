"""ServiceReconciler.sync, one call at a time: which tasks does it start and stop, and what does it say?

Built from an in-memory store, the fake runtime and a fake desired-state reader (tests/control/fakes.py);
each test calls `sync` once per step and asserts the exact actions. No moto, no Docker, no threads.
"""

from __future__ import annotations

from dataclasses import replace

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.ecs.services import THROTTLE_AFTER_FAILURES, THROTTLE_BASE_S, WATCH_WALL_S
from ecsdojo.control.store import new_deployment_id
from ecsdojo.runtime.base import ImageNotFoundError
from tests.control.fakes import make_engine


def running_service(engine, name="web", *, desired=2, **settings):
    """A service whose `desired` tasks all reached RUNNING (its first deployment COMPLETED)."""
    record = engine.service(name, desired=desired, **settings)
    engine.services.sync(engine.cluster, name)
    engine.run_all_tasks()
    engine.services.sync(engine.cluster, name)
    assert [t.last_status for t in engine.service_tasks(name)] == ["RUNNING"] * desired
    assert record.primary.rollout_state == "COMPLETED"
    engine.queue.clear()
    engine.runtime.actions.clear()
    return record


def stopped_by_sync(engine):
    return [(t.id, t.stop_code, t.stopped_reason) for t in engine.store.tasks.values()
            if t.desired_status == "STOPPED" and t.last_status != "STOPPED"]


def test_does_desired_count_up_start_exactly_the_missing_tasks():
    engine = make_engine()
    engine.service(desired=2)
    engine.services.sync("demo", "web")
    tasks = engine.service_tasks()
    assert len(tasks) == 2 and {t.last_status for t in tasks} == {"PROVISIONING"}
    assert [k for k in engine.queue.added if k[0] == "task"] == [("task", t.arn) for t in tasks]
    assert engine.runtime.actions == [], "the service reconciler never touches containers itself"
    assert engine.events()[0] == events.service_started_tasks("web", [t.arn for t in tasks])
    assert stopped_by_sync(engine) == []


def test_does_desired_count_down_stop_the_surplus_with_service_scheduler_initiated():
    engine = make_engine()
    record = running_service(engine, desired=3)
    engine.desired.set_desired("demo", "web", 1)
    engine.services.sync("demo", "web")
    stopped = stopped_by_sync(engine)
    reason = events.stop_for_scaling(record.primary.id)
    assert len(stopped) == 2
    assert {(code, text) for _, code, text in stopped} == {(reason.code, reason.reason)}
    assert [k for k in engine.queue.added if k[0] == "task"] == [("task", t.arn) for t in engine.store.tasks.values()
                                                                 if t.desired_status == "STOPPED"]
    assert engine.events()[0].startswith("(service web) has stopped 2 running tasks:")
    assert engine.runtime.actions == []


def test_is_a_task_whose_essential_container_stopped_replaced_and_counted_as_failed():
    engine = make_engine()
    record = running_service(engine, desired=1)
    [task] = engine.service_tasks()
    engine.runtime.crash(task.containers[0].runtime_id, exit_code=3)
    engine.tasks.sync(task.arn)
    assert (task.last_status, task.stop_code, task.stopped_reason) == (
        "STOPPED", events.ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    assert task.containers[0].exit_code == 3
    assert engine.runtime.actions == [], "an exited container needs no stop"
    assert ("service", "demo", "web") in engine.queue.added, "a task change only enqueues its service"
    engine.queue.clear()
    engine.services.sync("demo", "web")
    [replacement] = engine.service_tasks()
    assert replacement.arn != task.arn and replacement.last_status == "PROVISIONING"
    assert record.primary.failed_tasks == 1
    assert stopped_by_sync(engine) == []


def test_is_an_unhealthy_task_stopped_and_replaced_after_the_grace_period():
    engine = make_engine()
    definition = engine.desired.add_definition("web", health_check=True)
    engine.service(desired=1, definition=definition, health_check_grace_period_s=60)
    engine.services.sync("demo", "web")
    engine.run_all_tasks()
    [task] = engine.service_tasks()
    engine.runtime.set_health(task.containers[0].runtime_id, "unhealthy")
    engine.tasks.sync(task.arn)
    assert task.health_status == "UNHEALTHY"
    engine.queue.clear()

    engine.services.sync("demo", "web")                 # inside the grace period: kept, and watched
    assert stopped_by_sync(engine) == []
    assert (("service", "demo", "web"), WATCH_WALL_S) in engine.queue.delayed
    engine.clock.advance(61)
    engine.services.sync("demo", "web")
    assert stopped_by_sync(engine) == [(task.id, events.SERVICE_SCHEDULER_INITIATED,
                                        "Task failed container health checks")]
    assert events.service_task_failed_health_checks("web", task.id) in engine.events()
    new = [t for t in engine.service_tasks() if t.arn != task.arn]
    assert len(new) == 1 and new[0].last_status == "PROVISIONING", "the replacement starts in the same sync"


def test_does_a_rolling_deployment_start_new_tasks_first_then_stop_the_old_ones():
    engine = make_engine()
    record = running_service(engine, desired=2)             # minimumHealthyPercent 100, maximumPercent 200
    old = record.primary
    old_tasks = engine.service_tasks()
    revision2 = engine.desired.add_definition("web")
    old.status = "ACTIVE"
    record.deployments.insert(0, r.Deployment(id=new_deployment_id(), task_definition_arn=revision2.arn,
                                              desired_count=2, launch_type="EC2"))
    engine.services.sync("demo", "web")
    new_tasks = [t for t in engine.service_tasks() if t.deployment_id == record.primary.id]
    assert len(new_tasks) == 2 and stopped_by_sync(engine) == [], "started 2, stopped 0"

    engine.run_all_tasks()
    engine.services.sync("demo", "web")
    assert sorted(stopped_by_sync(engine)) == sorted(
        (t.id, events.SERVICE_SCHEDULER_INITIATED, f"Scaling activity initiated by (deployment {old.id})")
        for t in old_tasks)
    assert events.service_stopped_tasks("web", [t.arn for t in old_tasks]) in engine.events()


def test_does_the_circuit_breaker_fail_the_deployment_and_roll_back():
    engine = make_engine()
    record = running_service(engine, desired=2, circuit_breaker_enable=True, circuit_breaker_rollback=True)
    good = record.primary
    broken = engine.desired.add_definition("web", image="ecsdojo/missing:1")
    engine.runtime.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    good.status = "ACTIVE"
    record.deployments.insert(0, r.Deployment(id=new_deployment_id(), task_definition_arn=broken.arn,
                                              desired_count=2, launch_type="EC2"))
    engine.desired.set_service_task_definition("demo", "web", broken.arn)
    failing = record.primary
    for _ in range(3):                                   # start → fail to start → counted, until the breaker trips
        engine.services.sync("demo", "web")
        engine.run_all_tasks()
        engine.queue.clear()
    engine.services.sync("demo", "web")
    assert failing.rollout_state == "FAILED" and failing.failed_tasks >= 3
    assert failing.rollout_state_reason == events.CIRCUIT_BREAKER_FAILED_REASON
    assert record.primary.task_definition_arn == good.task_definition_arn
    assert engine.desired.services[("demo", "web")].task_definition_arn == good.task_definition_arn
    assert events.service_deployment_failed("web", failing.id) in engine.events()
    assert events.service_rolling_back("web", good.id) in engine.events()


def test_does_a_service_whose_tasks_keep_failing_to_start_get_throttled():
    engine = make_engine()
    definition = engine.desired.add_definition("web", image="ecsdojo/missing:1")
    engine.runtime.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    record = engine.service(desired=THROTTLE_AFTER_FAILURES, definition=definition)
    engine.services.sync("demo", "web")
    engine.run_all_tasks()
    stopped = engine.service_tasks(active_only=False)
    assert [t.stop_code for t in stopped] == [events.TASK_FAILED_TO_START] * THROTTLE_AFTER_FAILURES
    assert stopped[0].stopped_reason.startswith("CannotPullContainerError")
    engine.queue.clear()

    engine.services.sync("demo", "web")
    assert record.throttled_until == engine.clock.monotonic() + THROTTLE_BASE_S
    assert events.service_unable_to_start_consistently("web") in engine.events()
    assert len(engine.service_tasks()) == 0, "throttled: no new task"
    assert (("service", "demo", "web"), THROTTLE_BASE_S + 0.01) in engine.queue.delayed, "back when the throttle ends"


def test_does_a_placement_failure_start_nothing_and_say_why():
    engine = make_engine(instance_memory=512)
    engine.service(desired=1, definition=engine.desired.add_definition("web", memory=1024))
    engine.services.sync("demo", "web")
    assert engine.service_tasks() == []
    [message] = engine.events()
    assert message.startswith("(service web) was unable to place a task because no container instance met all "
                              "of its requirements.")
    assert "memory" in message
    engine.services.sync("demo", "web")
    assert len(engine.events()) == 1, "the same failure is not repeated within a minute"


def test_does_a_deleted_service_stop_all_its_tasks():
    engine = make_engine()
    running_service(engine, desired=2)
    engine.desired.services[("demo", "web")] = replace(engine.desired.services[("demo", "web")], status="DRAINING")
    engine.services.sync("demo", "web")
    assert len(stopped_by_sync(engine)) == 2


def test_does_a_service_watch_its_rollout_until_it_completes_and_then_stop_watching():
    engine = make_engine()
    engine.service(desired=1)
    engine.services.sync("demo", "web")
    assert engine.queue.delayed == [(("service", "demo", "web"), WATCH_WALL_S)], "rollout in progress: look again"
    engine.run_all_tasks()
    engine.queue.clear()
    engine.services.sync("demo", "web")
    assert engine.store.service("demo", "web").primary.rollout_state == "COMPLETED"
    assert engine.queue.delayed == [], "a settled service costs nothing until something changes"
