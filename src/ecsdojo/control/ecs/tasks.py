"""TaskReconciler: one task's containers made real, observed and stopped (observe → diff → act → write).

- PROVISIONING with desiredStatus RUNNING: start every container through the runtime; RUNNING when all are up,
  or STOPPED with stopCode TaskFailedToStart and the runtime's reason (CannotPullContainerError, ...).
- RUNNING: an essential container that exits stops the task (EssentialContainerExited, "Essential container in
  task exited", exit code and OOM reason on the container); container health is mapped to ECS's words. A paused
  (hung) container has not exited: the task stays RUNNING until a health check fails it, as on ECS.
- desiredStatus STOPPED: SIGTERM, then SIGKILL after stopTimeout; STOPPED with stoppedAt only once no container
  of the task is left running (until then it stays STOPPING, holding its cpu, memory and ports, and the next
  sync stops it again). A task the load balancer failed whose essential container had already exited is
  reported as the exit (EssentialContainerExited), whichever of the two the engine saw first (it waits up to
  EXIT_SETTLE_S for the engine to report an exit before stopping such a task).
- `sweep_leftovers` (from the task resync): containers with this session's labels that no task owns are
  removed; a container still running for a STOPPED task is stopped.

It never calls another reconciler: a change is saved to the store, which enqueues the keys that care.

Example::

    reconciler = TaskReconciler(store=store, launcher=launcher, desired=adapter, runtime=FakeRuntime(),
                                clock=Clock(10), labels=owned_labels("s1"))
    reconciler.sync(task_arn)
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from collections.abc import Mapping
from typing import Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.agent import TaskAgent
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs.logs import LogShipper
from ecsdojo.control.ecs.secrets import SecretReader, secret_environments
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.specs import container_specs
from ecsdojo.control.store import ObservedState
from ecsdojo.runtime.base import LABEL_SESSION, LABEL_TASK_ARN, ContainerState, Runtime, RuntimeError_

__all__ = ["TaskReconciler", "TaskDefinitionReader", "container_reason", "DOCKER_HEALTH_TO_ECS"]

log = logging.getLogger(__name__)

DOCKER_HEALTH_TO_ECS = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY", "starting": "UNKNOWN", None: "UNKNOWN"}
DEFAULT_STOP_TIMEOUT_S = 30
# A stop the load balancer asked for, of a task whose containers the engine still reports running, first waits this
# long (wall seconds) for an exit to show: a process that just died is refused by the balancer's connection at once,
# while the engine reports its exit a moment later (longer on a busy machine).
EXIT_SETTLE_S = 1.0


class TaskDefinitionReader(Protocol):
    def task_definition(self, name_or_arn: str) -> TaskDefinitionView: ...


def container_reason(state: ContainerState | None) -> str | None:
    if state is None:
        return events.CONTAINER_REMOVED_REASON
    if state.oom_killed:
        return events.OOM_REASON
    return state.error or None


class TaskReconciler:
    def __init__(self, *, store: ObservedState, launcher: Launcher, desired: TaskDefinitionReader, runtime: Runtime,
                 clock: Clock, labels: Mapping[str, str], exit_settle_s: float = EXIT_SETTLE_S,
                 logs: LogShipper | None = None, secrets: SecretReader | None = None,
                 region: str = "us-east-1", agent: TaskAgent | None = None) -> None:
        self.agent = agent                  # metadata and credentials endpoints (control/agent/); None: none
        self.logs = logs                    # the awslogs driver (control/ecs/logs.py); None: no log shipping
        self.secrets = secrets              # reads `secrets[].valueFrom` (control/ecs/secrets.py); None: not read
        self.region = region
        self.store = store
        self.launcher = launcher
        self.desired = desired
        self.runtime = runtime
        self.clock = clock
        self.labels = dict(labels)
        self.exit_settle_s = exit_settle_s

    def sync(self, arn: str) -> None:
        with self.store.lock:
            task = self.store.tasks.get(arn)
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
        store, clock = self.store, self.clock
        with store.lock:
            definition = self.desired.task_definition(task.task_definition_arn)
            task.last_status = "PENDING"
            task.pull_started_at = clock.now()
            store.save_task(task)
        specs = container_specs(definition.containers(), task, clock=clock, labels=self.labels,
                                task_memory=int(definition.memory) if str(definition.memory or "").isdigit() else None,
                                service=task.service)
        started: list[ContainerState] = []
        failure: str | None = None
        blocked = None
        if self.secrets is not None:       # secrets first: the agent resolves them before it creates containers
            environments, blocked = secret_environments(definition, region=self.region, read=self.secrets)
            specs = [replace(spec, environment={**spec.environment, **environments.get(container.name, {})})
                     for container, spec in zip(task.containers, specs)]
        if blocked is None and self.logs is not None:
            blocked = self.logs.prepare(task, definition)      # a missing log group
        if blocked is None and self.agent is not None:
            specs = self.agent.prepare(task, definition, specs)
        for container, spec in zip(task.containers, specs):
            if blocked is not None and blocked[0] == container.name:
                failure = blocked[1]
                break
            try:
                started.append(self.runtime.start(spec))
                if self.agent is not None:
                    self.agent.attach(task, started[-1])
            except RuntimeError_ as error:     # worded by the runtime: CannotPullContainerError: ..., ...
                failure = str(error)
                break
            except Exception as error:  # noqa: BLE001 - an engine answer the runtime did not classify
                log.warning("starting %s failed: %r", spec.name, error)
                failure = events.cannot_start_container(str(error))
                break
        with store.lock:
            task.pull_stopped_at = clock.now()
            for container, state in zip(task.containers, started):
                container.runtime_id = state.id
                container.host_ports = dict(state.ports)
                container.last_status = "RUNNING"
                store.index_container(task, state.id)
            if failure is None:
                task.last_status = "RUNNING"
                task.started_at = clock.now()
                task.reached_running = True
                task.health_since = clock.monotonic()
            store.save_task(task)
            if failure is not None:
                failed_container = task.containers[len(started)] if len(started) < len(task.containers) else None
                if failed_container is not None:
                    failed_container.reason = failure
                    failed_container.last_status = "STOPPED"
                store.request_stop(task, events.stop_failed_to_start(failure))
        if failure is not None:
            self._stop(task)
            return
        if self.logs is not None:
            self.logs.track(task, definition)
        with store.lock:
            store.task_changed(task)

    def give_up(self, arn: str, error: BaseException) -> None:
        """The control plane stopped retrying this task's sync: a task that never started is recorded as failed to
        start (ECS's TaskFailedToStart, the error as CannotStartContainerError); one that ran is left to the
        resync."""
        with self.store.lock:
            task = self.store.tasks.get(arn)
            if task is None or task.last_status not in ("PROVISIONING", "PENDING"):
                return
            task.last_status = task.desired_status = "STOPPED"
            if task.stop_code is None:
                stop = events.stop_failed_to_start(events.cannot_start_container(str(error)))
                task.stop_code, task.stopped_reason = stop.code, stop.reason
            task.stopping_at = task.stopping_at or self.clock.now()
            task.stopped_at = task.execution_stopped_at = self.clock.now()
            for container in task.containers:
                container.last_status = "STOPPED"
            self.launcher.release(task)
            self.store.save_task(task)
            self.store.task_changed(task)

    # ---- observe ---------------------------------------------------------------------------------
    def _observe(self, task: r.TaskRecord) -> None:
        store = self.store
        states = {c.name: self.runtime.inspect(c.runtime_id) if c.runtime_id else None for c in task.containers}
        essential_exit = None
        changed = False
        with store.lock:
            if task.desired_status != "RUNNING" or task.last_status != "RUNNING":
                return
            before = task.health_status
            for container in task.containers:
                state = states[container.name]
                if container.last_status == "STOPPED":
                    continue
                if state is None or not state.alive:
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
            if changed:
                store.save_task(task)
            if essential_exit is not None:
                store.request_stop(task, events.STOP_ESSENTIAL_EXITED)
            elif task.health_status != before:
                store.task_changed(task)
        if essential_exit is not None:
            self._stop(task)

    # ---- stop ----------------------------------------------------------------------------------------
    def _stop(self, task: r.TaskRecord) -> None:
        store, clock = self.store, self.clock
        with store.lock:
            if task.last_status == "STOPPED":
                return
            first = task.stopping_at is None
            ids = {c.name: c.runtime_id for c in task.containers if c.runtime_id}
            by_balancer = first and events.asked_by_load_balancer(
                events.StopReason(task.stop_code or "", task.stopped_reason or ""))
            essential = {c.name for c in task.containers if c.essential}
        # What the containers are before we touch them: an exit found now happened before this stop.
        before = {name: self.runtime.inspect(runtime_id) for name, runtime_id in ids.items()}
        watched = essential & before.keys()
        deadline = time.monotonic() + (self.exit_settle_s if by_balancer and watched else 0)
        while time.monotonic() < deadline and all(before[n] is not None and before[n].alive for n in watched):
            time.sleep(0.05)
            before = {name: self.runtime.inspect(runtime_id) for name, runtime_id in ids.items()}
        with store.lock:
            if task.last_status == "STOPPED":
                return
            if first:
                self._exit_wins(task, before)
            if task.stopping_at is None:
                task.stopping_at = clock.now()
            task.last_status = "STOPPING"
            store.save_task(task)
            to_stop = [(c, c.runtime_id) for c in task.containers if c.runtime_id and (
                c.last_status != "STOPPED" or (before.get(c.name) is not None and before[c.name].alive))]
            definition = self.desired.task_definition(task.task_definition_arn)
            timeouts = {d["name"]: clock.wall(d.get("stopTimeout", DEFAULT_STOP_TIMEOUT_S))
                        for d in definition.container_definitions}
        for container, runtime_id in to_stop:
            try:
                self.runtime.stop(runtime_id, timeout_s=timeouts.get(container.name,
                                                                     clock.wall(DEFAULT_STOP_TIMEOUT_S)))
            except RuntimeError_ as error:   # the engine went away: the resync will look again
                log.warning("stopping %s failed: %s", runtime_id, error)
        finals = {c.name: self.runtime.inspect(c.runtime_id) if c.runtime_id else None for c in task.containers}
        left = [name for name, state in finals.items() if state is not None and state.alive]
        if left:
            # Not stopped yet: the task stays STOPPING and keeps its cpu, memory and ports (a container that still
            # runs still holds them); the task resync stops it again.
            log.warning("task %s: container(s) %s still running after stop; trying again at the next resync",
                        task.id, ", ".join(left))
            return
        if self.logs is not None:
            self.logs.flush(task)           # a stopped task's last lines stay readable in its log stream
        if self.agent is not None:
            self.agent.forget(task.arn)
        with store.lock:
            for container in task.containers:
                state = finals.get(container.name)
                if container.last_status != "STOPPED":
                    container.last_status = "STOPPED"
                    if state is not None:
                        container.exit_code = state.exit_code
                        if state.oom_killed and not container.reason:
                            container.reason = events.OOM_REASON
                elif container.exit_code is None and state is not None and container.runtime_id:
                    container.exit_code = state.exit_code
            task.last_status = "STOPPED"       # (through DEACTIVATING and DEPROVISIONING, which no reader sees)
            task.desired_status = "STOPPED"
            task.execution_stopped_at = clock.now()
            task.stopped_at = clock.now()
            self.launcher.release(task)
            store.save_task(task)
            store.task_changed(task)

    @staticmethod
    def _exit_wins(task: r.TaskRecord, before: Mapping[str, ContainerState | None]) -> None:
        """A task the load balancer failed whose essential container had already exited stopped because it exited
        (the balancer's probe of an exited container fails too, and may be seen first). Caller holds the lock."""
        if not events.asked_by_load_balancer(events.StopReason(task.stop_code or "", task.stopped_reason or "")):
            return
        exited = False
        for container in task.containers:
            if not container.runtime_id or container.last_status == "STOPPED" or container.name not in before:
                continue
            state = before[container.name]
            if state is None or not state.alive:
                container.last_status = "STOPPED"
                container.exit_code = state.exit_code if state is not None else 137
                container.reason = container_reason(state)
                exited = exited or container.essential
        if exited:
            task.stop_code = events.STOP_ESSENTIAL_EXITED.code
            task.stopped_reason = events.STOP_ESSENTIAL_EXITED.reason

    # ---- leftovers -------------------------------------------------------------------------------------
    def sweep_leftovers(self) -> list[tuple[str, str]]:
        """Containers with this session's labels that no task owns, removed; a container still running for a
        STOPPED task, stopped (the engine keeps a stopped task's exited containers, as the ECS agent keeps them
        until its clean-up). Returns the actions taken, ("remove" | "stop", container id).

        A container of a task whose launch is in progress (PROVISIONING, PENDING) is left alone: its id is
        recorded only once every container of the task has started."""
        session = self.labels.get(LABEL_SESSION)
        if not session:
            return []
        found = self.runtime.list({LABEL_SESSION: session})
        actions: list[tuple[str, str]] = []
        with self.store.lock:
            for state in found:
                arn = state.labels.get(LABEL_TASK_ARN)
                if not arn:
                    continue                              # not a task's container
                task = self.store.tasks.get(arn)
                if task is None:
                    actions.append(("remove", state.id))   # no record owns it
                elif task.last_status in ("PROVISIONING", "PENDING"):
                    continue
                elif state.id not in {c.runtime_id for c in task.containers}:
                    actions.append(("remove", state.id))   # not the container its task recorded
                elif task.last_status == "STOPPED" and state.alive:
                    actions.append(("stop", state.id))
        for action, runtime_id in actions:
            log.warning("container %s: %s (no running task owns it)", runtime_id[:12],
                        "removing" if action == "remove" else "stopping")
            try:
                if action == "remove":
                    self.runtime.remove(runtime_id)
                else:
                    self.runtime.stop(runtime_id, timeout_s=self.clock.wall(DEFAULT_STOP_TIMEOUT_S))
            except RuntimeError_ as error:
                log.warning("%s of %s failed: %s", action, runtime_id[:12], error)
        return actions
