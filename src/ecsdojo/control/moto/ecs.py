"""moto's ECS, EC2 and ELBv2: the only code that reads desired state from them and writes observed state into them.

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

import threading
import uuid
from collections.abc import Callable
from typing import Any

from ecsdojo.cloud import ACCOUNT_ID, LOOPBACK
from ecsdojo.control.moto.errors import as_moto_error
from ecsdojo.control.moto.views import (
    ClusterView,
    ListenerSpec,
    LoadBalancerBinding,
    ServiceSpec,
    TargetGroupSpec,
    TaskDefinitionView,
    TaskRef,
    TaskView,
)
from ecsdojo.control.records import ContainerRecord, InstanceRecord, ServiceRecord, ServiceSettings, TaskRecord

__all__ = ["MotoAdapter", "INTERCEPTED", "deployment_configuration"]

# The ECS response handlers we wrap, and what the control plane does with each.
INTERCEPTED = ("create_cluster", "register_task_definition", "run_task", "stop_task", "list_tasks",
               "describe_tasks", "create_service", "update_service", "delete_service", "describe_services",
               "list_services", "describe_container_instances", "list_container_instances", "delete_cluster",
               "list_service_deployments", "describe_service_deployments", "stop_service_deployment",
               "execute_command")


def deployment_configuration(settings: ServiceSettings) -> dict[str, Any]:
    """deploymentConfiguration as describe_services shows it (and a service deployment keeps)."""
    body: dict[str, Any] = {
        "maximumPercent": settings.maximum_percent, "minimumHealthyPercent": settings.minimum_healthy_percent,
        "deploymentCircuitBreaker": {"enable": settings.circuit_breaker_enable,
                                     "rollback": settings.circuit_breaker_rollback},
        "strategy": settings.strategy}
    if settings.alarm_names:
        body["alarms"] = {"alarmNames": list(settings.alarm_names), "enable": settings.alarms_enable,
                          "rollback": settings.alarms_rollback}
    if settings.strategy != "ROLLING":
        body["bakeTimeInMinutes"] = int(settings.bake_time_min)
    if settings.strategy == "LINEAR":
        body["linearConfiguration"] = {"stepPercent": settings.linear_step_percent,
                                       "stepBakeTimeInMinutes": int(settings.linear_step_bake_min)}
    if settings.strategy == "CANARY":
        body["canaryConfiguration"] = {"canaryPercent": settings.canary_percent,
                                       "canaryBakeTimeInMinutes": int(settings.canary_bake_min)}
    if settings.lifecycle_hooks:
        body["lifecycleHooks"] = [dict(hook) for hook in settings.lifecycle_hooks]
    return body


def _forwarded(actions) -> tuple[tuple[str, int], ...]:
    """(target group, weight) pairs of the first forward action."""
    for action in actions or []:
        data = action.data if hasattr(action, "data") else action
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            return tuple((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups if g.get("TargetGroupArn"))
        if data.get("TargetGroupArn"):
            return ((data["TargetGroupArn"], 1),)
    return ()



class MotoAdapter:
    def __init__(self, *, region: str) -> None:
        self.region = region
        self.lock = threading.RLock()
        self._originals: dict[str, Callable | None] = {}

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
    def install(self, handlers: dict[str, Callable[[dict, dict, Callable[[], Any]], Any]]) -> None:
        """Wrap moto's ECS response methods: handler(raw_params, params, call_original) -> result.

        `raw_params` is moto's own (mutable) parameter dict, `params` the request's camelCase parameters. A
        handler returns `call_original()`'s result, or a reply body (a dict, where `TaskRef`s stand for tasks);
        it raises `errors.AwsError` (or a `taskdef.TaskDefinitionError`) for AWS-shaped errors."""
        from moto.ecs.responses import EC2ContainerServiceResponse

        from ecsdojo.control.moto import cloudformation

        cloudformation.install()        # CloudFormation's ECS resources, completed (a stack's service runs too)
        lock = self.lock
        for name in INTERCEPTED:
            # moto's dispatcher calls the response method named after the action (ListServiceDeployments →
            # list_service_deployments); for an action moto lacks we add that method, so that boto3 and the AWS
            # CLI reach our handler the same way, and moto's serializer shapes the reply from botocore's model.
            original = getattr(EC2ContainerServiceResponse, name, None)
            self._originals[name] = original
            if original is None:            # a call moto does not implement at all (ExecuteCommand)
                original = _not_in_moto(name)
            handler = handlers.get(name)

            def wrapper(response, _original=original, _handler=handler):
                with lock:
                    if _handler is None:
                        return _original(response)
                    params = response._get_params() if hasattr(response, "_get_params") else {}
                    try:
                        result = _handler(response.params, params, lambda: _original(response))
                    except Exception as error:  # noqa: BLE001 - only the class changes (our errors -> moto's)
                        mapped = as_moto_error(error)
                        if mapped is error:
                            raise
                        raise mapped from error
                    return self._reply(result)

            setattr(EC2ContainerServiceResponse, name, wrapper)

    def uninstall(self) -> None:
        from moto.ecs.responses import EC2ContainerServiceResponse

        from ecsdojo.control.moto import cloudformation

        cloudformation.uninstall()
        for name, original in self._originals.items():
            if original is None:
                delattr(EC2ContainerServiceResponse, name)
            else:
                setattr(EC2ContainerServiceResponse, name, original)
        self._originals.clear()

    # ---- replies ---------------------------------------------------------------------------------
    def _reply(self, result: Any) -> Any:
        if not isinstance(result, dict):
            return result
        from moto.core.responses import ActionResult

        return ActionResult({key: self._resolve(value) for key, value in result.items()})

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, TaskRef):
            return self._moto_task(value.cluster, value.arn)
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        return value

    # ---- reads (frozen views) ----------------------------------------------------------------------
    def clusters(self) -> list[str]:
        return list(self.ecs.clusters)

    def cluster(self, name_or_arn: str | None) -> ClusterView:
        """The cluster, raising moto's ClusterNotFoundException as AWS does."""
        cluster = self.ecs._get_cluster(name_or_arn or "default")
        return ClusterView(name=cluster.name, arn=cluster.arn)

    def _moto_service(self, cluster: str, name: str):
        for service in self.ecs.services.values():
            if service.cluster_name == cluster and service.name == name:
                return service
        return None

    def service(self, cluster: str, name: str) -> ServiceSpec | None:
        service = self._moto_service(cluster, name)
        if service is None:
            return None
        bindings = tuple(LoadBalancerBinding(target_group_arn=b.get("targetGroupArn", ""),
                                             container_name=b.get("containerName", ""),
                                             container_port=int(b.get("containerPort", 0) or 0))
                         for b in service.load_balancers or [] if b.get("targetGroupArn"))
        return ServiceSpec(cluster=cluster, name=service.name, arn=service.arn, status=service.status,
                           desired_count=int(service.desired_count or 0),
                           task_definition_arn=service.task_definition or "", launch_type=service.launch_type,
                           load_balancers=bindings, running_count=int(service.running_count or 0),
                           pending_count=int(service.pending_count or 0),
                           first_deployment_id=service.deployments[0]["id"] if service.deployments else None)

    def all_services(self) -> list[tuple[str, str]]:
        """(cluster, name) of every service moto holds, whatever route created it (API, CloudFormation, ...)."""
        return sorted((service.cluster_name, service.name) for service in self.ecs.services.values())

    def service_request(self, cluster: str, name: str) -> dict[str, Any]:
        """What a service made by another route than our CreateService asked for, as CreateService's parameters:
        launchType, networkConfiguration, and the settings CloudFormation gave (control/moto/cloudformation.py)."""
        service = self._moto_service(cluster, name)
        if service is None:
            return {}
        request: dict[str, Any] = dict(getattr(service, "cfn_settings", None) or {})
        request["generation"] = getattr(service, "cfn_generation", 0)
        # which moto object this is: a service deleted and made again under the same name (a stack deleted and
        # deployed again) is a new service, with none of the old one's settings, deployments or events
        if not getattr(service, "ecsdojo_identity", None):
            service.ecsdojo_identity = uuid.uuid4().hex
        request["identity"] = service.ecsdojo_identity
        request["launchType"] = service.launch_type or "EC2"
        if service.network_configuration:
            request["networkConfiguration"] = service.network_configuration
        return request

    def active_services(self, cluster: str) -> list[str]:
        """Names of the cluster's services that are not yet INACTIVE (ACTIVE or DRAINING)."""
        return sorted(service.name for service in self.ecs.services.values()
                      if service.cluster_name == cluster and service.status != "INACTIVE")

    def task_definition(self, name_or_arn: str) -> TaskDefinitionView:
        """A registered task definition (family, family:revision or ARN); moto's ClientException when unknown.

        A family alone names its latest ACTIVE revision, as in ECS ("If a revision isn't specified, the latest
        ACTIVE revision is used"); a malformed reference is unknown (moto would fail on it with a 500)."""
        definition = self._moto_task_definition(name_or_arn)
        return TaskDefinitionView(
            arn=definition.arn, family=definition.family,
            container_definitions=tuple(dict(d) for d in definition.container_definitions),
            network_mode=definition.network_mode, cpu=definition.cpu, memory=definition.memory,
            requires_compatibilities=tuple(definition.requires_compatibilities or ()),
            compatibilities=tuple(getattr(definition, "compatibilities", None) or ()),
            status=getattr(definition, "status", None) or "ACTIVE",
            task_role_arn=getattr(definition, "task_role_arn", None) or None,
            execution_role_arn=getattr(definition, "execution_role_arn", None) or None)

    def _moto_task_definition(self, name_or_arn: str):
        from moto.ecs.exceptions import TaskDefinitionNotFoundException

        name = str(name_or_arn or "").rsplit("/", 1)[-1]
        family, colon, revision = name.partition(":")
        revisions = self.ecs.task_definitions.get(family) or {}
        if colon:
            found = revisions.get(int(revision)) if revision.isdigit() else None
        else:
            active = [number for number, d in revisions.items() if getattr(d, "status", "ACTIVE") == "ACTIVE"]
            found = revisions[max(active)] if active else None
        if found is None:
            raise TaskDefinitionNotFoundException()
        return found

    def _moto_task(self, cluster: str, arn: str):
        return self.ecs.tasks.get(cluster, {}).get(arn)

    def find_task(self, cluster: str, task: str) -> str | None:
        """A task's ARN from its ARN or id, or None."""
        task_id = task.rsplit("/", 1)[-1]
        for arn in self.ecs.tasks.get(cluster, {}):
            if arn == task or arn.rsplit("/", 1)[-1] == task_id:
                return arn
        return None

    def tasks(self, cluster: str) -> list[TaskView]:
        return [TaskView(arn=arn, task_definition_arn=task.task_definition_arn, group=task.group or "",
                         started_by=task.started_by or "", container_instance_arn=task.container_instance_arn,
                         launch_type=task.launch_type, desired_status=task.desired_status)
                for arn, task in self.ecs.tasks.get(cluster, {}).items()]

    # ---- writes: tasks -----------------------------------------------------------------------------
    def create_task(self, *, cluster: str, task_definition_arn: str, container_instance_arn: str | None, group: str,
                    started_by: str, launch_type: str, network_configuration: dict | None,
                    overrides: dict | None = None, tags: list | None = None) -> tuple[str, str]:
        """A new task in moto (moto's Task creates the awsvpc ENI); returns (task ARN, task id). Its state is
        written by write_task."""
        from moto.ecs.models import Task

        cluster_object = self.ecs.clusters[cluster]
        definition = self.ecs.describe_task_definition(task_definition_arn)
        task = Task(cluster_object, definition, container_instance_arn, None, backend=self.ecs, group=group,
                    launch_type=launch_type, overrides=overrides or {}, started_by=started_by, tags=tags or [],
                    networking_configuration=network_configuration)
        self.ecs.tasks.setdefault(cluster, {})[task.task_arn] = task
        return task.task_arn, task.id

    def write_task(self, record: TaskRecord, *, instances: dict[str, InstanceRecord]) -> None:
        task = self._moto_task(record.cluster, record.arn)
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
        task.enable_execute_command = record.enable_execute_command     # describe_tasks' enableExecuteCommand
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
        if task.enable_execute_command and container.runtime_id:
            # the ECS agent runs ECS Exec's agent beside each container of such a task (describe_tasks shows it)
            body["managedAgents"] = [{"name": "ExecuteCommandAgent", "lastStatus":
                                      "RUNNING" if container.last_status == "RUNNING" else "STOPPED"}]
        if container.memory:
            body["memory"] = str(container.memory)
        if container.memory_reservation:
            body["memoryReservation"] = str(container.memory_reservation)
        if container.host_ports and task.network_mode != "awsvpc":   # awsvpc tasks report ENIs, not bindings
            bindings = []
            for container_port, declared_host, protocol in container.container_port_bindings:
                # What is true here: ports are published on 127.0.0.1 only. (On an EC2 instance the ECS agent
                # reports 0.0.0.0: Docker publishes on every interface of the instance, bounded by its
                # security groups.)
                bindings.append({"bindIP": LOOPBACK, "containerPort": container_port,
                                 "hostPort": declared_host or container.host_ports.get(container_port, 0),
                                 "protocol": protocol})
            body["networkBindings"] = bindings
        return body

    # ---- writes: services ----------------------------------------------------------------------------
    def set_service_task_definition(self, cluster: str, name: str, arn: str) -> None:
        """A rollback points the service back at an earlier revision (as describe_services then shows)."""
        service = self._moto_service(cluster, name)
        if service is not None:
            service.task_definition = arn

    def write_service(self, record: ServiceRecord, *, running: int, pending: int) -> None:
        service = self._moto_service(record.cluster, record.name)
        if service is None:
            return
        service.running_count = running
        service.pending_count = pending
        service.events = [dict(event) for event in record.events[:100]]
        service.deployments = [d.as_api() for d in record.deployments if d.status != "INACTIVE"]
        settings = record.settings
        service.deployment_configuration = deployment_configuration(settings)
        service.health_check_grace_period_seconds = settings.health_check_grace_period_s
        service.placement_strategy = settings.placement_strategy
        service.placement_constraints = settings.placement_constraints
        service.enable_execute_command = settings.enable_execute_command

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
    def listeners(self) -> list[ListenerSpec]:
        """Every listener with its load balancer and the target groups (with weights) it forwards to."""
        found = []
        for lb in list(self.elbv2.load_balancers.values()):
            for listener in list(lb.listeners.values()):
                forward: tuple[tuple[str, int], ...] = ()
                rule_arn = None
                rules = sorted(getattr(listener, "_non_default_rules", {}).values(),
                               key=lambda rule: int(rule.priority) if str(rule.priority).isdigit() else 10**6)
                for rule in rules:
                    forward = _forwarded(rule.actions)
                    if forward:
                        rule_arn = rule.arn
                        break
                if not forward:
                    forward = _forwarded(listener.default_actions)
                target_group = max(forward, key=lambda pair: pair[1])[0] if forward else None
                found.append(ListenerSpec(load_balancer_arn=lb.arn, load_balancer_name=lb.name,
                                          listener_arn=listener.arn, port=int(listener.port),
                                          protocol=listener.protocol, target_group_arn=target_group,
                                          forward=forward, forward_rule_arn=rule_arn))
        return found

    def set_forward_weights(self, listener_or_rule_arn: str, weights: list[tuple[str, int]]) -> None:
        """A forward action to these target groups with these weights on a listener (its default action) or a
        rule, as ModifyListener / ModifyRule with a ForwardConfig would write it (describe-listeners shows it)."""
        from moto.elbv2.models import FakeAction

        action = FakeAction({"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": int(weight)} for arn, weight in weights]}})
        for lb in self.elbv2.load_balancers.values():
            for listener in lb.listeners.values():
                if listener.arn == listener_or_rule_arn:
                    listener.default_actions = [action]
                    for rule in listener._default_rule.values():
                        rule.actions = [action]
                    return
                rule = listener._non_default_rules.get(listener_or_rule_arn)
                if rule is not None:
                    rule.actions = [action]
                    return
        raise LookupError(f"no listener or listener rule {listener_or_rule_arn}")

    def alarm_state(self, name: str) -> str | None:
        """A CloudWatch alarm's state (OK, ALARM, INSUFFICIENT_DATA), or None if there is no such alarm."""
        from moto.cloudwatch.models import cloudwatch_backends

        alarm = cloudwatch_backends[ACCOUNT_ID][self.region].alarms.get(name)
        return alarm.state_value if alarm is not None else None

    def register_targets(self, target_group_arn: str, targets: list[tuple[str, int]]) -> None:
        """RegisterTargets: (target id, port) pairs into a target group (describe_target_health lists them)."""
        self.elbv2.register_targets(target_group_arn, [{"Id": target_id, "Port": port} for target_id, port in targets])

    def target_group(self, arn: str) -> TargetGroupSpec | None:
        group = self.elbv2.target_groups.get(arn)
        if group is None:
            return None
        return TargetGroupSpec(
            arn=arn, health_path=getattr(group, "health_check_path", None) or "/",
            interval_s=float(getattr(group, "health_check_interval_seconds", 30) or 30),
            timeout_s=float(getattr(group, "health_check_timeout_seconds", 5) or 5),
            healthy_threshold=int(getattr(group, "healthy_threshold_count", 5) or 5),
            unhealthy_threshold=int(getattr(group, "unhealthy_threshold_count", 2) or 2),
            matcher=(getattr(group, "matcher", None) or {}).get("HttpCode", "200"))


def _not_in_moto(name: str) -> Callable:
    def missing(response):
        raise NotImplementedError(f"moto does not implement ECS {name}; the control plane must handle it")
    return missing
