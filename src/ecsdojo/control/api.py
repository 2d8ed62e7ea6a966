"""The ECS API's semantics where moto's differ: one handler per intercepted operation.

Each handler runs under the adapter's lock with the request's parameters (camelCase, as boto3 and the AWS
CLI send them) and `call_original()` for moto's own implementation. Validation errors are raised as moto
exceptions, so learners see them as AWS errors (ClientException, InvalidParameterException, ...).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException

from ecsdojo.control import records as r

if TYPE_CHECKING:
    from ecsdojo.control.plane import ControlPlane


def _validators():
    """The task-definition validator (rules moto skips), when present."""
    try:
        from ecsdojo import taskdef
    except ImportError:  # pragma: no cover - the validator ships with the package
        return None
    return taskdef


def _definition_dict(definition) -> dict[str, Any]:
    return {"family": definition.family, "containerDefinitions": [dict(d) for d in definition.container_definitions],
            "networkMode": definition.network_mode, "cpu": definition.cpu, "memory": definition.memory,
            "requiresCompatibilities": definition.requires_compatibilities or [],
            "compatibilities": getattr(definition, "compatibilities", []) or []}


def handlers(plane: ControlPlane) -> dict[str, Any]:
    adapter = plane.adapter

    def create_cluster(response, params, original):
        result = original()
        name = params.get("clusterName", "default")
        if name not in plane.instances:
            plane.add_instances(name)
        return result

    def register_task_definition(response, params, original):
        validators = _validators()
        if validators is not None:
            validators.validate_task_definition(params)
        return original()

    def validate_launch(definition, *, launch_type, network_configuration, capacity_provider_strategy, operation):
        validators = _validators()
        if validators is not None:
            validators.validate_launch(_definition_dict(definition), launch_type=launch_type,
                                       network_configuration=network_configuration,
                                       capacity_provider_strategy=capacity_provider_strategy, operation=operation)

    def run_task(response, params, original):
        _normalise_network(response.params)
        cluster = adapter.cluster(params.get("cluster"))
        definition = adapter.ecs.describe_task_definition(params["taskDefinition"])
        launch_type = params.get("launchType") or ("FARGATE" if _fargate_strategy(params) else "EC2")
        validate_launch(definition, launch_type=params.get("launchType"),
                        network_configuration=params.get("networkConfiguration"),
                        capacity_provider_strategy=params.get("capacityProviderStrategy"), operation="RunTask")
        count = int(params.get("count", 1))
        tasks, failures = [], []
        group = params.get("group") or f"family:{definition.family}"
        for _ in range(count):
            instance, requirement, failure = plane.choose_instance(
                cluster.name, definition, launch_type, strategy=params.get("placementStrategy"))
            if failure:
                instance_arns = list(plane.instances.get(cluster.name, {}))
                failures.append({"arn": instance_arns[0] if instance_arns else cluster.arn,
                                 "reason": _failure_code(failure)})
                continue
            moto_task, _ = plane.new_task(cluster=cluster.name, definition=definition, group=group,
                                          started_by=params.get("startedBy", ""), launch_type=launch_type,
                                          network_configuration=params.get("networkConfiguration"),
                                          instance=instance, requirement=requirement,
                                          overrides=params.get("overrides"), tags=params.get("tags"))
            tasks.append(moto_task)
        return ActionResult({"tasks": tasks, "failures": failures})

    def stop_task(response, params, original):
        cluster = adapter.cluster(params.get("cluster"))
        moto_task = adapter.find_task(cluster.name, params.get("task", ""))
        record = plane.tasks.get(moto_task.task_arn) if moto_task is not None else None
        if moto_task is None or record is None:
            raise InvalidParameterException("The referenced task was not found.")
        if record.desired_status == "RUNNING":
            record.desired_status = "STOPPED"
            record.stop_code = r.USER_INITIATED
            record.stopped_reason = params.get("reason") or r.USER_STOP_REASON
            plane.write_task(record)
            plane.queue.add(("task", record.arn))
        return ActionResult({"task": moto_task})

    def list_tasks(response, params, original):
        cluster = adapter.cluster(params.get("cluster"))
        desired = params.get("desiredStatus", "RUNNING")     # AWS's default filter
        family = params.get("family")
        service = params.get("serviceName")
        started_by = params.get("startedBy")
        instance = params.get("containerInstance")
        launch_type = params.get("launchType")
        arns = []
        for arn, task in adapter.ecs.tasks.get(cluster.name, {}).items():
            record = plane.tasks.get(arn)
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
            arns.append(arn)
        return ActionResult({"taskArns": arns})

    def create_service(response, params, original):
        _normalise_network(response.params)
        cluster = adapter.cluster(params.get("cluster"))
        definition = adapter.ecs.describe_task_definition(params["taskDefinition"])
        validate_launch(definition, launch_type=params.get("launchType"),
                        network_configuration=params.get("networkConfiguration"),
                        capacity_provider_strategy=params.get("capacityProviderStrategy"), operation="CreateService")
        result = original()
        moto_service = adapter.service(cluster.name, params["serviceName"])
        if moto_service is None:
            return result
        record = r.ServiceRecord(cluster=cluster.name, name=moto_service.name, arn=moto_service.arn)
        _apply_settings(record.settings, params)
        deployment_id = (moto_service.deployments[0]["id"] if moto_service.deployments
                         else f"ecs-svc/{uuid.uuid4().int % 10**19:019d}")
        launch_type = params.get("launchType") or ("FARGATE" if _fargate_strategy(params) else "EC2")
        record.deployments.append(r.Deployment(
            id=deployment_id, task_definition_arn=definition.arn, desired_count=int(params.get("desiredCount", 0)),
            created_at=plane.clock.now(), updated_at=plane.clock.now(), launch_type=launch_type,
            network_configuration=params.get("networkConfiguration")))
        plane.services[(cluster.name, moto_service.name)] = record
        plane.service_reconciler._write(cluster.name, moto_service.name)
        plane.queue.add(("service", cluster.name, moto_service.name))
        return result

    def update_service(response, params, original):
        cluster = adapter.cluster(params.get("cluster"))
        name = params.get("service", "").rsplit("/", 1)[-1]
        record = plane.services.get((cluster.name, name))
        new_definition = None
        if params.get("taskDefinition"):
            new_definition = adapter.ecs.describe_task_definition(params["taskDefinition"])
            current = record.primary if record else None
            validate_launch(new_definition, launch_type=current.launch_type if current else None,
                            network_configuration=params.get("networkConfiguration") or
                            (current.network_configuration if current else None),
                            capacity_provider_strategy=None, operation="UpdateService")
        result = original()
        if record is None:
            return result
        _apply_settings(record.settings, params)
        primary = record.primary
        changed_definition = new_definition is not None and primary is not None and \
            new_definition.arn != primary.task_definition_arn
        if primary is not None and (changed_definition or params.get("forceNewDeployment")):
            primary.status = "ACTIVE"
            record.deployments.insert(0, r.Deployment(
                id=f"ecs-svc/{uuid.uuid4().int % 10**19:019d}",
                task_definition_arn=new_definition.arn if new_definition else primary.task_definition_arn,
                desired_count=int(adapter.service(cluster.name, name).desired_count), created_at=plane.clock.now(),
                updated_at=plane.clock.now(), launch_type=primary.launch_type,
                network_configuration=params.get("networkConfiguration") or primary.network_configuration))
            if changed_definition:          # a new revision resets the launch throttle
                record.consecutive_start_failures = 0
                record.throttle_level = 0
                record.throttled_until = 0.0
        plane.service_reconciler._write(cluster.name, name)
        plane.queue.add(("service", cluster.name, name))
        return result

    def delete_service(response, params, original):
        result = original()
        cluster = adapter.cluster(params.get("cluster"))
        plane.queue.add(("service", cluster.name, params.get("service", "").rsplit("/", 1)[-1]))
        return result

    return {"create_cluster": create_cluster, "register_task_definition": register_task_definition,
            "run_task": run_task, "stop_task": stop_task, "list_tasks": list_tasks,
            "create_service": create_service, "update_service": update_service, "delete_service": delete_service}


def _normalise_network(params: dict[str, Any]) -> None:
    """securityGroups is optional in AWS (the VPC's default group); moto indexes it, so default it to []."""
    awsvpc = (params.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(awsvpc, dict):
        awsvpc.setdefault("securityGroups", [])


def _fargate_strategy(params: dict[str, Any]) -> bool:
    strategy = params.get("capacityProviderStrategy") or []
    return bool(strategy) and strategy[0].get("capacityProvider", "").startswith("FARGATE")


def _failure_code(reason: str) -> str:
    """RunTask failure reasons as AWS reports them."""
    if "No Container Instances" in reason:
        return "No Container Instances were found in your cluster."
    if "memory" in reason:
        return "RESOURCE:MEMORY"
    if "CPU" in reason:
        return "RESOURCE:CPU"
    if "port" in reason:
        return "RESOURCE:PORTS"
    return reason


def _apply_settings(settings: r.ServiceSettings, params: dict[str, Any]) -> None:
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
    if "placementConstraints" in params:
        settings.placement_constraints = list(params["placementConstraints"] or [])
