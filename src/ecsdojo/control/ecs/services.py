"""ServiceReconciler: keep an ACTIVE service's tasks equal to its desiredCount (observe → diff → act → write).

One `sync(cluster, name)`:
- takes account of the service's tasks that stopped since the last sync (failed-task counts for the circuit
  breaker, the launch throttle);
- replaces tasks that failed container health checks (after the grace period);
- starts tasks for the PRIMARY deployment within maximumPercent (through the launcher), stops old-deployment
  tasks while minimumHealthyPercent allows, and stops the surplus when desiredCount went down;
- throttles tasks that keep failing to start; applies the deployment circuit breaker (and rollback);
- writes runningCount, pendingCount, deployments and events in AWS's words (control/events.py).

It never calls another reconciler: stops go through `store.request_stop`, which enqueues the task's key.

Example::

    reconciler = ServiceReconciler(store=store, launcher=launcher, desired=adapter, clock=Clock(10), queue=queue)
    reconciler.sync("my-cluster", "web")
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs import deployments, traffic
from ecsdojo.control.ecs.deployments import circuit_breaker_threshold
from ecsdojo.control.ecs.status import ServiceStatusWriter, write_service_status
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.store import ObservedState, service_key

__all__ = ["ServiceReconciler", "ServiceReader", "circuit_breaker_threshold", "deployment_bounds",
           "THROTTLE_AFTER_FAILURES", "THROTTLE_BASE_S", "THROTTLE_MAX_S", "PLACEMENT_EVENT_EVERY_S"]

THROTTLE_AFTER_FAILURES = 3
THROTTLE_BASE_S = 10          # ECS seconds; doubles per level
THROTTLE_MAX_S = 27 * 60      # ECS caps the delay at about 27 minutes
PLACEMENT_EVENT_EVERY_S = 60  # ECS seconds between repeated placement-failure events
# While a rollout is in progress or an unhealthy task waits out its grace period, the service looks again this
# often (a delayed re-add of its own key): the moment a rollout settles or a grace period ends is not an event.
WATCH_WALL_S = 0.5


def _service_group(spec) -> str:
    return spec.load_balancers[0].target_group_arn if spec is not None and spec.load_balancers else ""


class ServiceReader(ServiceStatusWriter, traffic.TrafficWriter, Protocol):
    """What the service reconciler needs of control/moto/ (a fake in unit tests)."""

    def task_definition(self, name_or_arn: str) -> TaskDefinitionView: ...

    def set_service_task_definition(self, cluster: str, name: str, arn: str) -> None: ...


class DelayedKeys(Protocol):
    def add_after(self, key: Hashable, delay_s: float) -> None: ...


def deployment_bounds(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> tuple[int, int]:
    """(minimum healthy tasks rounded up, maximum tasks rounded down), as ECS rounds them."""
    minimum = math.ceil(desired * minimum_healthy_percent / 100)
    maximum = math.floor(desired * maximum_percent / 100)
    return minimum, max(maximum, 1 if desired else 0)


class ServiceReconciler:
    def __init__(self, *, store: ObservedState, launcher: Launcher, desired: ServiceReader, clock: Clock,
                 queue: DelayedKeys) -> None:
        self.store = store
        self.launcher = launcher
        self.desired = desired
        self.clock = clock
        self.queue = queue

    def sync(self, cluster: str, name: str) -> None:
        store, clock = self.store, self.clock
        with store.lock:
            record = store.service(cluster, name)
            if record is None:
                return
            self._take_stopped_tasks(record)
            spec = self.desired.service(cluster, name)
            tasks = store.tasks_of_service(cluster, name)
            if spec is None or not spec.active:
                self._stop_tasks(record, [(t, events.stop_for_scaling(t.deployment_id)) for t in tasks])
                return
            desired = spec.desired_count
            primary = record.primary
            if primary is None:
                return
            primary.desired_count = desired
            settings = record.settings
            to_stop: list[tuple[r.TaskRecord, events.StopReason]] = []

            # 1. health: replace UNHEALTHY tasks once the grace period is over
            grace_wall = clock.wall(settings.health_check_grace_period_s)
            now_mono = clock.monotonic()
            watch = False
            for task in tasks:
                if task.last_status != "RUNNING" or task.health_status != "UNHEALTHY":
                    continue
                if task.health_since is None or now_mono - task.health_since >= grace_wall:
                    store.add_event(record, events.service_task_failed_health_checks(name, task.id))
                    to_stop.append((task, events.STOP_FAILED_HEALTH_CHECKS))
                    self._count_failure(record, task)
                else:
                    watch = True
            stopping = {t.arn for t, _ in to_stop}
            tasks = [t for t in tasks if t.arn not in stopping]

            primary_tasks = [t for t in tasks if t.deployment_id == primary.id]
            old_tasks = [t for t in tasks if t.deployment_id != primary.id]
            minimum_healthy, maximum_total = deployment_bounds(desired, settings.minimum_healthy_percent,
                                                               settings.maximum_percent)

            # 2. surplus of the primary deployment (desiredCount went down): stop pending ones first
            if len(primary_tasks) > desired:
                surplus = sorted(primary_tasks, key=lambda t: (t.last_status == "RUNNING", t.created_at))
                for task in surplus[:len(primary_tasks) - desired]:
                    to_stop.append((task, events.stop_for_scaling(primary.id)))
                primary_tasks = surplus[len(primary_tasks) - desired:]

            # 3. old deployments drain while minimumHealthyPercent allows
            healthy_primary = sum(1 for t in primary_tasks if t.last_status == "RUNNING"
                                  and t.health_status != "UNHEALTHY")
            old_running = [t for t in old_tasks if t.last_status == "RUNNING"]
            old_not_running = [t for t in old_tasks if t.last_status != "RUNNING"]
            stoppable = max(0, healthy_primary + len(old_running) - minimum_healthy)
            if len(primary_tasks) >= desired:
                stoppable = len(old_running) if healthy_primary >= desired else stoppable
            shift = traffic.shift_of(record)         # BLUE_GREEN / LINEAR / CANARY: blue stays until CLEAN_UP
            if shift is not None:
                stoppable = len(old_running) if shift.lifecycle_stage == "CLEAN_UP" else 0
            for task in old_not_running + old_running[:stoppable]:
                to_stop.append((task, events.stop_for_scaling(task.deployment_id)))
            remaining_old = len(old_running) - min(stoppable, len(old_running))

            # 4. start what the primary deployment lacks, within maximumPercent and the throttle
            room = desired - len(primary_tasks)
            if remaining_old and shift is None:
                room = min(room, maximum_total - len(primary_tasks) - remaining_old)
            throttled = now_mono < record.throttled_until
            if room > 0 and not throttled:
                self._start_tasks(record, spec.launch_type, primary, room)
            elif room > 0 and throttled:
                self.queue.add_after(service_key(cluster, name), record.throttled_until - now_mono + 0.01)

            self._stop_tasks(record, to_stop)
            if shift is not None:
                traffic.advance(record, shift, green_tasks=primary_tasks, service_group=_service_group(spec),
                                desired=self.desired, store=store, clock=clock)
            write_service_status(store=store, desired=self.desired, clock=clock, cluster=cluster, name=name)
            primary = record.primary
            if watch or (primary is not None and primary.rollout_state == "IN_PROGRESS"):
                self.queue.add_after(service_key(cluster, name), WATCH_WALL_S)

    # ---- acts -----------------------------------------------------------------------------------------
    def _start_tasks(self, record: r.ServiceRecord, launch_type: str | None, primary: r.Deployment,
                     count: int) -> None:
        definition = self.desired.task_definition(primary.task_definition_arn)
        result = self.launcher.launch(
            cluster=record.cluster, definition=definition, count=count, group=f"service:{record.name}",
            started_by=primary.id, launch_type=primary.launch_type or launch_type or "EC2",
            network_configuration=primary.network_configuration or None,
            strategy=record.settings.placement_strategy, service=record.name, deployment_id=primary.id,
            enable_execute_command=record.settings.enable_execute_command)
        now_mono = self.clock.monotonic()
        if result.failure and now_mono - record.last_placement_failure_event >= self.clock.wall(
                PLACEMENT_EVENT_EVERY_S):
            record.last_placement_failure_event = now_mono
            self.store.add_event(record, events.service_unable_to_place(record.name, result.failure))
        if result.task_arns:
            self.store.add_event(record, events.service_started_tasks(record.name, result.task_arns))

    def _stop_tasks(self, record: r.ServiceRecord, to_stop: list[tuple[r.TaskRecord, events.StopReason]]) -> None:
        running = [t.arn for t, _ in to_stop if t.last_status == "RUNNING"]
        for task, stop in to_stop:
            self.store.request_stop(task, stop)
        if running:
            self.store.add_event(record, events.service_stopped_tasks(record.name, running))

    # ---- what stopped tasks mean for the service -------------------------------------------------------------
    def _take_stopped_tasks(self, record: r.ServiceRecord) -> None:
        """Each task that reached STOPPED is taken into account once: failures, the throttle, the breaker."""
        stopped = [t for t in self.store.tasks_of_service(record.cluster, record.name, active_only=False)
                   if t.last_status == "STOPPED" and t.arn not in record.counted_stops]
        for task in sorted(stopped, key=lambda t: (t.stopped_at is None, t.stopped_at)):
            record.counted_stops.add(task.arn)
            self._task_stopped(record, task)

    def _task_stopped(self, record: r.ServiceRecord, task: r.TaskRecord) -> None:
        if task.stop_code in (events.TASK_FAILED_TO_START, events.ESSENTIAL_CONTAINER_EXITED) or \
                events.asked_by_load_balancer(events.StopReason(task.stop_code or "", task.stopped_reason or "")):
            # the breaker's second stage counts failed health checks, the load balancer's included
            # (developerguide/deployment-circuit-breaker.html)
            self._count_failure(record, task)
        if not task.reached_running:
            record.consecutive_start_failures += 1
            if record.consecutive_start_failures >= THROTTLE_AFTER_FAILURES:
                delay = min(THROTTLE_MAX_S, THROTTLE_BASE_S * 2 ** record.throttle_level)
                record.throttle_level += 1
                record.throttled_until = self.clock.monotonic() + self.clock.wall(delay)
                message = events.service_unable_to_start_consistently(record.name)
                if not record.events or record.events[0]["message"] != message:
                    self.store.add_event(record, message)
        else:
            record.consecutive_start_failures = 0
            record.throttle_level = 0
        self._circuit_breaker(record)

    @staticmethod
    def _count_failure(record: r.ServiceRecord, task: r.TaskRecord) -> None:
        deployment = next((d for d in record.deployments if d.id == task.deployment_id), None)
        if deployment is not None:
            deployment.failed_tasks += 1

    def _circuit_breaker(self, record: r.ServiceRecord) -> None:
        primary = record.primary
        settings = record.settings
        if (primary is None or not settings.circuit_breaker_enable or primary.rollout_state != "IN_PROGRESS"
                or primary.failed_tasks < circuit_breaker_threshold(primary.desired_count)):
            return
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = events.CIRCUIT_BREAKER_FAILED_REASON
        self.store.add_event(record, events.service_deployment_failed(record.name, primary.id))
        if not settings.circuit_breaker_rollback:
            return
        shift = traffic.shift_of(record)
        if shift is not None:
            spec = self.desired.service(record.cluster, record.name)
            traffic.roll_back(record, shift, reason=events.CIRCUIT_BREAKER_FAILED_REASON, desired=self.desired,
                              store=self.store, clock=self.clock, service_group=_service_group(spec),
                              trigger="circuit_breaker")
            return
        previous = deployments.previous_completed(record, primary)
        if previous is None:
            return
        deployments.roll_back(record, primary, reason=events.CIRCUIT_BREAKER_FAILED_REASON,
                              deployment_reason=events.circuit_breaker_rollback_reason(previous.id),
                              clock=self.clock, trigger="circuit_breaker")
        self.desired.set_service_task_definition(record.cluster, record.name, previous.task_definition_arn)
        self.store.add_event(record, events.service_rolling_back(record.name, previous.id))
