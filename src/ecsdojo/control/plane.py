"""The control plane: records of observed state, the ECS API semantics moto lacks, and the reconcile loop.

API calls arrive through the adapter's interception (create_cluster, register_task_definition, run_task,
stop_task, list_tasks, create_service, update_service, ...). They validate, record intent and mark keys
dirty; the workers run `TaskReconciler.sync` and `ServiceReconciler.sync`; runtime events and a periodic
resync mark keys dirty too (events are hints, the resync is the truth).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.loop import WorkQueue
from ecsdojo.control.moto_adapter import MotoAdapter
from ecsdojo.control.placement import missing_resource, place, release, reserve
from ecsdojo.control.services import ServiceReconciler
from ecsdojo.control.specs import container_records, task_requirements
from ecsdojo.control.tasks import TaskReconciler
from ecsdojo.runtime.base import LABEL_TASK_ARN, Runtime, RuntimeEvent

log = logging.getLogger(__name__)

RESYNC_INTERVAL_S = 1.0
WORKERS = 4


class ControlPlane:
    def __init__(self, *, adapter: MotoAdapter, runtime: Runtime, clock: Clock, labels: dict[str, str],
                 instances_per_cluster: int = 2, instance_cpu: int = 2048, instance_memory: int = 4096,
                 snapshot_path: Path | None = None) -> None:
        self.adapter = adapter
        self.runtime = runtime
        self.clock = clock
        self.labels = labels
        self.lock = adapter.lock
        self.instances_per_cluster = instances_per_cluster
        self.instance_cpu = instance_cpu
        self.instance_memory = instance_memory
        self.snapshot_path = snapshot_path
        self.tasks: dict[str, r.TaskRecord] = {}
        self.services: dict[tuple[str, str], r.ServiceRecord] = {}
        self.instances: dict[str, dict[str, r.InstanceRecord]] = {}   # cluster -> arn -> instance
        self.queue = WorkQueue()
        self.task_reconciler = TaskReconciler(self)
        self.service_reconciler = ServiceReconciler(self)
        self.listeners: list[Any] = []         # callables(task) notified when a task changes (load balancer)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        from ecsdojo.control import api

        self.adapter.install(api.handlers(self))
        for index in range(WORKERS):
            thread = threading.Thread(target=self._work, name=f"ecsdojo-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        resync = threading.Thread(target=self._resync_forever, name="ecsdojo-resync", daemon=True)
        resync.start()
        self._threads.append(resync)
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
        while not self._stop.is_set():
            key = self.queue.get(timeout=0.5)
            if key is None:
                continue
            try:
                if key[0] == "task":
                    self.task_reconciler.sync(key[1])
                elif key[0] == "service":
                    self.service_reconciler.sync(key[1], key[2])
            except Exception:  # noqa: BLE001 - one bad key must not stop the loop
                log.exception("sync of %s failed; it will be retried", key)
                self.queue.add_after(key, 1.0)
            finally:
                self.queue.done(key)

    def _resync_forever(self) -> None:
        while not self._stop.wait(RESYNC_INTERVAL_S):
            self.resync()

    def resync(self) -> None:
        with self.lock:
            keys = [("task", arn) for arn, t in self.tasks.items() if t.last_status != "STOPPED"]
            keys += [("service", c, n) for (c, n) in self.services]
        for key in keys:
            self.queue.add(key)
        self.write_snapshot()

    def _on_runtime_event(self, event: RuntimeEvent) -> None:
        if event.action == "reconnect":
            self.resync()
            return
        arn = event.labels.get(LABEL_TASK_ARN)
        if arn:
            self.queue.add(("task", arn))

    # ---- records and writes ------------------------------------------------------------------------------
    def event(self, message: str) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "createdAt": self.clock.now(), "message": message}

    def write_task(self, task: r.TaskRecord) -> None:
        self.adapter.write_task(task, instances=self.instances.get(task.cluster, {}))

    def task_changed(self, task: r.TaskRecord) -> None:
        """A task started, stopped or changed health: tell its service and the load balancer."""
        with self.lock:
            if task.service and task.last_status == "STOPPED":
                record = self.services.get((task.cluster, task.service))
                if record is not None and not task.reserved.get("_counted"):
                    task.reserved["_counted"] = True
                    self.service_reconciler.task_stopped(record, task)
        if task.service:
            self.queue.add(("service", task.cluster, task.service))
        for listener in list(self.listeners):
            listener(task)

    def release(self, task: r.TaskRecord) -> None:
        if task.container_instance_arn and task.reserved.get("cpu") is not None:
            instance = self.instances.get(task.cluster, {}).get(task.container_instance_arn)
            if instance is not None:
                release(instance, task.reserved)
                self.adapter.write_instance(task.cluster, instance)
            task.reserved.pop("cpu", None)

    def stop_timeouts(self, task: r.TaskRecord) -> dict[str, float]:
        definition = self.adapter.task_definition(task.task_definition_arn)
        return {d["name"]: self.clock.wall(d.get("stopTimeout", 30)) for d in definition.container_definitions}

    def remove_containers_later(self, task: r.TaskRecord) -> None:
        """Stopped containers stay for inspection (as on an ECS instance) until the session ends."""

    def set_service_task_definition(self, record: r.ServiceRecord, arn: str) -> None:
        service = self.adapter.service(record.cluster, record.name)
        if service is not None:
            service.task_definition = arn

    # ---- clusters and instances --------------------------------------------------------------------------
    def add_instances(self, cluster: str, count: int | None = None) -> None:
        count = self.instances_per_cluster if count is None else count
        existing = self.instances.setdefault(cluster, {})
        for index in range(count):
            instance = self.adapter.add_container_instance(cluster, cpu=self.instance_cpu,
                                                           memory=self.instance_memory, index=len(existing) + index)
            existing[instance.arn] = instance

    # ---- launching tasks ----------------------------------------------------------------------------------
    def new_task(self, *, cluster: str, definition, group: str, started_by: str, launch_type: str,
                 network_configuration: dict | None, instance: r.InstanceRecord | None,
                 requirement: dict[str, Any] | None, service: str | None = None,
                 deployment_id: str | None = None, overrides: dict | None = None, tags: list | None = None):
        """Create the moto task and its record (PROVISIONING) and queue it. Called under the lock."""
        moto_task = self.adapter.create_task(
            cluster=cluster, task_definition=definition,
            container_instance_arn=instance.arn if instance else None, group=group, started_by=started_by,
            launch_type=launch_type, network_configuration=network_configuration, overrides=overrides, tags=tags)
        record = r.TaskRecord(
            arn=moto_task.task_arn, id=moto_task.id, cluster=cluster, task_definition_arn=definition.arn,
            group=group, started_by=started_by, launch_type=launch_type, service=service,
            network_mode=definition.network_mode or "bridge",
            deployment_id=deployment_id, container_instance_arn=instance.arn if instance else None,
            created_at=self.clock.now(), cpu=str(definition.cpu) if definition.cpu else None,
            memory=str(definition.memory) if definition.memory else None,
            containers=container_records([dict(d) for d in definition.container_definitions], moto_task.task_arn))
        if instance is not None and requirement is not None:
            record.reserved = reserve(instance, requirement)
            self.adapter.write_instance(cluster, instance)
        self.tasks[record.arn] = record
        self.write_task(record)
        self.queue.add(("task", record.arn))
        return moto_task, record

    def choose_instance(self, cluster: str, definition, launch_type: str, *, strategy: list | None = None,
                        group: str | None = None) -> tuple[r.InstanceRecord | None, dict | None, str | None]:
        """(instance, requirement, failure reason). Fargate and EXTERNAL need no simulated instance."""
        if launch_type == "FARGATE":
            return None, None, None
        requirement = task_requirements([dict(d) for d in definition.container_definitions],
                                        task_cpu=definition.cpu, task_memory=definition.memory,
                                        network_mode=definition.network_mode or "bridge")
        instances = list(self.instances.get(cluster, {}).values())
        counts: dict[str, int] = {}
        if group:
            for task in self.tasks.values():
                if task.cluster == cluster and task.group == group and task.active and task.container_instance_arn:
                    counts[task.container_instance_arn] = counts.get(task.container_instance_arn, 0) + 1
        chosen = place(requirement, instances, strategy=strategy or (), group_counts=counts)
        if chosen is None:
            return None, requirement, missing_resource(instances, requirement)
        return chosen, requirement, None

    def start_service_tasks(self, record: r.ServiceRecord, moto_service, deployment: r.Deployment,
                            count: int) -> tuple[list[str], str | None]:
        """Start up to `count` tasks for a deployment (under the lock); returns (task ARNs, placement failure)."""
        definition = self.adapter.task_definition(deployment.task_definition_arn)
        launch_type = deployment.launch_type or moto_service.launch_type or "EC2"
        started: list[str] = []
        for _ in range(count):
            instance, requirement, failure = self.choose_instance(
                record.cluster, definition, launch_type, strategy=record.settings.placement_strategy,
                group=f"service:{record.name}")
            if failure:
                return started, failure
            _, task = self.new_task(cluster=record.cluster, definition=definition, group=f"service:{record.name}",
                                    started_by=deployment.id, launch_type=launch_type,
                                    network_configuration=deployment.network_configuration or None,
                                    instance=instance, requirement=requirement, service=record.name,
                                    deployment_id=deployment.id)
            started.append(task.arn)
        return started, None

    # ---- status snapshot (for `dojo status`) ----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            services = []
            for (cluster, name), record in sorted(self.services.items()):
                moto_service = self.adapter.service(cluster, name)
                services.append({
                    "cluster": cluster, "name": name,
                    "status": moto_service.status if moto_service is not None else "MISSING",
                    "desired": int(moto_service.desired_count) if moto_service is not None else 0,
                    "running": moto_service.running_count if moto_service is not None else 0,
                    "pending": moto_service.pending_count if moto_service is not None else 0,
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
                                "ports": {str(k): v for k, v in c.host_ports.items()}, "exitCode": c.exit_code}
                               for c in t.containers],
            } for t in self.tasks.values() if t.last_status != "STOPPED" or
                (t.stopped_at and (self.clock.now() - t.stopped_at).total_seconds() < 3600)]
            clusters = {name: {"instances": len(self.instances.get(name, {}))} for name in self.adapter.clusters()}
        return {"clusters": clusters, "services": services, "tasks": tasks, "time": time.time()}

    def write_snapshot(self) -> None:
        if self.snapshot_path is None:
            return
        try:
            extra = getattr(self, "snapshot_extra", None)
            body = self.snapshot()
            if extra is not None:
                body.update(extra())
            temporary = self.snapshot_path.with_suffix(".tmp")
            temporary.write_text(json.dumps(body, default=str, indent=1))
            temporary.replace(self.snapshot_path)
        except OSError as error:
            log.warning("could not write %s: %s", self.snapshot_path, error)
