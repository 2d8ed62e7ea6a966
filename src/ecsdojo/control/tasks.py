"""TaskReconciler: one task's containers made real, observed and stopped (observe → diff → act → write).

- PROVISIONING with desiredStatus RUNNING: start every container through the runtime; RUNNING when all are up,
  or STOPPED with stopCode TaskFailedToStart and the runtime's reason (CannotPullContainerError, ...).
- RUNNING: an essential container that exits stops the task (EssentialContainerExited, "Essential container in
  task exited", exit code and OOM reason on the container); container health is mapped to ECS's words.
- desiredStatus STOPPED: SIGTERM, then SIGKILL after stopTimeout; STOPPED with stoppedAt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ecsdojo.control import records as r
from ecsdojo.control.specs import container_specs
from ecsdojo.runtime.base import ContainerState, RuntimeError_

if TYPE_CHECKING:
    from ecsdojo.control.plane import ControlPlane

log = logging.getLogger(__name__)

DOCKER_HEALTH_TO_ECS = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY", "starting": "UNKNOWN", None: "UNKNOWN"}


def container_reason(state: ContainerState | None) -> str | None:
    if state is None:
        return "Container removed outside ECS"
    if state.oom_killed:
        return r.OOM_REASON
    return state.error or None


class TaskReconciler:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def sync(self, arn: str) -> None:
        plane = self.plane
        with plane.lock:
            task = plane.tasks.get(arn)
            if task is None or task.last_status == "STOPPED":
                return
            desired, last = task.desired_status, task.last_status
        if desired == "RUNNING" and last == "PROVISIONING":
            self._launch(task)
        elif desired == "STOPPED":
            self._stop(task)
        else:
            self._observe(task)

    # ---- launch --------------------------------------------------------------------------------
    def _launch(self, task: r.TaskRecord) -> None:
        plane = self.plane
        with plane.lock:
            definition = plane.adapter.task_definition(task.task_definition_arn)
            container_definitions = [dict(d) for d in definition.container_definitions]
            task.last_status = "PENDING"
            task.pull_started_at = plane.clock.now()
            plane.write_task(task)
        specs = container_specs(container_definitions, task, clock=plane.clock, labels=plane.labels,
                                task_memory=int(definition.memory) if str(definition.memory or "").isdigit() else None,
                                service=task.service)
        started: list[ContainerState] = []
        failure: RuntimeError_ | None = None
        for spec in specs:
            try:
                started.append(plane.runtime.start(spec))
            except RuntimeError_ as error:
                failure = error
                break
        with plane.lock:
            task.pull_stopped_at = plane.clock.now()
            for container, state in zip(task.containers, started):
                container.runtime_id = state.id
                container.host_ports = dict(state.ports)
                container.last_status = "RUNNING"
            if failure is None:
                task.last_status = "RUNNING"
                task.started_at = plane.clock.now()
                task.reached_running = True
                task.health_since = plane.clock.monotonic()
            plane.write_task(task)
        if failure is not None:
            failed_container = task.containers[len(started)] if len(started) < len(task.containers) else None
            with plane.lock:
                if failed_container is not None:
                    failed_container.reason = str(failure)
                    failed_container.last_status = "STOPPED"
                task.desired_status = "STOPPED"
                task.stop_code = r.TASK_FAILED_TO_START
                task.stopped_reason = str(failure)
            self._stop(task)
            return
        plane.task_changed(task)

    # ---- observe ---------------------------------------------------------------------------------
    def _observe(self, task: r.TaskRecord) -> None:
        plane = self.plane
        states = {c.name: plane.runtime.inspect(c.runtime_id) if c.runtime_id else None for c in task.containers}
        essential_exit = None
        changed = False
        with plane.lock:
            if task.desired_status != "RUNNING" or task.last_status != "RUNNING":
                return
            before = task.health_status
            for container in task.containers:
                state = states[container.name]
                if container.last_status == "STOPPED":
                    continue
                if state is None or not state.running:
                    container.last_status = "STOPPED"
                    container.exit_code = state.exit_code if state is not None else 137
                    container.reason = container_reason(state)
                    changed = True
                    if container.essential and essential_exit is None:
                        essential_exit = container
                elif container.has_health_check:
                    health = DOCKER_HEALTH_TO_ECS.get(state.health, "UNKNOWN")
                    if health != container.health:
                        container.health = health
                        changed = True
            if essential_exit is not None:
                task.desired_status = "STOPPED"
                task.stop_code = r.ESSENTIAL_CONTAINER_EXITED
                task.stopped_reason = r.ESSENTIAL_EXITED_REASON
            if changed:
                plane.write_task(task)
            health_changed = task.health_status != before
        if essential_exit is not None:
            self._stop(task)
        elif health_changed:
            plane.task_changed(task)

    # ---- stop ----------------------------------------------------------------------------------------
    def _stop(self, task: r.TaskRecord) -> None:
        plane = self.plane
        with plane.lock:
            if task.last_status == "STOPPED":
                return
            if task.stopping_at is None:
                task.stopping_at = plane.clock.now()
            if task.last_status in ("RUNNING", "PENDING", "ACTIVATING"):
                task.last_status = "DEACTIVATING"
            task.last_status = "STOPPING"
            plane.write_task(task)
            to_stop = [(c, c.runtime_id) for c in task.containers if c.runtime_id and c.last_status != "STOPPED"]
            timeouts = plane.stop_timeouts(task)
        for container, runtime_id in to_stop:
            try:
                plane.runtime.stop(runtime_id, timeout_s=timeouts.get(container.name, plane.clock.wall(30)))
            except RuntimeError_ as error:   # the engine went away: the resync will look again
                log.warning("stopping %s failed: %s", runtime_id, error)
        finals = {c.name: plane.runtime.inspect(c.runtime_id) if c.runtime_id else None for c in task.containers}
        with plane.lock:
            for container in task.containers:
                state = finals.get(container.name)
                if container.last_status != "STOPPED":
                    container.last_status = "STOPPED"
                    if state is not None:
                        container.exit_code = state.exit_code
                        if state.oom_killed and not container.reason:
                            container.reason = r.OOM_REASON
                elif container.exit_code is None and state is not None and container.runtime_id:
                    container.exit_code = state.exit_code
            task.last_status = "DEPROVISIONING"
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.execution_stopped_at = plane.clock.now()
            task.stopped_at = plane.clock.now()
            plane.release(task)
            plane.write_task(task)
        plane.remove_containers_later(task)
        plane.task_changed(task)
