"""ServiceReconciler: keep an ACTIVE service's tasks equal to its desiredCount (observe → diff → act → write).

One `sync(cluster, name)`:
- replaces tasks that failed container health checks (after the grace period);
- starts tasks for the PRIMARY deployment within maximumPercent, stops old-deployment tasks while
  minimumHealthyPercent allows, and stops the surplus when desiredCount went down;
- throttles tasks that keep failing to start; applies the deployment circuit breaker (and rollback);
- writes runningCount, pendingCount, deployments and events in AWS's words.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING

from ecsdojo.control import records as r

if TYPE_CHECKING:
    from ecsdojo.control.plane import ControlPlane

THROTTLE_AFTER_FAILURES = 3
THROTTLE_BASE_S = 10          # ECS seconds; doubles per level
THROTTLE_MAX_S = 27 * 60      # ECS caps the delay at about 27 minutes
PLACEMENT_EVENT_EVERY_S = 60  # ECS seconds between repeated placement-failure events
ROLLOUT_STABLE_S = 30         # ECS seconds a new revision's tasks must stay up before its rollout completes
MIN_ROLLOUT_STABLE_WALL_S = 1.0


def circuit_breaker_threshold(desired_count: int) -> int:
    """Failed tasks that trip the breaker: 0.5 × desiredCount, at least 3 and at most 200."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


def deployment_bounds(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> tuple[int, int]:
    """(minimum healthy tasks rounded up, maximum tasks rounded down), as ECS rounds them."""
    minimum = math.ceil(desired * minimum_healthy_percent / 100)
    maximum = math.floor(desired * maximum_percent / 100)
    return minimum, max(maximum, 1 if desired else 0)


def task_list(arns: list[str]) -> str:
    return " ".join(f"(task {arn.rsplit('/', 1)[-1]})" for arn in arns)


class ServiceReconciler:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def sync(self, cluster: str, name: str) -> None:
        plane = self.plane
        to_stop: list[tuple[r.TaskRecord, str, str]] = []
        with plane.lock:
            record = plane.services.get((cluster, name))
            moto_service = plane.adapter.service(cluster, name)
            if record is None:
                return
            tasks = [t for t in plane.tasks.values() if t.cluster == cluster and t.service == name and t.active]
            if moto_service is None or moto_service.status != "ACTIVE":
                for task in tasks:
                    to_stop.append((task, r.SERVICE_SCHEDULER_INITIATED,
                                    r.SCALING_REASON.format(deployment=task.deployment_id)))
                self._stop_tasks(record, to_stop, announce=True)
                return
            desired = int(moto_service.desired_count)
            primary = record.primary
            if primary is None:
                return
            primary.desired_count = desired
            settings = record.settings

            # 1. health: replace UNHEALTHY tasks once the grace period is over
            grace_wall = plane.clock.wall(settings.health_check_grace_period_s)
            now_mono = plane.clock.monotonic()
            for task in tasks:
                if (task.last_status == "RUNNING" and task.health_status == "UNHEALTHY"
                        and (task.health_since is None or now_mono - task.health_since >= grace_wall)):
                    record.events.insert(0, plane.event(
                        f"(service {name}) (task {task.id}) failed container health checks."))
                    to_stop.append((task, r.SERVICE_SCHEDULER_INITIATED, r.HEALTH_CHECK_REASON))
                    self._count_failure(record, task)
            stopping = {t.arn for t, _, _ in to_stop}
            tasks = [t for t in tasks if t.arn not in stopping]

            primary_tasks = [t for t in tasks if t.deployment_id == primary.id]
            old_tasks = [t for t in tasks if t.deployment_id != primary.id]
            minimum_healthy, maximum_total = deployment_bounds(desired, settings.minimum_healthy_percent,
                                                               settings.maximum_percent)

            # 2. surplus of the primary deployment (desiredCount went down): stop pending ones first
            if len(primary_tasks) > desired:
                surplus = sorted(primary_tasks, key=lambda t: (t.last_status == "RUNNING", t.created_at))
                for task in surplus[:len(primary_tasks) - desired]:
                    to_stop.append((task, r.SERVICE_SCHEDULER_INITIATED,
                                    r.SCALING_REASON.format(deployment=primary.id)))
                primary_tasks = surplus[len(primary_tasks) - desired:]

            # 3. old deployments drain while minimumHealthyPercent allows
            healthy_primary = sum(1 for t in primary_tasks if t.last_status == "RUNNING"
                                  and t.health_status != "UNHEALTHY")
            old_running = [t for t in old_tasks if t.last_status == "RUNNING"]
            old_not_running = [t for t in old_tasks if t.last_status != "RUNNING"]
            stoppable = max(0, healthy_primary + len(old_running) - minimum_healthy)
            if len(primary_tasks) >= desired:
                stoppable = len(old_running) if healthy_primary >= desired else stoppable
            for task in old_not_running + old_running[:stoppable]:
                to_stop.append((task, r.SERVICE_SCHEDULER_INITIATED,
                                r.SCALING_REASON.format(deployment=task.deployment_id)))
            remaining_old = len(old_running) - min(stoppable, len(old_running))

            # 4. start what the primary deployment lacks, within maximumPercent and the throttle
            room = desired - len(primary_tasks)
            if remaining_old:
                room = min(room, maximum_total - len(primary_tasks) - remaining_old)
            started: list[str] = []
            throttled = now_mono < record.throttled_until
            if room > 0 and not throttled:
                started, failure = plane.start_service_tasks(record, moto_service, primary, room)
                if failure and now_mono - record.last_placement_failure_event >= plane.clock.wall(
                        PLACEMENT_EVENT_EVERY_S):
                    record.last_placement_failure_event = now_mono
                    record.events.insert(0, plane.event(
                        f"(service {name}) was unable to place a task because no container instance met all of "
                        f"its requirements. {failure.rstrip('.')}. For more information, see the Troubleshooting section of "
                        f"the Amazon ECS Developer Guide."))
                if started:
                    record.events.insert(0, plane.event(
                        f"(service {name}) has started {len(started)} tasks: {task_list(started)}."))
            elif room > 0 and throttled:
                plane.queue.add_after(("service", cluster, name), record.throttled_until - now_mono + 0.01)

        self._stop_tasks(record, to_stop, announce=True)
        self._write(cluster, name)

    # ---- helpers -------------------------------------------------------------------------------------
    def _stop_tasks(self, record: r.ServiceRecord, to_stop: list[tuple[r.TaskRecord, str, str]], *,
                    announce: bool) -> None:
        plane = self.plane
        if not to_stop:
            return
        with plane.lock:
            running = [t.arn for t, _, _ in to_stop if t.last_status == "RUNNING"]
            for task, code, reason in to_stop:
                task.desired_status = "STOPPED"
                task.stop_code = task.stop_code or code
                task.stopped_reason = task.stopped_reason or reason
                plane.write_task(task)
                plane.queue.add(("task", task.arn))
            if announce and running:
                record.events.insert(0, plane.event(
                    f"(service {record.name}) has stopped {len(running)} running tasks: {task_list(running)}."))

    def _count_failure(self, record: r.ServiceRecord, task: r.TaskRecord) -> None:
        deployment = next((d for d in record.deployments if d.id == task.deployment_id), None)
        if deployment is not None:
            deployment.failed_tasks += 1

    def task_stopped(self, record: r.ServiceRecord, task: r.TaskRecord) -> None:
        """Called under the plane's lock when one of the service's tasks reached STOPPED."""
        plane = self.plane
        if task.stop_code in (r.TASK_FAILED_TO_START, r.ESSENTIAL_CONTAINER_EXITED):
            self._count_failure(record, task)
        if not task.reached_running:
            record.consecutive_start_failures += 1
            if record.consecutive_start_failures >= THROTTLE_AFTER_FAILURES:
                delay = min(THROTTLE_MAX_S, THROTTLE_BASE_S * 2 ** record.throttle_level)
                record.throttle_level += 1
                record.throttled_until = plane.clock.monotonic() + plane.clock.wall(delay)
                message = f"(service {record.name}) is unable to consistently start tasks successfully."
                if not record.events or record.events[0]["message"] != message:
                    record.events.insert(0, plane.event(message))
        else:
            record.consecutive_start_failures = 0
            record.throttle_level = 0
        self._circuit_breaker(record)

    def _circuit_breaker(self, record: r.ServiceRecord) -> None:
        plane = self.plane
        primary = record.primary
        settings = record.settings
        if (primary is None or not settings.circuit_breaker_enable or primary.rollout_state != "IN_PROGRESS"
                or primary.failed_tasks < circuit_breaker_threshold(primary.desired_count)):
            return
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        record.events.insert(0, plane.event(f"(service {record.name}) deployment {primary.id} deployment failed: "
                                            f"tasks failed to start."))
        if not settings.circuit_breaker_rollback:
            return
        previous = next((d for d in record.deployments if d.rollout_state == "COMPLETED" and d is not primary), None)
        target = previous.task_definition_arn if previous else None
        if target is None:
            return
        rollback = r.Deployment(id=f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", task_definition_arn=target,
                                desired_count=primary.desired_count, created_at=plane.clock.now(),
                                updated_at=plane.clock.now(), launch_type=primary.launch_type,
                                network_configuration=primary.network_configuration,
                                rollout_state_reason=f"ECS deployment circuit breaker: rolling back to deploymentId "
                                                     f"{previous.id}.")
        primary.status = "ACTIVE"
        for deployment in record.deployments:
            if deployment is previous:
                deployment.status = "INACTIVE"
        record.deployments.insert(0, rollback)
        plane.set_service_task_definition(record, target)
        record.events.insert(0, plane.event(f"(service {record.name}) rolling back to deployment {previous.id}."))

    def _rollout_settled(self, record: r.ServiceRecord, primary: r.Deployment, tasks: list[r.TaskRecord]) -> bool:
        """A rollout of a new revision completes only once its tasks have stayed up for a while and passed
        their health checks, so that tasks which crash or fail checks soon after starting still count for
        the circuit breaker. (A service's first deployment completes as soon as its tasks run.)"""
        if primary is record.deployments[-1]:
            return True
        window = max(self.plane.clock.wall(ROLLOUT_STABLE_S), MIN_ROLLOUT_STABLE_WALL_S)
        now = self.plane.clock.monotonic()
        for task in tasks:
            if task.deployment_id != primary.id or task.last_status != "RUNNING":
                continue
            if task.health_since is None or now - task.health_since < window:
                return False
            if any(c.has_health_check and c.essential and c.health != "HEALTHY" for c in task.containers):
                return False
        return True

    def _write(self, cluster: str, name: str) -> None:
        plane = self.plane
        with plane.lock:
            record = plane.services.get((cluster, name))
            if record is None:
                return
            tasks = [t for t in plane.tasks.values() if t.cluster == cluster and t.service == name and t.active]
            for deployment in record.deployments:
                mine = [t for t in tasks if t.deployment_id == deployment.id]
                deployment.running_count = sum(1 for t in mine if t.last_status == "RUNNING")
                deployment.pending_count = sum(1 for t in mine if t.last_status in ("PROVISIONING", "PENDING"))
                if deployment.status == "ACTIVE" and not mine:
                    deployment.status = "INACTIVE"
                deployment.updated_at = deployment.updated_at or plane.clock.now()
            record.deployments = [d for d in record.deployments if d.status != "INACTIVE" or d.rollout_state
                                  == "COMPLETED"][:10]
            primary = record.primary
            running = sum(1 for t in tasks if t.last_status == "RUNNING")
            pending = sum(1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING"))
            moto_service = plane.adapter.service(cluster, name)
            desired = int(moto_service.desired_count) if moto_service is not None else 0
            others_active = any(d.status == "ACTIVE" for d in record.deployments)
            steady = (primary is not None and primary.running_count == desired and pending == 0
                      and not others_active and running == desired)
            if primary is not None and steady and primary.rollout_state == "IN_PROGRESS" and \
                    self._rollout_settled(record, primary, tasks):
                primary.rollout_state = "COMPLETED"
                primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
                primary.updated_at = plane.clock.now()
                record.events.insert(0, plane.event(f"(service {name}) deployment {primary.id} deployment completed."))
                # an older COMPLETED deployment is history now
                for deployment in record.deployments:
                    if deployment is not primary and deployment.rollout_state == "COMPLETED":
                        deployment.status = "INACTIVE"
            if steady and not record.steady:
                record.events.insert(0, plane.event(f"(service {name}) has reached a steady state."))
            record.steady = steady
            del record.events[100:]
            plane.adapter.write_service(record, running=running, pending=pending)
