"""BalancerReconciler: elbv2 load balancers in moto served locally, with service tasks as their targets.

Each HTTP listener created through the elbv2 API becomes a `LocalLoadBalancer` on 127.0.0.1 (its own port
where free, else another that `dojo status` and `LocalECS.url()` show). Tasks of a service whose
`loadBalancers` name the listener's target group are registered as they reach RUNNING and deregistered as
they stop (with the service events ECS writes), and are health-checked with the target group's settings
(intervals compressed by the clock). A task whose target turns unhealthy after the service's grace period
is replaced with "Task failed ELB health checks in (elb NAME)".

It runs on the control plane's work queue under one key (`store.BALANCERS_KEY`): a task change, a target
turning unhealthy, `LocalECS.create_load_balancer` / `url()` and a periodic re-add (a listener created through
the elbv2 API is noticed within `SYNC_INTERVAL_S`) enqueue it.

Example::

    balancers = BalancerReconciler(store=plane.store, desired=plane.adapter, clock=plane.clock, queue=plane.queue)
    plane.handle("balancers", lambda key: balancers.sync())
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any, Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.elb.balancer import LocalLoadBalancer
from ecsdojo.control.elb.targets import Target
from ecsdojo.control.moto.views import ListenerSpec, ServiceSpec, TargetGroupSpec
from ecsdojo.control.store import BALANCERS_KEY, ObservedState

__all__ = ["BalancerReconciler", "BalancerReader", "SYNC_INTERVAL_S", "MIN_WALL_INTERVAL_S", "NEW_TARGET_GRACE_S"]

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 2.0
# A floor for compressed health-check intervals: a new container needs about a second to listen, and an
# interval of a few hundred milliseconds would mark it unhealthy (and have it replaced) before it could answer.
MIN_WALL_INTERVAL_S = 1.0
# Wall seconds a new task's target may be unhealthy before the scheduler replaces it. ECS's own timing
# (2 failed checks × 30 s, plus healthCheckGracePeriodSeconds) is far longer; compressed by `speed` it
# could fall below the time a container takes to start listening.
NEW_TARGET_GRACE_S = 5.0


class BalancerReader(Protocol):
    """What the balancer reconciler needs of control/moto/ (a fake in unit tests)."""

    def listeners(self) -> list[ListenerSpec]: ...

    def target_group(self, arn: str) -> TargetGroupSpec | None: ...

    def service(self, cluster: str, name: str) -> ServiceSpec | None: ...

    def register_targets(self, target_group_arn: str, targets: list[tuple[str, int]]) -> None: ...


class Keys(Protocol):
    def add(self, key: Hashable) -> None: ...

    def add_after(self, key: Hashable, delay_s: float) -> None: ...


class BalancerReconciler:
    def __init__(self, *, store: ObservedState, desired: BalancerReader, clock: Clock, queue: Keys,
                 balancer_factory: Any = LocalLoadBalancer) -> None:
        self.store = store
        self.desired = desired
        self.clock = clock
        self.queue = queue
        self.balancer_factory = balancer_factory
        self.balancers: dict[str, LocalLoadBalancer] = {}        # listener arn -> balancer
        self.listener_info: dict[str, ListenerSpec] = {}
        self._registered: dict[str, set[str]] = {}               # target group arn -> task ids registered
        self._stopped = False

    def start(self) -> None:
        self.queue.add(BALANCERS_KEY)

    def stop(self) -> None:
        self._stopped = True
        with self.store.lock:
            balancers = list(self.balancers.values())
            self.balancers.clear()
        for balancer in balancers:
            balancer.stop()

    def sync_key(self, key: tuple) -> None:
        """The work queue's entry point: one pass, then the periodic re-add."""
        if self._stopped:
            return
        try:
            self.sync()
        finally:
            self.queue.add_after(BALANCERS_KEY, SYNC_INTERVAL_S)

    # ---- one pass -----------------------------------------------------------------------------------
    def sync(self) -> None:
        store = self.store
        with store.lock:
            listeners = self.desired.listeners()
            wanted: dict[str, list[tuple[r.TaskRecord, int, str]]] = {}
            for (cluster, name) in list(store.services):
                spec = self.desired.service(cluster, name)
                if spec is None:
                    continue
                record = store.service(cluster, name)
                groups = {d.id: d.target_group_arn for d in record.deployments} if record else {}
                for index, binding in enumerate(spec.load_balancers):
                    for task in store.tasks_of_service(cluster, name):
                        if task.last_status != "RUNNING":
                            continue
                        # blue/green: a deployment's tasks go to the target group it was given (first binding)
                        group = (groups.get(task.deployment_id or "") if index == 0 else None) or \
                            binding.target_group_arn
                        container = next((c for c in task.containers if c.name == binding.container_name), None)
                        if container is None or binding.container_port not in container.host_ports:
                            continue
                        wanted.setdefault(group, []).append(
                            (task, container.host_ports[binding.container_port], name))
            health = {group: self.desired.target_group(group)
                      for info in listeners for group, _ in (info.forward or ((info.target_group_arn, 1),))
                      if group}
        for info in listeners:
            if info.listener_arn not in self.balancers and info.target_group_arn:
                self._open(info, health.get(info.target_group_arn))
        current = {info.listener_arn for info in listeners}
        for arn in list(self.balancers):
            if arn not in current:
                self.balancers.pop(arn).stop()
                self.listener_info.pop(arn, None)
        by_arn = {info.listener_arn: info for info in listeners}
        for arn, balancer in self.balancers.items():
            info = by_arn.get(arn, self.listener_info[arn])
            self.listener_info[arn] = info
            group = health.get(info.target_group_arn)
            if group is not None:           # ModifyTargetGroup: a new health-check path or matcher applies now
                self._modify_health_check(balancer, group)
            forward = info.forward or (((info.target_group_arn, 1),) if info.target_group_arn else ())
            targets: list[Target] = []
            for group, _ in forward:
                targets += [Target(task.id, port, group) for task, port, _ in wanted.get(group, [])]
                self._announce(group, wanted.get(group, []))
            balancer.set_targets(targets)
            # several target groups: ALB forwards by weight (LINEAR, CANARY and BLUE_GREEN shift traffic so)
            balancer.set_weights(dict(forward) if len(forward) > 1 else None)
            if len(forward) > 1 and hasattr(balancer, "group_health_paths"):
                balancer.group_health_paths = {group: spec.health_path for group, spec in health.items() if spec}
            for target_id, state in balancer.target_health().items():
                if state == "unhealthy":
                    self._replace_unhealthy(info, target_id)

    def _open(self, info: ListenerSpec, group: TargetGroupSpec | None) -> None:
        if self._stopped:               # LocalECS is stopping: open no new listener
            return
        group = group or TargetGroupSpec(arn=info.target_group_arn or "")
        clock = self.clock
        balancer = self.balancer_factory(
            name=info.load_balancer_name, health_path=group.health_path,
            health_interval_s=max(clock.wall(group.interval_s), MIN_WALL_INTERVAL_S),
            health_timeout_s=max(clock.wall(group.timeout_s), 1.0),
            healthy_threshold=min(max(group.healthy_threshold, 1), 10),
            unhealthy_threshold=min(max(group.unhealthy_threshold, 1), 10),
            matcher=group.matcher, on_change=self._on_change)
        balancer.start(info.port)
        self.balancers[info.listener_arn] = balancer
        self.listener_info[info.listener_arn] = info

    def _modify_health_check(self, balancer: Any, group: TargetGroupSpec) -> None:
        try:
            balancer.set_health_check(path=group.health_path, matcher=group.matcher)
        except ValueError as error:     # a setting the balancer cannot use: keep the old one, say why
            log.warning("target group %s: health check not changed: %s", group.arn, error)

    def _announce(self, group: str, targets: list[tuple[r.TaskRecord, int, str]]) -> None:
        """Register targets in moto's elbv2 and write the service events ECS writes."""
        store = self.store
        now_ids = {task.id for task, _, _ in targets}
        before = self._registered.get(group, set())
        added = [(task, port, service) for task, port, service in targets if task.id not in before]
        removed = before - now_ids
        if not added and not removed:
            return
        self._registered[group] = now_ids
        with store.lock:
            if added:
                try:
                    self.desired.register_targets(group, [(self._target_id(t), p) for t, p, _ in added])
                except Exception as error:  # noqa: BLE001 - the event log still tells the story
                    log.warning("register_targets failed: %s", error)
            for service in {s for _, _, s in added}:
                cluster = next(t.cluster for t, _, s in added if s == service)
                record = store.service(cluster, service)
                count = sum(1 for _, _, s in added if s == service)
                if record is not None:
                    store.add_event(record, events.service_registered_targets(service, count, group))
            for task_id in removed:
                task = store.task_by_id(task_id)
                record = store.service(task.cluster, task.service) if task and task.service else None
                if record is not None:
                    store.add_event(record, events.service_deregistered_targets(task.service, 1, group))

    def _on_change(self, target_id: str, old: str, new: str) -> None:
        self.store.target_health[target_id] = new       # one dict store: atomic, no lock taken on this thread
        if new == "unhealthy":
            self.queue.add(BALANCERS_KEY)

    def _replace_unhealthy(self, info: ListenerSpec, target_id: str) -> None:
        """An unhealthy target past the service's grace period: the scheduler replaces its task."""
        store, clock = self.store, self.clock
        with store.lock:
            task = store.task_by_id(target_id)
            if task is None or task.service is None or task.desired_status != "RUNNING":
                return
            record = store.service(task.cluster, task.service)
            grace = clock.wall(record.settings.health_check_grace_period_s) if record else 0
            grace = max(grace, NEW_TARGET_GRACE_S)
            waited = clock.monotonic() - task.health_since if task.health_since is not None else grace
            if waited < grace:
                self.queue.add_after(BALANCERS_KEY, grace - waited)     # look again when the grace period ends
                return
            if store.request_stop(task, events.stop_failed_elb_health_checks(info.load_balancer_name)) and record:
                store.add_event(record, events.service_task_failed_elb_health_checks(
                    task.service, task.id, info.target_group_arn or ""))

    def _target_id(self, task: r.TaskRecord) -> str:
        """The elbv2 target id ECS registers: the EC2 instance id (bridge/host) or a made-up private IP (awsvpc)."""
        if task.container_instance_arn:
            instance = self.store.instances.get(task.cluster, {}).get(task.container_instance_arn)
            if instance is not None:
                return instance.ec2_instance_id
        return "10.0.{}.{}".format(int(task.id[:2], 16), int(task.id[2:4], 16) or 1)

    # ---- for labs and `dojo status` ---------------------------------------------------------------------
    def url(self, load_balancer: str | None = None) -> str:
        for arn, balancer in self.balancers.items():
            if load_balancer is None or self.listener_info[arn].load_balancer_name == load_balancer:
                return balancer.url
        raise LookupError(f"no listener is served for load balancer {load_balancer or '(any)'}: create one with "
                          f"elbv2 create_load_balancer, create_target_group and create_listener")

    def target_states(self, load_balancer: str | None = None) -> dict[str, str]:
        """Target health by task id ("healthy", "unhealthy", "initial", ...) across the served listeners."""
        states: dict[str, str] = {}
        for arn, balancer in list(self.balancers.items()):
            if load_balancer is None or self.listener_info[arn].load_balancer_name == load_balancer:
                states.update(balancer.target_health())
        return states

    def snapshot(self) -> dict[str, Any]:
        return {"load_balancers": [{
            "name": self.listener_info[arn].load_balancer_name,
            "listener_port": self.listener_info[arn].port, "served_at": balancer.url,
            "targets": balancer.target_health(), "requests": balancer.request_counts(),
        } for arn, balancer in list(self.balancers.items())]}
