"""The ECS API's semantics where moto's differ: one handler per intercepted operation.

Each handler runs under the store's lock with moto's raw parameters, the request's parameters (camelCase, as
boto3 and the AWS CLI send them) and `call_original()` for moto's own implementation. Validation errors are
raised as `taskdef` errors or `moto.errors.AwsError`s; control/moto/ turns them into AWS errors
(ClientException, InvalidParameterException, ...). Handlers only record intent and enqueue keys: the task and
service reconcilers do the work.

Example::

    api = EcsApi(store=store, launcher=launcher, desired=adapter, clock=clock, add_instances=plane.add_instances)
    adapter.install(api.handlers())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecsdojo import taskdef
from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs import exec as ecs_exec
from ecsdojo.control.ecs import deployments
from ecsdojo.control.ecs import validation as check
from ecsdojo.control.ecs.deployments_api import ServiceDeploymentsApi
from ecsdojo.control.ecs.status import write_service_status
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.ecs import MotoAdapter
from ecsdojo.control.moto.errors import (
    ClusterContainsServicesError,
    ClusterContainsTasksError,
    InvalidParameterError,
    ServiceNotActiveError,
    TargetNotConnectedError,
)
from ecsdojo.control.moto.views import TaskDefinitionView, TaskRef
from ecsdojo.control.store import ObservedState, new_deployment_id, service_key
from ecsdojo.runtime.base import SIMULATED_EXEC_NOTE

__all__ = ["EcsApi", "apply_settings"]

Handler = Callable[[dict, dict, Callable[[], Any]], Any]


class EcsApi:
    def __init__(self, *, store: ObservedState, launcher: Launcher, desired: MotoAdapter, clock: Clock,
                 add_instances: Callable[[str], None], runtime_name: str = "fake", exec_supported: bool = True) -> None:
        self.runtime_name = runtime_name
        self.exec_supported = exec_supported
        self.store = store
        self.launcher = launcher
        self.desired = desired
        self.clock = clock
        self.add_instances = add_instances
        self.service_deployments = ServiceDeploymentsApi(store=store, desired=desired, clock=clock)

    def handlers(self) -> dict[str, Handler]:
        return {"create_cluster": self.create_cluster, "register_task_definition": self.register_task_definition,
                "run_task": self.run_task, "stop_task": self.stop_task, "list_tasks": self.list_tasks,
                "create_service": self.create_service, "update_service": self.update_service,
                "delete_service": self.delete_service, "describe_services": self.describe_services,
                "delete_cluster": self.delete_cluster, "execute_command": self.execute_command,

                "list_service_deployments": self.service_deployments.list_service_deployments,
                "describe_service_deployments": self.service_deployments.describe_service_deployments,
                "stop_service_deployment": self.service_deployments.stop_service_deployment}

    # ---- clusters and task definitions ----------------------------------------------------------------
    def create_cluster(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        result = original()
        name = params.get("clusterName", "default")
        if name not in self.store.instances:
            self.add_instances(name)
        return result

    def delete_cluster(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        """ECS refuses to delete a cluster that still has services (ACTIVE or DRAINING) or tasks."""
        cluster = self.desired.cluster(params.get("cluster"))
        if self.desired.active_services(cluster.name):
            raise ClusterContainsServicesError()
        if any(task.cluster == cluster.name and task.last_status != "STOPPED" for task in self.store.tasks.values()):
            raise ClusterContainsTasksError()
        return original()

    def register_task_definition(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        check.check_tags(params)
        taskdef.validate_task_definition(params)
        return original()

    # ---- tasks ----------------------------------------------------------------------------------------
    def run_task(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        _normalise_network(raw)
        cluster = self.desired.cluster(params.get("cluster"))
        count = check.check_run_task_count(params)
        check.check_tags(params)
        definition = self.desired.task_definition(params.get("taskDefinition") or "")
        check.check_task_definition_active(definition.status, operation="RunTask")
        launch_type = params.get("launchType") or ("FARGATE" if _fargate_strategy(params) else "EC2")
        _validate_launch(definition, launch_type=params.get("launchType"),
                         network_configuration=params.get("networkConfiguration"),
                         capacity_provider_strategy=params.get("capacityProviderStrategy"), operation="RunTask")
        tasks, failures = [], []
        group = params.get("group") or f"family:{definition.family}"
        for _ in range(count):
            result = self.launcher.launch(
                cluster=cluster.name, definition=definition, count=1, group=group,
                started_by=params.get("startedBy", ""), launch_type=launch_type,
                network_configuration=params.get("networkConfiguration"), strategy=params.get("placementStrategy"),
                overrides=params.get("overrides"), tags=params.get("tags"),
                enable_execute_command=bool(params.get("enableExecuteCommand")))
            if result.failure:
                instance_arns = list(self.store.instances.get(cluster.name, {}))
                failures.append({"arn": instance_arns[0] if instance_arns else cluster.arn,
                                 "reason": events.run_task_failure_reason(result.failure)})
                continue
            tasks.extend(TaskRef(cluster.name, arn) for arn in result.task_arns)
        return {"tasks": tasks, "failures": failures}

    def stop_task(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        cluster = self.desired.cluster(params.get("cluster"))
        arn = self.desired.find_task(cluster.name, params.get("task", ""))
        record = self.store.tasks.get(arn) if arn is not None else None
        if record is None:
            raise InvalidParameterError("The referenced task was not found.")
        self.store.request_stop(record, events.stop_by_user(params.get("reason")))
        return {"task": TaskRef(cluster.name, record.arn)}

    def execute_command(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        """ECS Exec: a session for the course's session-manager-plugin, or ECS's refusal."""
        cluster = self.desired.cluster(params.get("cluster"))
        if not params.get("interactive"):
            raise InvalidParameterError(ecs_exec.NOT_INTERACTIVE)
        arn = self.desired.find_task(cluster.name, params.get("task", ""))
        record = self.store.tasks.get(arn) if arn is not None else None
        if record is None:
            raise InvalidParameterError("The referenced task was not found.")
        if not record.enable_execute_command or record.last_status != "RUNNING":
            raise InvalidParameterError(ecs_exec.EXEC_NOT_ENABLED)
        name = params.get("container")
        if name:
            containers = [c for c in record.containers if c.name == name]
            if not containers:        # wording ours
                raise InvalidParameterError(f"The container {name} does not exist in the task.")
        elif len(record.containers) > 1:
            raise InvalidParameterError(ecs_exec.MULTIPLE_CONTAINERS)
        else:
            containers = record.containers
        container = containers[0]
        if container.last_status != "RUNNING" or not container.runtime_id:
            raise InvalidParameterError(ecs_exec.EXEC_NOT_ENABLED)     # the container (and its agent) is not running
        if not self.exec_supported:
            raise TargetNotConnectedError(SIMULATED_EXEC_NOTE)
        try:
            ecs_exec.command_argv(params.get("command") or "")
        except ValueError as error:
            raise InvalidParameterError(f"command: {error}") from error
        session = ecs_exec.new_session(region=self.desired.region, runtime=self.runtime_name,
                                       container_id=container.runtime_id, command=params["command"])
        return {"clusterArn": cluster.arn, "containerArn": container.container_arn, "containerName": container.name,
                "interactive": True, "session": session, "taskArn": record.arn}

    def list_tasks(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        cluster = self.desired.cluster(params.get("cluster"))
        desired = check.check_desired_status(params)          # RUNNING is AWS's default filter
        family = params.get("family")
        service = params.get("serviceName")
        started_by = params.get("startedBy")
        instance = params.get("containerInstance")
        launch_type = params.get("launchType")
        arns = []
        for task in self.desired.tasks(cluster.name):
            record = self.store.tasks.get(task.arn)
            status = record.desired_status if record else task.desired_status
            if status != desired:
                continue
            if family and not task.task_definition_arn.split("/")[-1].startswith(f"{family}:"):
                continue
            if service and task.group != f"service:{service.rsplit('/', 1)[-1]}":
                continue
            if started_by and task.started_by != started_by:
                continue
            if instance and (task.container_instance_arn or "").rsplit("/", 1)[-1] != instance.rsplit("/", 1)[-1]:
                continue
            if launch_type and task.launch_type != launch_type:
                continue
            arns.append(task.arn)
        return {"taskArns": arns}

    # ---- services -------------------------------------------------------------------------------------
    def create_service(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        _normalise_network(raw)
        cluster = self.desired.cluster(params.get("cluster"))
        check.check_service_name(params)
        definition = self.desired.task_definition(check.check_task_definition_given(params))
        check.check_task_definition_active(definition.status, operation="CreateService")
        check.check_desired_count(params)
        check.check_deployment_configuration(params)
        check.check_strategy(params)
        check.check_tags(params)
        existing = self.desired.service(cluster.name, params.get("serviceName") or "")
        if existing is not None and existing.status != "INACTIVE":
            # wording: real ECS output quoted in many public issues (e.g. hashicorp/terraform-provider-aws#14489)
            raise InvalidParameterError("Creation of service was not idempotent.")
        _validate_launch(definition, launch_type=params.get("launchType"),
                         network_configuration=params.get("networkConfiguration"),
                         capacity_provider_strategy=params.get("capacityProviderStrategy"), operation="CreateService")
        raw["taskDefinition"] = definition.arn        # the revision resolved here (a family: its latest ACTIVE one)
        result = original()
        spec = self.desired.service(cluster.name, params["serviceName"])
        if spec is None:
            return result
        record = r.ServiceRecord(cluster=cluster.name, name=spec.name, arn=spec.arn)
        apply_settings(record.settings, params)
        launch_type = params.get("launchType") or ("FARGATE" if _fargate_strategy(params) else "EC2")
        record.deployments.append(r.Deployment(
            id=spec.first_deployment_id or new_deployment_id(), task_definition_arn=definition.arn,
            desired_count=int(params.get("desiredCount", 0)), created_at=self.clock.now(),
            updated_at=self.clock.now(), launch_type=launch_type,
            network_configuration=params.get("networkConfiguration")))
        self.store.add_service(record)
        deployments.open_service_deployment(record, record.deployments[0], clock=self.clock)
        self._service_changed(cluster.name, spec.name)
        return result

    def update_service(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        cluster = self.desired.cluster(params.get("cluster"))
        name = (params.get("service") or "").rsplit("/", 1)[-1]
        existing = self.desired.service(cluster.name, name)
        if existing is not None and existing.status != "ACTIVE":
            raise ServiceNotActiveError()
        check.check_desired_count(params)
        record = self.store.service(cluster.name, name)
        if record is not None:
            check.check_deployment_configuration(params, current_minimum=record.settings.minimum_healthy_percent,
                                                 current_maximum=record.settings.maximum_percent)
            check.check_strategy(params, current_strategy=record.settings.strategy,
                                 has_advanced_configuration=bool(record.settings.alternate_target_group))
        else:
            check.check_deployment_configuration(params)
        new_definition = None
        if params.get("taskDefinition"):
            new_definition = self.desired.task_definition(params["taskDefinition"])
            check.check_task_definition_active(new_definition.status, operation="UpdateService")
            raw["taskDefinition"] = new_definition.arn
            current = record.primary if record else None
            _validate_launch(new_definition, launch_type=current.launch_type if current else None,
                             network_configuration=params.get("networkConfiguration") or
                             (current.network_configuration if current else None),
                             capacity_provider_strategy=None, operation="UpdateService")
        result = original()
        if record is None:
            return result
        apply_settings(record.settings, params)
        primary = record.primary
        changed_definition = new_definition is not None and primary is not None and \
            new_definition.arn != primary.task_definition_arn
        spec = self.desired.service(cluster.name, name)
        if primary is not None and (changed_definition or params.get("forceNewDeployment")):
            primary.status = "ACTIVE"
            record.deployments.insert(0, r.Deployment(
                id=new_deployment_id(),
                task_definition_arn=new_definition.arn if new_definition else primary.task_definition_arn,
                desired_count=spec.desired_count if spec else primary.desired_count, created_at=self.clock.now(),
                updated_at=self.clock.now(), launch_type=primary.launch_type,
                network_configuration=params.get("networkConfiguration") or primary.network_configuration))
            deployments.open_service_deployment(record, record.deployments[0], clock=self.clock)
            if changed_definition:          # a new revision resets the launch throttle
                record.consecutive_start_failures = 0
                record.throttle_level = 0
                record.throttled_until = 0.0
        self._service_changed(cluster.name, name)
        return result

    def describe_services(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        check.check_describe_services(params)
        return original()

    def delete_service(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        result = original()
        cluster = self.desired.cluster(params.get("cluster"))
        name = params.get("service", "").rsplit("/", 1)[-1]
        record = self.store.service(cluster.name, name)
        if record is not None:      # "When you delete a service, Amazon ECS deletes the corresponding service
            record.service_deployments.clear()      # deployments" (developerguide/service-deployment.html)
        self.store.queue.add(service_key(cluster.name, name))
        return result

    def _service_changed(self, cluster: str, name: str) -> None:
        """describe_services right after the call shows the new deployment; the reconciler does the rest."""
        write_service_status(store=self.store, desired=self.desired, clock=self.clock, cluster=cluster, name=name)
        self.store.queue.add(service_key(cluster, name))


def _validate_launch(definition: TaskDefinitionView, *, launch_type: str | None,
                     network_configuration: dict | None, capacity_provider_strategy: list | None,
                     operation: str) -> None:
    taskdef.validate_launch(definition.as_request(), launch_type=launch_type,
                            network_configuration=network_configuration,
                            capacity_provider_strategy=capacity_provider_strategy, operation=operation)


def _normalise_network(params: dict[str, Any]) -> None:
    """securityGroups is optional in AWS (the VPC's default group); moto indexes it, so default it to []. A
    networkConfiguration without awsvpcConfiguration configures nothing (the launch rules have already refused it
    where awsvpc needs one); moto indexes it too, so drop it."""
    configuration = params.get("networkConfiguration")
    awsvpc = configuration.get("awsvpcConfiguration") if isinstance(configuration, dict) else None
    if isinstance(awsvpc, dict):
        awsvpc.setdefault("securityGroups", [])
    elif "networkConfiguration" in params:
        params.pop("networkConfiguration")


def _fargate_strategy(params: dict[str, Any]) -> bool:
    strategy = params.get("capacityProviderStrategy") or []
    return bool(strategy) and strategy[0].get("capacityProvider", "").startswith("FARGATE")


def apply_settings(settings: r.ServiceSettings, params: dict[str, Any]) -> None:
    configuration = params.get("deploymentConfiguration") or {}
    if "minimumHealthyPercent" in configuration:
        settings.minimum_healthy_percent = int(configuration["minimumHealthyPercent"])
    if "maximumPercent" in configuration:
        settings.maximum_percent = int(configuration["maximumPercent"])
    breaker = configuration.get("deploymentCircuitBreaker")
    if breaker:
        settings.circuit_breaker_enable = bool(breaker.get("enable"))
        settings.circuit_breaker_rollback = bool(breaker.get("rollback"))
    if "healthCheckGracePeriodSeconds" in params:
        settings.health_check_grace_period_s = int(params["healthCheckGracePeriodSeconds"])
    if "placementStrategy" in params:
        settings.placement_strategy = list(params["placementStrategy"] or [])
    if "enableExecuteCommand" in params:
        settings.enable_execute_command = bool(params["enableExecuteCommand"])
    if "placementConstraints" in params:
        settings.placement_constraints = list(params["placementConstraints"] or [])
    _apply_strategy(settings, params)


def _apply_strategy(settings: r.ServiceSettings, params: dict[str, Any]) -> None:
    """deploymentConfiguration.strategy and the settings BLUE_GREEN, LINEAR and CANARY run by (control/ecs/traffic)."""
    configuration = params.get("deploymentConfiguration") or {}
    if configuration.get("strategy"):
        settings.strategy = configuration["strategy"]
    if configuration.get("bakeTimeInMinutes") is not None:
        settings.bake_time_min = float(configuration["bakeTimeInMinutes"])
    linear = configuration.get("linearConfiguration") or {}
    if linear.get("stepPercent") is not None:
        settings.linear_step_percent = float(linear["stepPercent"])
    if linear.get("stepBakeTimeInMinutes") is not None:
        settings.linear_step_bake_min = float(linear["stepBakeTimeInMinutes"])
    canary = configuration.get("canaryConfiguration") or {}
    if canary.get("canaryPercent") is not None:
        settings.canary_percent = float(canary["canaryPercent"])
    if canary.get("canaryBakeTimeInMinutes") is not None:
        settings.canary_bake_min = float(canary["canaryBakeTimeInMinutes"])
    alarms = configuration.get("alarms")
    if alarms:
        settings.alarm_names = list(alarms.get("alarmNames") or [])
        settings.alarms_enable = bool(alarms.get("enable"))
        settings.alarms_rollback = bool(alarms.get("rollback"))
    if "lifecycleHooks" in configuration:
        settings.lifecycle_hooks = list(configuration.get("lifecycleHooks") or [])
    balancers = params.get("loadBalancers")
    if balancers:
        advanced = balancers[0].get("advancedConfiguration") or {}
        settings.alternate_target_group = advanced.get("alternateTargetGroupArn")
        settings.production_listener_rule = advanced.get("productionListenerRule")
        settings.test_listener_rule = advanced.get("testListenerRule")
