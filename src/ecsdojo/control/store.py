"""The store of observed state: task, service and instance records with their indexes, written through to moto.

One store per LocalECS. Every read and write happens under `store.lock` (the moto adapter's lock, shared with
the intercepted API handlers). A change to a record is saved with `save_task` (which writes it to moto) and
announced only by enqueueing keys: a task's own key, its service's key, and the load balancers' key.

Example::

    with store.lock:
        for task in store.tasks_of_service("my-cluster", "web"):
            store.request_stop(task, events.stop_for_scaling(task.deployment_id))
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Hashable, Iterable
from typing import Protocol

from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.events import StopReason

__all__ = ["ObservedState", "MotoWriter", "KeySink", "task_key", "service_key", "BALANCERS_KEY",
           "new_deployment_id"]

BALANCERS_KEY = ("balancers",)


def task_key(arn: str) -> tuple[str, str]:
    return ("task", arn)


def service_key(cluster: str, name: str) -> tuple[str, str, str]:
    return ("service", cluster, name)


class MotoWriter(Protocol):
    """What the store needs of control/moto/ (a fake in unit tests)."""

    def write_task(self, record: r.TaskRecord, *, instances: dict[str, r.InstanceRecord]) -> None: ...

    def write_instance(self, cluster: str, record: r.InstanceRecord) -> None: ...


class KeySink(Protocol):
    def add(self, key: Hashable) -> None: ...


class ObservedState:
    """Records of what really happened, with indexes: tasks by service, by container instance, by container id."""

    def __init__(self, *, writer: MotoWriter, queue: KeySink, clock: Clock,
                 lock: threading.RLock | None = None) -> None:
        self.writer = writer
        self.queue = queue
        self.clock = clock
        self.lock = lock if lock is not None else threading.RLock()
        self.tasks: dict[str, r.TaskRecord] = {}
        self.services: dict[tuple[str, str], r.ServiceRecord] = {}
        # task id -> its target's state in the local load balancer ("healthy", "unhealthy", ...), written by the
        # balancers (elb/reconciler.py), read by traffic-shifting deployments (ecs/traffic.py)
        self.target_health: dict[str, str] = {}
        self.instances: dict[str, dict[str, r.InstanceRecord]] = {}   # cluster -> arn -> instance
        self._by_service: dict[tuple[str, str], list[str]] = {}
        self._by_id: dict[str, str] = {}
        self._by_container: dict[str, str] = {}

    # ---- records --------------------------------------------------------------------------------------
    def add_task(self, task: r.TaskRecord) -> None:
        self.tasks[task.arn] = task
        self._by_id[task.id] = task.arn
        if task.service:
            self._by_service.setdefault((task.cluster, task.service), []).append(task.arn)
        self.save_task(task)
        self.queue.add(task_key(task.arn))

    def add_service(self, record: r.ServiceRecord) -> None:
        self.services[(record.cluster, record.name)] = record

    def service(self, cluster: str, name: str) -> r.ServiceRecord | None:
        return self.services.get((cluster, name))

    def index_container(self, task: r.TaskRecord, runtime_id: str) -> None:
        self._by_container[runtime_id] = task.arn

    # ---- indexes ----------------------------------------------------------------------------------------
    def tasks_of_service(self, cluster: str, name: str, *, active_only: bool = True) -> list[r.TaskRecord]:
        """The service's tasks, oldest first (only those still wanted and not stopped, unless active_only=False)."""
        found = [self.tasks[arn] for arn in self._by_service.get((cluster, name), ())]
        return [t for t in found if t.active] if active_only else found

    def tasks_on_instance(self, cluster: str, instance_arn: str) -> list[r.TaskRecord]:
        return [t for t in self.tasks.values() if t.cluster == cluster and t.container_instance_arn == instance_arn]

    def task_by_id(self, task_id: str) -> r.TaskRecord | None:
        arn = self._by_id.get(task_id)
        return self.tasks.get(arn) if arn else None

    def task_by_container(self, runtime_id: str) -> r.TaskRecord | None:
        arn = self._by_container.get(runtime_id)
        return self.tasks.get(arn) if arn else None

    def group_counts(self, cluster: str, group: str) -> dict[str, int]:
        """Live tasks of a task group per container instance (the spread strategy's input)."""
        counts: dict[str, int] = {}
        for task in self.tasks.values():
            if task.cluster == cluster and task.group == group and task.active and task.container_instance_arn:
                counts[task.container_instance_arn] = counts.get(task.container_instance_arn, 0) + 1
        return counts

    # ---- writes -------------------------------------------------------------------------------------------
    def save_task(self, task: r.TaskRecord) -> None:
        """Write the task's observed state to moto (describe_tasks and the AWS CLI show it)."""
        self.writer.write_task(task, instances=self.instances.get(task.cluster, {}))

    def save_instance(self, cluster: str, instance: r.InstanceRecord) -> None:
        self.writer.write_instance(cluster, instance)

    def request_stop(self, task: r.TaskRecord, stop: StopReason) -> bool:
        """Ask for a task to stop with ECS's stop code and reason; the task reconciler does the stopping.
        A task already asked to stop keeps its first code and reason. Returns whether this call asked."""
        if task.desired_status == "STOPPED" or task.last_status == "STOPPED":
            return False
        task.desired_status = "STOPPED"
        task.stop_code = stop.code
        task.stopped_reason = stop.reason
        self.save_task(task)
        self.queue.add(task_key(task.arn))
        return True

    def task_changed(self, task: r.TaskRecord) -> None:
        """A task started, stopped or changed health: its service and the load balancers look again."""
        if task.service:
            self.queue.add(service_key(task.cluster, task.service))
        self.queue.add(BALANCERS_KEY)

    def add_event(self, record: r.ServiceRecord, message: str) -> None:
        """A service event, newest first as describe_services returns them."""
        record.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": self.clock.now(), "message": message})

    # ---- keys for a resync ----------------------------------------------------------------------------------
    def live_keys(self, *, tasks: bool = True, services: bool = True) -> Iterable[Hashable]:
        keys: list[Hashable] = []
        if tasks:
            keys += [task_key(arn) for arn, t in self.tasks.items() if t.last_status != "STOPPED"]
        if services:
            keys += [service_key(c, n) for (c, n) in self.services]
        return keys


def new_deployment_id() -> str:
    """An ECS deployment id: "ecs-svc/" and 19 digits."""
    return f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"

