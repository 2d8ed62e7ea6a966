"""BalancerReconciler: elbv2 load balancers in moto served locally, with service tasks as their targets.

Each HTTP listener created through the elbv2 API becomes a `LocalLoadBalancer` on 127.0.0.1 (its own port
where free, else another that `dojo status` and `LocalECS.url()` show). Tasks of a service whose
`loadBalancers` name the listener's target group are registered as they reach RUNNING and deregistered as
they stop (with the service events ECS writes), and are health-checked with the target group's settings
(intervals compressed by the clock). A task whose target turns unhealthy after the service's grace period
is replaced with "Task failed ELB health checks in (elb NAME)".
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ecsdojo.control import records as r
from ecsdojo.lb import LocalLoadBalancer, Target

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 0.25
# A floor for compressed health-check intervals: a new container needs about a second to listen, and an
# interval of a few hundred milliseconds would mark it unhealthy (and have it replaced) before it could answer.
MIN_WALL_INTERVAL_S = 1.0
# Wall seconds a new task's target may be unhealthy before the scheduler replaces it. ECS's own timing
# (2 failed checks × 30 s, plus healthCheckGracePeriodSeconds) is far longer; compressed by `speed` it
# could fall below the time a container takes to start listening.
NEW_TARGET_GRACE_S = 5.0


class BalancerReconciler:
    def __init__(self, plane, moto) -> None:
        self.plane = plane
        self.moto = moto
        self.balancers: dict[str, LocalLoadBalancer] = {}        # listener arn -> balancer
        self.listener_info: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._registered: dict[str, set[str]] = {}               # target group arn -> task ids registered

    def start(self) -> None:
        self.plane.listeners.append(lambda task: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="ecsdojo-balancers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for balancer in self.balancers.values():
            balancer.stop()
        self.balancers.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - keep serving; the next pass retries
                log.exception("load balancer sync failed")
            self._wake.wait(SYNC_INTERVAL_S)
            self._wake.clear()

    # ---- one pass -----------------------------------------------------------------------------------
    def sync(self) -> None:
        plane = self.plane
        with plane.lock:
            listeners = plane.adapter.listeners()
            wanted: dict[str, list[tuple[r.TaskRecord, int, str]]] = {}
            for (cluster, name), record in plane.services.items():
                moto_service = plane.adapter.service(cluster, name)
                if moto_service is None:
                    continue
                for binding in moto_service.load_balancers or []:
                    group = binding.get("targetGroupArn")
                    container_port = int(binding.get("containerPort", 0))
                    container_name = binding.get("containerName")
                    for task in plane.tasks.values():
                        if task.cluster != cluster or task.service != name or task.last_status != "RUNNING" \
                                or task.desired_status != "RUNNING":
                            continue
                        container = next((c for c in task.containers if c.name == container_name), None)
                        if container is None or container_port not in container.host_ports:
                            continue
                        wanted.setdefault(group, []).append((task, container.host_ports[container_port], name))
            groups = {info["target_group_arn"]: plane.adapter.target_group(info["target_group_arn"])
                      for info in listeners if info["target_group_arn"]}
        for info in listeners:
            if info["listener_arn"] not in self.balancers and info["target_group_arn"]:
                self._open(info, groups.get(info["target_group_arn"]))
        for arn in list(self.balancers):
            if arn not in {info["listener_arn"] for info in listeners}:
                self.balancers.pop(arn).stop()
                self.listener_info.pop(arn, None)
        for arn, balancer in self.balancers.items():
            group = self.listener_info[arn]["target_group_arn"]
            targets = wanted.get(group, [])
            balancer.set_targets([Target(task.id, port) for task, port, _ in targets])
            self._announce(group, targets)
            for target_id, state in balancer.target_health().items():
                if state == "unhealthy":
                    self._replace_unhealthy(self.listener_info[arn], target_id)

    def _open(self, info: dict[str, Any], group) -> None:
        clock = self.plane.clock
        health_path = getattr(group, "health_check_path", None) or "/"
        interval = float(getattr(group, "health_check_interval_seconds", 30) or 30)
        timeout = float(getattr(group, "health_check_timeout_seconds", 5) or 5)
        healthy = int(getattr(group, "healthy_threshold_count", 5) or 5)
        unhealthy = int(getattr(group, "unhealthy_threshold_count", 2) or 2)
        matcher = (getattr(group, "matcher", None) or {}).get("HttpCode", "200")
        balancer = LocalLoadBalancer(
            name=info["load_balancer_name"], health_path=health_path,
            health_interval_s=max(clock.wall(interval), MIN_WALL_INTERVAL_S),
            health_timeout_s=max(clock.wall(timeout), 1.0),
            healthy_threshold=min(max(healthy, 1), 10), unhealthy_threshold=min(max(unhealthy, 1), 10),
            matcher=matcher, on_change=lambda target, old, new, info=info: self._on_change(info, target, new))
        balancer.start(info["port"])
        self.balancers[info["listener_arn"]] = balancer
        self.listener_info[info["listener_arn"]] = info

    def _announce(self, group: str, targets: list[tuple[r.TaskRecord, int, str]]) -> None:
        """Register/deregister targets in moto's elbv2 and write the service events ECS writes."""
        plane = self.plane
        now_ids = {task.id for task, _, _ in targets}
        before = self._registered.get(group, set())
        added = [(task, port, service) for task, port, service in targets if task.id not in before]
        removed = before - now_ids
        if not added and not removed:
            return
        self._registered[group] = now_ids
        elbv2 = self.moto.client("elbv2")
        try:
            if added:
                elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": _target_id(plane, t), "Port": p}
                                                                       for t, p, _ in added])
        except Exception as error:  # noqa: BLE001 - the event log still tells the story
            log.warning("register_targets failed: %s", error)
        with plane.lock:
            for service in {s for _, _, s in added}:
                cluster = next(t.cluster for t, _, s in added if s == service)
                record = plane.services.get((cluster, service))
                count = sum(1 for _, _, s in added if s == service)
                if record is not None:
                    record.events.insert(0, plane.event(f"(service {service}) registered {count} targets in "
                                                        f"(target-group {group})"))
            for task_id in removed:
                task = next((t for t in plane.tasks.values() if t.id == task_id), None)
                record = plane.services.get((task.cluster, task.service)) if task and task.service else None
                if record is not None:
                    record.events.insert(0, plane.event(f"(service {task.service}) deregistered 1 targets in "
                                                        f"(target-group {group})"))

    def _on_change(self, info: dict[str, Any], target_id: str, new: str) -> None:
        if new == "unhealthy":
            self._wake.set()

    def _replace_unhealthy(self, info: dict[str, Any], target_id: str) -> None:
        """An unhealthy target past the service's grace period: the scheduler replaces its task."""
        plane = self.plane
        with plane.lock:
            task = next((t for t in plane.tasks.values() if t.id == target_id), None)
            if task is None or task.service is None or task.desired_status != "RUNNING":
                return
            record = plane.services.get((task.cluster, task.service))
            grace = plane.clock.wall(record.settings.health_check_grace_period_s) if record else 0
            grace = max(grace, NEW_TARGET_GRACE_S)
            if task.health_since is not None and plane.clock.monotonic() - task.health_since < grace:
                return
            task.desired_status = "STOPPED"
            task.stop_code = r.SERVICE_SCHEDULER_INITIATED
            task.stopped_reason = r.ELB_HEALTH_REASON.format(name=info["load_balancer_name"])
            if record is not None:
                record.events.insert(0, plane.event(
                    f"(service {task.service}) (task {task.id}) failed ELB health checks in "
                    f"(target-group {info['target_group_arn']})"))
            plane.write_task(task)
            plane.queue.add(("task", task.arn))

    # ---- for labs and `dojo status` ---------------------------------------------------------------------
    def url(self, load_balancer: str | None = None) -> str:
        for arn, balancer in self.balancers.items():
            if load_balancer is None or self.listener_info[arn]["load_balancer_name"] == load_balancer:
                return balancer.url
        raise LookupError(f"no listener is served for load balancer {load_balancer or '(any)'}: create one with "
                          f"elbv2 create_load_balancer, create_target_group and create_listener")

    def snapshot(self) -> dict[str, Any]:
        return {"load_balancers": [{
            "name": self.listener_info[arn]["load_balancer_name"],
            "listener_port": self.listener_info[arn]["port"], "served_at": balancer.url,
            "targets": balancer.target_health(), "requests": balancer.request_counts(),
        } for arn, balancer in self.balancers.items()]}


def _target_id(plane, task: r.TaskRecord) -> str:
    """The elbv2 target id ECS registers: the EC2 instance id (bridge/host) or a made-up private IP (awsvpc)."""
    if task.container_instance_arn:
        instance = plane.instances.get(task.cluster, {}).get(task.container_instance_arn)
        if instance is not None:
            return instance.ec2_instance_id
    return "10.0.{}.{}".format(int(task.id[:2], 16), int(task.id[2:4], 16) or 1)
