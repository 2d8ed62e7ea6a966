"""The one module that reaches into moto: it reads desired state and writes observed state.

moto keeps the ECS API's desired state (clusters, task definitions, services and their desired counts). This
adapter:
- intercepts the ECS API calls whose behaviour moto does not model (validation, run_task placement, stop_task,
  list_tasks filters, service settings that moto drops) and hands them to the control plane;
- reads services and task definitions for the reconcilers;
- writes what really happened (task status, timestamps, containers, stop codes, service counts, events and
  deployments) onto moto's objects, so that describe_* and the AWS CLI show it.

All access to moto's ECS backend goes through `MotoAdapter.lock`, shared with the intercepted API handlers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ecsdojo.cloud import ACCOUNT_ID
from ecsdojo.control.records import ContainerRecord, InstanceRecord, ServiceRecord, TaskRecord

# The ECS response handlers we wrap, and what the control plane does with each.
INTERCEPTED = ("create_cluster", "register_task_definition", "run_task", "stop_task", "list_tasks",
               "describe_tasks", "create_service", "update_service", "delete_service", "describe_services",
               "list_services", "describe_container_instances", "list_container_instances", "delete_cluster")


class MotoAdapter:
    def __init__(self, *, region: str) -> None:
        self.region = region
        self.lock = threading.RLock()
        self._originals: dict[str, Callable] = {}

    # ---- moto's objects ------------------------------------------------------------------------
    @property
    def ecs(self):
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT_ID][self.region]

    @property
    def ec2(self):
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT_ID][self.region]

    @property
    def elbv2(self):
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[ACCOUNT_ID][self.region]

    def reset(self) -> None:
        """Forget every resource in moto (a fresh account) and pin moto's task state machine."""
        from moto.moto_api import state_manager
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        # moto advances a task one state per describe_tasks; the control plane sets states itself.
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**12})

    # ---- interception --------------------------------------------------------------------------
    def install(self, handlers: dict[str, Callable[[Any, dict, Callable[[], Any]], Any]]) -> None:
        """Wrap moto's ECS response methods: handler(response, params, call_original) -> result."""
        from moto.ecs.responses import EC2ContainerServiceResponse

        lock = self.lock
        for name in INTERCEPTED:
            original = getattr(EC2ContainerServiceResponse, name)
            self._originals[name] = original
            handler = handlers.get(name)

            def wrapper(response, _original=original, _handler=handler):
                with lock:
                    if _handler is None:
                        return _original(response)
                    params = response._get_params() if hasattr(response, "_get_params") else {}
                    return _handler(response, params, lambda: _original(response))

            setattr(EC2ContainerServiceResponse, name, wrapper)

    def uninstall(self) -> None:
        from moto.ecs.responses import EC2ContainerServiceResponse

        for name, original in self._originals.items():
            setattr(EC2ContainerServiceResponse, name, original)
        self._originals.clear()

    # ---- reads -----------------------------------------------------------------------------------
    def clusters(self) -> dict[str, Any]:
        return dict(self.ecs.clusters)

    def services(self) -> list[Any]:
        return list(self.ecs.services.values())

    def service(self, cluster: str, name: str):
        for service in self.ecs.services.values():
            if service.cluster_name == cluster and service.name == name:
                return service
        return None

    def task_definition(self, arn: str):
        return self.ecs.describe_task_definition(arn)

    def moto_task(self, cluster: str, arn: str):
        return self.ecs.tasks.get(cluster, {}).get(arn)

    def find_task(self, cluster: str, task: str):
        """A moto task by ARN or id, or None."""
        task_id = task.rsplit("/", 1)[-1]
        for arn, candidate in self.ecs.tasks.get(cluster, {}).items():
            if arn == task or arn.rsplit("/", 1)[-1] == task_id:
                return candidate
        return None

    def cluster(self, name_or_arn: str | None):
        """The moto cluster, raising moto's ClusterNotFoundException as AWS does."""
        return self.ecs._get_cluster(name_or_arn or "default")

    # ---- writes: tasks -----------------------------------------------------------------------------
    def create_task(self, *, cluster: str, task_definition, container_instance_arn: str | None, group: str,
                    started_by: str, launch_type: str, network_configuration: dict | None,
                    overrides: dict | None = None, tags: list | None = None):
        """A new moto task object (moto's Task creates the awsvpc ENI); state is written by write_task."""
        from moto.ecs.models import Task

        cluster_object = self.ecs.clusters[cluster]
        task = Task(cluster_object, task_definition, container_instance_arn, None, backend=self.ecs, group=group,
                    launch_type=launch_type, overrides=overrides or {}, started_by=started_by, tags=tags or [],
                    networking_configuration=network_configuration)
        self.ecs.tasks.setdefault(cluster, {})[task.task_arn] = task
        return task

    def write_task(self, record: TaskRecord, *, instances: dict[str, InstanceRecord]) -> None:
        task = self.moto_task(record.cluster, record.arn)
        if task is None:
            return
        task.last_status = record.last_status
        task.desired_status = record.desired_status
        task.stopped_reason = record.stopped_reason or ""
        task.stop_code = record.stop_code
        task.created_at = record.created_at
        task.pull_started_at = record.pull_started_at
        task.pull_stopped_at = record.pull_stopped_at
        task.started_at = record.started_at
        task.stopping_at = record.stopping_at
        task.stopped_at = record.stopped_at
        task.execution_stopped_at = record.execution_stopped_at
        task.health_status = record.health_status
        task.connectivity = "CONNECTED" if record.last_status not in ("PROVISIONING", "STOPPED") else None
        task.cpu = record.cpu
        task.memory = record.memory
        task.container_instance_arn = record.container_instance_arn
        task.containers = [self._container_body(record, container, instances) for container in record.containers]

    @staticmethod
    def _container_body(task: TaskRecord, container: ContainerRecord,
                        instances: dict[str, InstanceRecord]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "containerArn": container.container_arn, "taskArn": task.arn, "name": container.name,
            "image": container.image, "lastStatus": container.last_status, "healthStatus": container.health,
            "cpu": str(container.cpu),
        }
        if container.runtime_id:
            body["runtimeId"] = container.runtime_id
        if container.exit_code is not None:
            body["exitCode"] = container.exit_code
        if container.reason:
            body["reason"] = container.reason
        if container.memory:
            body["memory"] = str(container.memory)
        if container.memory_reservation:
            body["memoryReservation"] = str(container.memory_reservation)
        if container.host_ports and task.launch_type != "FARGATE":
            bindings = []
            for container_port, declared_host, protocol in container.container_port_bindings:
                bindings.append({"bindIP": "0.0.0.0", "containerPort": container_port,
                                 "hostPort": declared_host or container.host_ports.get(container_port, 0),
                                 "protocol": protocol})
            body["networkBindings"] = bindings
        return body

    # ---- writes: services ----------------------------------------------------------------------------
    def write_service(self, record: ServiceRecord, *, running: int, pending: int) -> None:
        service = self.service(record.cluster, record.name)
        if service is None:
            return
        service.running_count = running
        service.pending_count = pending
        service.events = [dict(event) for event in record.events[:100]]
        service.deployments = [d.as_api() for d in record.deployments if d.status != "INACTIVE"]
        settings = record.settings
        service.deployment_configuration = {
            "maximumPercent": settings.maximum_percent, "minimumHealthyPercent": settings.minimum_healthy_percent,
            "deploymentCircuitBreaker": {"enable": settings.circuit_breaker_enable,
                                         "rollback": settings.circuit_breaker_rollback}}
        service.health_check_grace_period_seconds = settings.health_check_grace_period_s
        service.placement_strategy = settings.placement_strategy
        service.placement_constraints = settings.placement_constraints

    def write_cluster_counts(self, cluster: str, *, running: int, pending: int, services: int) -> None:
        cluster_object = self.ecs.clusters.get(cluster)
        if cluster_object is not None:
            cluster_object.running_tasks_count = running
            cluster_object.pending_tasks_count = pending
            cluster_object.active_services_count = services

    # ---- container instances ---------------------------------------------------------------------------
    def add_container_instance(self, cluster: str, *, cpu: int, memory: int, index: int) -> InstanceRecord:
        """Launch a moto EC2 instance and register it as a container instance with cpu/memory resources."""
        image_id = next(iter(self.ec2.amis)) if self.ec2.amis else "ami-12c6146b"
        zones = [z.name for z in self.ec2.describe_availability_zones()]
        zone = zones[index % len(zones)] if zones else f"{self.region}a"
        reservation = self.ec2.run_instances(image_id, 1, None, [], instance_type="c5.large",
                                             placement=zone, is_instance_type_default=False)
        ec2_instance = reservation.instances[0]
        instance = self.ecs.register_container_instance(cluster, ec2_instance.id)
        for resources in (instance.registered_resources, instance.remaining_resources):
            for resource in resources:
                if resource["name"] == "CPU":
                    resource["integerValue"] = cpu
                elif resource["name"] == "MEMORY":
                    resource["integerValue"] = memory
        instance.attributes["ecs.availability-zone"] = zone
        return InstanceRecord(arn=instance.container_instance_arn, ec2_instance_id=ec2_instance.id,
                              availability_zone=zone, cpu=cpu, memory=memory)

    def write_instance(self, cluster: str, record: InstanceRecord) -> None:
        instance = self.ecs.container_instances.get(cluster, {}).get(record.arn.rsplit("/", 1)[-1])
        if instance is None:
            return
        for resource in instance.remaining_resources:
            if resource["name"] == "CPU":
                resource["integerValue"] = record.remaining_cpu
            elif resource["name"] == "MEMORY":
                resource["integerValue"] = record.remaining_memory
            elif resource["name"] == "PORTS":
                resource["stringSetValue"] = sorted({"22", "2375", "2376", "51678", "51679"}
                                                    | {str(p) for p in record.used_ports})
        instance.running_tasks_count = record.running_tasks

    # ---- elbv2 -----------------------------------------------------------------------------------------
    def listeners(self) -> list[dict[str, Any]]:
        """Every HTTP listener with its load balancer and default forward target group."""
        found = []
        for lb in list(self.elbv2.load_balancers.values()):
            for listener in list(lb.listeners.values()):
                target_group = None
                for action in listener.default_actions:
                    data = action.data if hasattr(action, "data") else action
                    target_group = data.get("TargetGroupArn") or (
                        (data.get("ForwardConfig") or {}).get("TargetGroups") or [{}])[0].get("TargetGroupArn")
                    if target_group:
                        break
                found.append({"load_balancer_arn": lb.arn, "load_balancer_name": lb.name,
                              "listener_arn": listener.arn, "port": int(listener.port),
                              "protocol": listener.protocol, "target_group_arn": target_group})
        return found

    def target_group(self, arn: str):
        return self.elbv2.target_groups.get(arn)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
