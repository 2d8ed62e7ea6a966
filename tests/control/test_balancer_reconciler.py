"""BalancerReconciler.sync, one call at a time: targets registered, deregistered, unhealthy ones replaced.

Built from an in-memory store, the fake runtime, a fake desired-state reader and a fake load balancer
(tests/control/fakes.py); the real proxy, health checker and draining are tested in tests/test_lb.py.
"""

from __future__ import annotations

from dataclasses import replace

from ecsdojo.control import events
from ecsdojo.control.elb.reconciler import NEW_TARGET_GRACE_S
from tests.control.fakes import make_balancers, make_engine

GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/1"


def served_service(desired=2):
    engine = make_engine()
    engine.desired.add_listener(name="web-lb", target_group=GROUP)
    engine.service(desired=desired, target_group=GROUP)
    engine.services.sync("demo", "web")
    engine.run_all_tasks()
    balancers = make_balancers(engine)
    return engine, balancers


def test_are_running_tasks_registered_with_their_host_ports_and_announced():
    engine, balancers = served_service()
    balancers.sync()
    [balancer] = balancers.balancers.values()
    tasks = engine.service_tasks()
    assert sorted((t.id, t.port) for t in balancer.targets) == sorted((t.id, t.containers[0].host_ports[8080])
                                                                      for t in tasks)
    [(group, registered)] = engine.desired.registered
    assert group == GROUP and sorted(p for _, p in registered) == sorted(t.containers[0].host_ports[8080]
                                                                         for t in tasks)
    assert engine.events()[0] == events.service_registered_targets("web", 2, GROUP)
    balancers.sync()
    assert len(engine.desired.registered) == 1, "registered once"


def test_is_a_stopping_task_deregistered_and_announced():
    engine, balancers = served_service()
    balancers.sync()
    task = engine.service_tasks()[0]
    engine.store.request_stop(task, events.stop_for_scaling("ecs-svc/1"))
    balancers.sync()
    [balancer] = balancers.balancers.values()
    assert task.id not in {t.id for t in balancer.targets}, "drained from the balancer as soon as it is stopping"
    assert engine.events()[0] == events.service_deregistered_targets("web", 1, GROUP)


def test_is_an_unhealthy_target_replaced_only_after_the_grace_period():
    engine, balancers = served_service(desired=1)
    balancers.sync()
    [balancer] = balancers.balancers.values()
    [task] = engine.service_tasks()
    balancer.health[task.id] = "unhealthy"
    engine.queue.clear()
    balancers.sync()
    assert task.desired_status == "RUNNING", "a new target gets a grace period"
    assert [key for key, _ in engine.queue.delayed] == [("balancers",)], "looked at again when it ends"
    engine.clock.advance(NEW_TARGET_GRACE_S + 1)
    balancers.sync()
    assert (task.desired_status, task.stop_code, task.stopped_reason) == (
        "STOPPED", events.SERVICE_SCHEDULER_INITIATED, "Task failed ELB health checks in (elb web-lb)")
    assert engine.events()[0] == events.service_task_failed_elb_health_checks("web", task.id, GROUP)
    assert ("task", task.arn) in engine.queue.added


def test_is_a_deleted_listener_no_longer_served():
    engine, balancers = served_service()
    balancers.sync()
    [balancer] = balancers.balancers.values()
    engine.desired.listener_specs.clear()
    balancers.sync()
    assert balancers.balancers == {} and balancer.stopped


def test_does_a_modified_health_check_path_reach_the_served_balancer():
    """ModifyTargetGroup(HealthCheckPath=...) on a served target group: the balancer probes the new path."""
    engine, balancers = served_service()
    balancers.sync()
    [balancer] = balancers.balancers.values()
    assert balancer.settings["health_path"] == "/health"
    engine.desired.groups[GROUP] = replace(engine.desired.groups[GROUP], health_path="/ready", matcher="200-299")
    balancers.sync()
    assert (balancer.settings["health_path"], balancer.settings["matcher"]) == ("/ready", "200-299")
    assert list(balancers.balancers.values()) == [balancer], "the same listener, not a new one"
