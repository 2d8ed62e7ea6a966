"""The control plane: the store of observed state, one work queue and the reconcilers that drain it.

API calls arrive through control/moto/'s interception and `ecs.api.EcsApi` (validate, record intent, enqueue
keys); the workers run one `sync` per key: ("task", arn) → `TaskReconciler`, ("service", cluster, name) →
`ServiceReconciler`, and any other kind registered with `handle` (the load balancers' key, for one). Runtime
events only enqueue the task they name; a periodic resync (a delayed re-add of its own key) enqueues every live
key, because events can be lost, and the task resync sweeps leftovers (this session's containers no task owns). A failed sync is requeued with a rate-limited exponential back-off.

Example::

    plane = ControlPlane(adapter=adapter, runtime=FakeRuntime(), clock=Clock(10), labels=owned_labels("s1"))
    plane.start(); ...; plane.stop()
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from ecsdojo.control import records as r
from ecsdojo.control.agent import TaskAgent
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs.api import EcsApi
from ecsdojo.control.ecs.discovery import Discovery
from ecsdojo.control.ecs.services import ServiceReconciler
from ecsdojo.control.ecs.logs import LogShipper
from ecsdojo.control.ecs.tasks import TaskReconciler
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.ecs import MotoAdapter
from ecsdojo.control.moto.logs import MotoLogs
from ecsdojo.control.moto.secrets import read_secret
from ecsdojo.control.queue import WorkQueue
from ecsdojo.control.store import ObservedState, task_key
from ecsdojo.runtime.base import LABEL_TASK_ARN, Runtime, RuntimeEvent

__all__ = ["ControlPlane", "RESYNC_INTERVAL_S", "TASK_RESYNC_INTERVAL_S", "WORKERS"]

log = logging.getLogger(__name__)

# Periodic resyncs are delayed re-adds of these keys. Every change already enqueues the keys that care (API
# calls, runtime events — start, die, oom, health_status —, task changes, a service watching its rollout or a
# grace period), so the resyncs only catch what was lost (a restarted engine, a dropped event stream) and run
# every few seconds. (The ECS agent too acts on Docker events and reconciles periodically.)
RESYNC_INTERVAL_S = 5.0
TASK_RESYNC_INTERVAL_S = 5.0
RESYNC_KEY = ("resync", "services")
TASK_RESYNC_KEY = ("resync", "tasks")
WORKERS = 4


class ControlPlane:
    def __init__(self, *, adapter: MotoAdapter, runtime: Runtime, clock: Clock, labels: dict[str, str],
                 instances_per_cluster: int = 2, instance_cpu: int = 2048, instance_memory: int = 4096,
                 snapshot_path: Path | None = None, agent: TaskAgent | None = None) -> None:
        self.adapter = adapter
        self.runtime = runtime
        self.clock = clock
        self.labels = labels
        self.lock = adapter.lock
        self.instances_per_cluster = instances_per_cluster
        self.instance_cpu = instance_cpu
        self.instance_memory = instance_memory
        self.snapshot_path = snapshot_path
        self.snapshot_extra: Callable[[], dict[str, Any]] | None = None
        self.queue = WorkQueue()
        self.store = ObservedState(writer=adapter, queue=self.queue, clock=clock, lock=adapter.lock)
        self.launcher = Launcher(store=self.store, creator=adapter, clock=clock)
        self.logs = LogShipper(sink=MotoLogs(), runtime=runtime, queue=self.queue, default_region=adapter.region)
        self.task_reconciler = TaskReconciler(store=self.store, launcher=self.launcher, desired=adapter,
                                              runtime=runtime, clock=clock, labels=labels, logs=self.logs,
                                              secrets=read_secret, region=adapter.region, agent=agent)
        if agent is not None:
            agent.bind(self.store)
        self.service_reconciler = ServiceReconciler(store=self.store, launcher=self.launcher, desired=adapter,
                                                    clock=clock, queue=self.queue)
        self.api = EcsApi(store=self.store, launcher=self.launcher, desired=adapter, clock=clock,
                          add_instances=self.add_instances, runtime_name=runtime.name,
                          exec_supported=runtime.supports_exec)
        self.discovery = Discovery(store=self.store, desired=adapter, clock=clock, add_instances=self.add_instances)
        self._handlers: dict[str, Callable[[tuple], None]] = {
            "task": lambda key: self.task_reconciler.sync(key[1]),
            "service": lambda key: self.service_reconciler.sync(key[1], key[2]),
            "resync": self._resync,
            "logs": self.logs.sync_key,
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- the store's records (read by metrics, auto scaling, `LocalECS.tasks`) ---------------------------
    @property
    def tasks(self) -> dict[str, r.TaskRecord]:
        return self.store.tasks

    @property
    def services(self) -> dict[tuple[str, str], r.ServiceRecord]:
        return self.store.services

    @property
    def instances(self) -> dict[str, dict[str, r.InstanceRecord]]:
        return self.store.instances

    def handle(self, kind: str, sync: Callable[[tuple], None]) -> None:
        """Route keys whose first element is `kind` to `sync(key)` (e.g. the load balancers')."""
        self._handlers[kind] = sync

    # ---- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.adapter.install(self.api.handlers())
        for index in range(WORKERS):
            thread = threading.Thread(target=self._work, name=f"ecsdojo-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.queue.add_after(RESYNC_KEY, RESYNC_INTERVAL_S)
        self.queue.add_after(TASK_RESYNC_KEY, TASK_RESYNC_INTERVAL_S)
        self._threads.append(self.runtime.watch(self._on_runtime_event, self._stop))

    def stop(self, *, remove_containers: bool = True) -> None:
        self._stop.set()
        self.queue.shutdown()
        for thread in self._threads:
            thread.join(timeout=10)
        self.adapter.uninstall()
        if remove_containers:
            self.runtime.sweep({"ecsdojo.session": self.labels["ecsdojo.session"]})

    # ---- loop ------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            handler = self._handlers.get(key[0])
            try:
                if handler is not None:      # e.g. ("balancers",) when LocalECS runs without load balancers
                    handler(key)
            except Exception as error:  # noqa: BLE001 - one bad key must not stop the loop
                self._sync_failed(key, error)
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)

    def _sync_failed(self, key: tuple, error: Exception) -> None:
        """Retry with back-off (the traceback is logged once, on the first failure); give up after MAX_RETRIES:
        a task whose sync keeps failing is stopped as failed to start, other keys wait for the next resync."""
        failures = self.queue.failures(key)
        delay = self.queue.add_rate_limited(key)
        if delay is None:
            log.warning("sync of %s failed %d times in a row, giving up: %s", key, failures, error)
            if key[0] == "task":
                self.task_reconciler.give_up(key[1], error)
        elif failures == 0:
            log.exception("sync of %s failed; it will be retried", key)
        else:
            log.warning("sync of %s failed again (%d); retrying in %.2f s: %s", key, failures + 1, delay, error)

    def _resync(self, key: tuple) -> None:
        tasks = key == TASK_RESYNC_KEY
        try:
            self.resync(tasks=tasks, services=not tasks)
            if tasks:
                self.task_reconciler.sweep_leftovers()
        finally:
            self.queue.add_after(key, TASK_RESYNC_INTERVAL_S if tasks else RESYNC_INTERVAL_S)

    def resync(self, *, tasks: bool = True, services: bool = True) -> None:
        """Enqueue every live key (the truth, when runtime events were lost); with services, write the
        status snapshot too."""
        if services:
            self.discovery.sync()       # what reached moto by another route (CloudFormation, ...) is adopted
        with self.lock:
            keys = list(self.store.live_keys(tasks=tasks, services=services))
        for key in keys:
            self.queue.add(key)
        if services:
            self.write_snapshot()

    def enqueue(self, key: Hashable) -> None:
        self.queue.add(key)

    def _on_runtime_event(self, event: RuntimeEvent) -> None:
        if event.action == "reconnect":
            self.resync()
            return
        arn = event.labels.get(LABEL_TASK_ARN)
        if arn:
            self.queue.add(task_key(arn))

    # ---- clusters and instances --------------------------------------------------------------------------
    def add_instances(self, cluster: str, count: int | None = None) -> None:
        count = self.instances_per_cluster if count is None else count
        existing = self.store.instances.setdefault(cluster, {})
        for index in range(count):
            instance = self.adapter.add_container_instance(cluster, cpu=self.instance_cpu,
                                                           memory=self.instance_memory, index=len(existing) + index)
            existing[instance.arn] = instance

    # ---- status snapshot (for `dojo status`) ----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            services = []
            for (cluster, name), record in sorted(self.store.services.items()):
                spec = self.adapter.service(cluster, name)
                services.append({
                    "cluster": cluster, "name": name,
                    "status": spec.status if spec is not None else "MISSING",
                    "desired": spec.desired_count if spec is not None else 0,
                    "running": spec.running_count if spec is not None else 0,
                    "pending": spec.pending_count if spec is not None else 0,
                    "deployments": [{"id": d.id, "status": d.status, "rollout": d.rollout_state,
                                     "taskDefinition": d.task_definition_arn.rsplit("/", 1)[-1]}
                                    for d in record.deployments if d.status != "INACTIVE"],
                    "events": [e["message"] for e in record.events[:5]],
                })
            tasks = [{
                "cluster": t.cluster, "id": t.id, "service": t.service, "lastStatus": t.last_status,
                "desiredStatus": t.desired_status, "health": t.health_status,
                "taskDefinition": t.task_definition_arn.rsplit("/", 1)[-1], "stoppedReason": t.stopped_reason,
                "containers": [{"name": c.name, "status": c.last_status, "runtimeId": (c.runtime_id or "")[:12],
                                "ports": {str(k): v for k, v in c.host_ports.items()}, "exitCode": c.exit_code,
                                "restartCount": c.restart_count}
                               for c in t.containers],
            } for t in self.store.tasks.values() if t.last_status != "STOPPED" or
                (t.stopped_at and (self.clock.now() - t.stopped_at).total_seconds() < 3600)]
            clusters = {name: {"instances": len(self.store.instances.get(name, {}))}
                        for name in self.adapter.clusters()}
        return {"clusters": clusters, "services": services, "tasks": tasks, "time": time.time()}

    def write_snapshot(self) -> None:
        if self.snapshot_path is None:
            return
        try:
            body = self.snapshot()
            if self.snapshot_extra is not None:
                body.update(self.snapshot_extra())
            temporary = self.snapshot_path.with_suffix(".tmp")
            temporary.write_text(json.dumps(body, default=str, indent=1))
            temporary.replace(self.snapshot_path)
        except OSError as error:
            log.warning("could not write %s: %s", self.snapshot_path, error)
