"""TaskReconciler: one task's containers made real, observed and stopped (observe → diff → act → write).

- PROVISIONING with desiredStatus RUNNING: an awsvpc task first gets a pause container holding its network
  namespace (its containers join it: localhost between them); then every container whose dependencies are met
  starts (dependsOn, links; rules in control/ecs/containers.py). The task stays PENDING while one waits (its
  dependencies' runtime events and the resync sync it again), RUNNING once none waits, or STOPPED with stopCode
  TaskFailedToStart and the runtime's reason (CannotPullContainerError, ...). A dependency that can never be met
  stops the waiting container unstarted (exit code 143, CannotStartContainerError: dependency graph: ...).
- RUNNING: an essential container that exits stops the task (EssentialContainerExited, "Essential container in
  task exited", exit code and OOM reason on the container); a non-essential one is only recorded STOPPED with its
  exit code; one whose restartPolicy applies is started again in place (same container, `restart_count`).
  Container health is mapped to ECS's words. A paused (hung) container has not exited: the task stays RUNNING
  until a health check fails it, as on ECS.
- desiredStatus STOPPED: dependents before their dependencies, the pause container last; SIGTERM, then SIGKILL
  after stopTimeout; STOPPED with stoppedAt only once no container
  of the task is left running (until then it stays STOPPING, holding its cpu, memory and ports, and the next
  sync stops it again). A task the load balancer failed whose essential container had already exited is
  reported as the exit (EssentialContainerExited), whichever of the two the engine saw first (it waits up to
  EXIT_SETTLE_S for the engine to report an exit before stopping such a task).
- `sweep_leftovers` (from the task resync; control/ecs/leftovers.py): containers with this session's labels that
  no task owns are removed; a container still running for a STOPPED task is stopped.

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
from ecsdojo.control.ecs.leftovers import sweep_leftovers
from ecsdojo.control.ecs.logs import LogShipper
from ecsdojo.control.ecs.secrets import SecretReader, secret_environments
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.ecs.containers import (
    Observed,
    container_ports,
    dependencies,
    observed_of,
    restart_period_s,
    should_restart,
    start_verdict,
    stop_order,
)
from ecsdojo.control.specs import PAUSE_CONTAINER_NAME, container_specs, pause_spec
from ecsdojo.control.store import ObservedState
from ecsdojo.runtime.base import (
    ContainerState,
    Runtime,
    RuntimeError_,
)

__all__ = ["TaskReconciler", "TaskDefinitionReader", "container_reason", "DOCKER_HEALTH_TO_ECS"]

log = logging.getLogger(__name__)

DOCKER_HEALTH_TO_ECS = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY", "starting": "UNKNOWN", None: "UNKNOWN"}
DEFAULT_STOP_TIMEOUT_S = 30
# A stop the load balancer asked for, of a task whose containers the engine still reports running, first waits this
# long (wall seconds) for an exit to show: a process that just died is refused by the balancer's connection at once,
# while the engine reports its exit a moment later (longer on a busy machine).
EXIT_SETTLE_S = 1.0


def _start_failure(error: BaseException) -> str:
    """A start failure as the task's reason: worded by the runtime (CannotPullContainerError: ..., ...), or as
    CannotStartContainerError for an engine answer the runtime did not classify."""
    if isinstance(error, RuntimeError_):
        return str(error)
    log.warning("starting a container failed: %r", error)
    return events.cannot_start_container(str(error))


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
        elif desired == "RUNNING" and last == "PENDING":
            if task.pending_specs:           # waiting for dependencies (dependsOn, links)
                self._start_ready(task, self.desired.task_definition(task.task_definition_arn))
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
                                service=task.service, network_mode=task.network_mode)
        blocked = None
        if self.secrets is not None:       # secrets first: the agent resolves them before it creates containers
            environments, blocked = secret_environments(definition, region=self.region, read=self.secrets,
                                                         execution_role_arn=task.execution_role_arn)
            specs = [replace(spec, environment={**spec.environment, **environments.get(container.name, {})})
                     for container, spec in zip(task.containers, specs)]
        if blocked is None and self.logs is not None:
            blocked = self.logs.prepare(task, definition)      # a missing log group
        if blocked is None and self.agent is not None:
            specs = self.agent.prepare(task, definition, specs)
        if blocked is not None:
            self._fail_start(task, *blocked)
            return
        with store.lock:
            task.pending_specs = {container.name: spec for container, spec in zip(task.containers, specs)}
        if self._stopped_meanwhile(task):
            return
        if task.network_mode == "awsvpc" and self.runtime.separate_networks:
            # One network namespace for the task, held by a pause container (as the ECS agent does): its
            # containers reach each other on localhost, and a container restarted in place rejoins it.
            try:
                pause = self.runtime.start(pause_spec(task, specs, labels=self.labels))
            except Exception as error:  # noqa: BLE001 - any failure here fails the task's start
                self._fail_start(task, task.containers[0].name, _start_failure(error))
                return
            with store.lock:
                task.pause_runtime_id = pause.id
                task.pause_ports = dict(pause.ports)
            if self._stopped_meanwhile(task):
                return
        self._start_ready(task, definition)

    def _stopped_meanwhile(self, task: r.TaskRecord) -> bool:
        """A task asked to stop (a service scheduling it away, StopTask) while its launch was under way: what
        was started is stopped now, in this sync, as the ECS agent stops a task stopped while it pulls, rather
        than started further and left for a later sync or the leftover sweep."""
        with self.store.lock:
            stopped = task.desired_status == "STOPPED"
        if stopped:
            self._stop(task)
        return stopped

    def _start_ready(self, task: r.TaskRecord, definition: TaskDefinitionView) -> None:
        """Start every pending container whose dependencies are met (dependsOn, links), in definition order, until
        none can start now; one whose dependency can never be met is STOPPED without starting (an essential one
        stops the task). The task stays PENDING while any waits: its dependencies' runtime events (start, die,
        health_status) and the task resync sync it again. RUNNING once none is pending."""
        store, clock = self.store, self.clock
        graph = dependencies(definition.container_definitions, network_mode=task.network_mode)
        start_timeouts = {d["name"]: clock.wall(d["startTimeout"]) for d in definition.container_definitions
                          if d.get("startTimeout")}
        progressed = True
        while progressed:
            progressed = False
            states = {c.name: self.runtime.inspect(c.runtime_id) for c in task.containers if c.runtime_id}
            with store.lock:
                essential_exit = self._record_exits(task, states)
                if essential_exit is not None:
                    store.save_task(task)
                    store.request_stop(task, events.STOP_ESSENTIAL_EXITED)
            if essential_exit is not None:
                self._stop(task)
                return
            observed = {c.name: observed_of(c, states.get(c.name), pending=c.name in task.pending_specs)
                        for c in task.containers}
            for container in task.containers:
                spec = task.pending_specs.get(container.name)
                if spec is None:
                    continue
                verdict = start_verdict(container.name, graph, observed, now=clock.now(),
                                        start_timeouts=start_timeouts)
                if verdict.action == "wait":
                    continue
                progressed = True
                if verdict.action == "fail":
                    assert verdict.dependency is not None and verdict.why is not None
                    reason = events.dependency_failed_reason(verdict.dependency.container, container.name,
                                                             verdict.why)
                    with store.lock:
                        task.pending_specs.pop(container.name, None)
                        container.last_status, container.exit_code = "STOPPED", events.DEPENDENCY_EXIT_CODE
                        container.reason = reason
                        store.save_task(task)
                        if container.essential:
                            store.request_stop(task, events.STOP_ESSENTIAL_EXITED)
                    if container.essential:
                        self._stop(task)
                        return
                    observed[container.name] = Observed(never_starts=True)
                    continue
                if self._stopped_meanwhile(task):
                    return
                if task.pause_runtime_id:
                    spec = replace(spec, network_container=task.pause_runtime_id, ports=())
                try:
                    state = self.runtime.start(spec)
                    if self.agent is not None:      # the metadata/credentials forwarder on its loopback
                        self.agent.attach(task, state)
                except Exception as error:  # noqa: BLE001 - worded by the runtime, or as CannotStartContainerError
                    self._fail_start(task, container.name, _start_failure(error))
                    return
                with store.lock:
                    task.pending_specs.pop(container.name, None)
                    container.runtime_id = state.id
                    if task.pause_runtime_id:        # the pause container publishes the task's ports
                        published = task.pause_ports
                        container.host_ports = {p.container_port: published[p.container_port]
                                                for p in container_ports(definition.container_definitions, container.name)
                                                if p.container_port in published}
                    else:
                        container.host_ports = dict(state.ports)
                    container.last_status = "RUNNING"
                    store.index_container(task, state.id)
                    store.save_task(task)
                if self.logs is not None:   # awslogs ships from the container's start, even if it dies at once
                    self.logs.track(task, definition)
                if self._stopped_meanwhile(task):
                    return
                observed[container.name] = observed_of(container, state, pending=False)
        if task.pending_specs:
            return                          # waiting for a dependency: PENDING, as on ECS
        with store.lock:
            if task.desired_status != "RUNNING" or task.last_status != "PENDING":
                return
            task.pull_stopped_at = task.pull_stopped_at or clock.now()
            task.last_status = "RUNNING"
            task.started_at = clock.now()
            task.reached_running = True
            task.health_since = clock.monotonic()
            store.save_task(task)
        if self.logs is not None:
            self.logs.track(task, definition)
        with store.lock:
            store.task_changed(task)

    def _fail_start(self, task: r.TaskRecord, container_name: str, failure: str) -> None:
        """The task fails to start (TaskFailedToStart with the runtime's reason, on the container it names)."""
        with self.store.lock:
            task.pending_specs = {}
            task.pull_stopped_at = self.clock.now()
            for container in task.containers:
                if container.name == container_name:
                    container.reason = failure
                    container.last_status = "STOPPED"
            self.store.save_task(task)
            self.store.request_stop(task, events.stop_failed_to_start(failure))
        self._stop(task)

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
        # The pause container is essential (the agent marks it so: agent/api/task/task.go): without it the
        # task's containers have lost their network namespace.
        pause = self.runtime.inspect(task.pause_runtime_id) if task.pause_runtime_id else None
        pause_gone = task.pause_runtime_id is not None and (pause is None or not pause.alive)
        restarted = self._restart_exited(task, states)
        changed = bool(restarted)
        with store.lock:
            if task.desired_status != "RUNNING" or task.last_status != "RUNNING":
                return
            before = task.health_status
            for name in restarted:
                container = next(c for c in task.containers if c.name == name)
                container.restart_count += 1
                container.exit_code = None
            exits_before = sum(1 for c in task.containers if c.last_status == "STOPPED")
            essential_exit = self._record_exits(task, states)
            changed = changed or sum(1 for c in task.containers if c.last_status == "STOPPED") != exits_before
            for container in task.containers:
                state = states[container.name]
                if container.last_status != "STOPPED" and container.has_health_check and state is not None:
                    health = DOCKER_HEALTH_TO_ECS.get(state.health, "UNKNOWN")
                    if health != container.health:
                        container.health = health
                        changed = True
            if changed:
                store.save_task(task)
            stopping = essential_exit is not None or pause_gone
            if stopping:
                store.request_stop(task, events.STOP_ESSENTIAL_EXITED)
            elif task.health_status != before:
                store.task_changed(task)
        if stopping:
            self._stop(task)

    @staticmethod
    def _record_exits(task: r.TaskRecord, states: Mapping[str, ContainerState | None]) -> r.ContainerRecord | None:
        """Started containers that exited (or were removed) are STOPPED with their exit code and reason; returns
        the first essential one (a non-essential one that exits leaves the task running). Caller holds the lock."""
        essential_exit = None
        for container in task.containers:
            if container.last_status == "STOPPED" or not container.runtime_id:
                continue
            state = states.get(container.name)
            if state is None or not state.alive:
                container.last_status = "STOPPED"
                container.exit_code = state.exit_code if state is not None else 137
                container.reason = container_reason(state)
                if container.essential and essential_exit is None:
                    essential_exit = container
        return essential_exit

    def _restart_exited(self, task: r.TaskRecord, states: dict[str, ContainerState | None]) -> list[str]:
        """Containers that exited and whose restartPolicy says so are started again in place (same container,
        same network namespace); `states` is updated. Returns their names."""
        exited = [c for c in task.containers if c.runtime_id and c.last_status != "STOPPED"
                  and states.get(c.name) is not None and not states[c.name].alive]
        if not exited or task.desired_status != "RUNNING":
            return []
        policies = {d["name"]: d.get("restartPolicy") for d in
                    self.desired.task_definition(task.task_definition_arn).container_definitions}
        restarted = []
        for container in exited:
            state = states[container.name]
            policy = policies.get(container.name)
            ran_s = (self.clock.now() - state.started_at).total_seconds() if state.started_at else 0.0
            if not should_restart(policy, state.exit_code, ran_s=ran_s,
                                  period_wall_s=self.clock.wall(restart_period_s(policy or {}))):
                continue
            try:
                states[container.name] = self.runtime.restart(container.runtime_id)
            except RuntimeError_ as error:       # the exit stands, as if no policy applied
                log.warning("restarting %s of task %s failed: %s", container.name, task.id, error)
                continue
            if self.agent is not None and states[container.name] is not None:   # its forwarder ended with it
                try:
                    self.agent.attach(task, states[container.name])
                except Exception as error:  # noqa: BLE001 - the container runs on without its endpoints
                    log.warning("task %s: the endpoints of restarted %s: %s", task.id, container.name, error)
            log.info("task %s: container %s exited %s and was restarted in place (restartPolicy)",
                     task.id, container.name, state.exit_code)
            restarted.append(container.name)
        return restarted

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
            # Dependents first: shutdown reverses dependsOn (API model ContainerDependency).
            order = stop_order([c.name for c in task.containers],
                               dependencies(definition.container_definitions, network_mode=task.network_mode))
            to_stop.sort(key=lambda item: order.index(item[0].name))
            pause_id = task.pause_runtime_id
        for container, runtime_id in to_stop:
            try:
                self.runtime.stop(runtime_id, timeout_s=timeouts.get(container.name,
                                                                     clock.wall(DEFAULT_STOP_TIMEOUT_S)))
            except RuntimeError_ as error:   # the engine went away: the resync will look again
                log.warning("stopping %s failed: %s", runtime_id, error)
        if pause_id is not None:           # the namespace holder goes last, as the agent stops its pause container
            try:
                self.runtime.stop(pause_id, timeout_s=2.0)
            except RuntimeError_ as error:
                log.warning("stopping %s failed: %s", pause_id, error)
        finals = {c.name: self.runtime.inspect(c.runtime_id) if c.runtime_id else None for c in task.containers}
        left = [name for name, state in finals.items() if state is not None and state.alive]
        if pause_id is not None:
            pause = self.runtime.inspect(pause_id)
            if pause is not None and pause.alive:
                left.append(PAUSE_CONTAINER_NAME)
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
            task.pending_specs = {}
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
        """Containers no running task owns, removed or stopped (control/ecs/leftovers.py)."""
        return sweep_leftovers(runtime=self.runtime, store=self.store, labels=self.labels,
                               stop_timeout_s=self.clock.wall(DEFAULT_STOP_TIMEOUT_S))
