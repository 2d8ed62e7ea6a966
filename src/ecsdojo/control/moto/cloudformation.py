"""CloudFormation's ECS resources in moto, completed so that a stack's service runs like an API-created one.

moto 5's CloudFormation support for ECS keeps only part of each resource (moto/ecs/models.py):
- AWS::ECS::Service: create passes only the cluster, name, task family and DesiredCount ("TODO: LoadBalancers");
  a missing DesiredCount reaches moto as None; update stores the task *family* as the service's task definition;
  delete is not implemented (the service stays ACTIVE after `delete-stack`);
- AWS::ECS::TaskDefinition: create drops NetworkMode, Cpu, RequiresCompatibilities and the roles; update compares
  and registers the PascalCase ContainerDefinitions it never converted (every update registers a broken revision);
  delete is not implemented (the revision stays ACTIVE);
- AWS::ECS::Cluster: delete is not implemented;
- a resource that fails (here: a task definition that RegisterTaskDefinition would refuse) makes moto answer
  HTTP 500 and leaves the stack IN_PROGRESS; CloudFormation reports CREATE_FAILED and rolls back.

`install()` replaces those class methods with the ones below (and `uninstall()` puts moto's back); what moto's
Service object cannot hold (deployment configuration, grace period, ECS Exec, placement) is kept on it as
`cfn_settings`, in the API's camelCase, for the control plane to adopt (control/ecs/discovery.py).
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "uninstall", "SERVICE_SETTING_PROPERTIES"]

_saved: dict[tuple[type, str], Any] = {}
_installs = 0          # LocalECS instances that installed the patches (two may run in one process)

# CloudFormation property → the API's request parameter that the control plane keeps (ecs/api.apply_settings)
SERVICE_SETTING_PROPERTIES = {
    "DeploymentConfiguration": "deploymentConfiguration",
    "HealthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
    "EnableExecuteCommand": "enableExecuteCommand",
    "PlacementStrategies": "placementStrategy",
    "PlacementConstraints": "placementConstraints",
}


def _camel(value: Any) -> Any:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    return remap_nested_keys(value, pascal_to_camelcase)


def _ref(value: Any) -> str:
    """A Ref/GetAtt already resolved by moto (a string), or the resource object itself: its physical id."""
    if isinstance(value, str):
        return value
    return str(getattr(value, "physical_resource_id", None) or getattr(value, "arn", None) or value)


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _backend(account_id: str, region_name: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account_id][region_name]


# ---- AWS::ECS::TaskDefinition ---------------------------------------------------------------------------------
def _register(properties: dict, account_id: str, region_name: str):
    from moto.moto_api._internal import mock_random

    family = properties.get("Family") or f"task-definition-{int(mock_random.random() * 10**6)}"
    optional = {"network_mode": properties.get("NetworkMode"),
                "cpu": str(properties["Cpu"]) if properties.get("Cpu") is not None else None,
                "memory": str(properties["Memory"]) if properties.get("Memory") is not None else None,
                "task_role_arn": properties.get("TaskRoleArn"),
                "execution_role_arn": properties.get("ExecutionRoleArn"),
                "requires_compatibilities": properties.get("RequiresCompatibilities"),
                "tags": _camel(properties.get("Tags")) or None}
    request = {"family": family, "containerDefinitions": _camel(properties.get("ContainerDefinitions", [])),
               **{camel: optional[snake] for snake, camel in (("network_mode", "networkMode"), ("cpu", "cpu"),
                                                               ("memory", "memory"),
                                                               ("requires_compatibilities", "requiresCompatibilities"),
                                                               ("execution_role_arn", "executionRoleArn"))
                  if optional[snake] is not None}}
    # the rules RegisterTaskDefinition applies (CloudFormation calls it: a broken definition fails the resource)
    from ecsdojo import taskdef

    taskdef.validate_task_definition(request)
    return _backend(account_id, region_name).register_task_definition(
        family=family, container_definitions=request["containerDefinitions"],
        volumes=_camel(properties.get("Volumes", [])),
        **{key: value for key, value in optional.items() if value is not None})


def task_definition_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    return _register(cloudformation_json["Properties"], account_id, region_name)


def task_definition_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    # A task definition is immutable: any change registers a new revision; CloudFormation then deregisters the
    # old one ("Update requires: Replacement" for every property of AWS::ECS::TaskDefinition).
    properties = cloudformation_json["Properties"]
    unchanged = (properties.get("Family") in (None, original_resource.family)
                 and _camel(properties.get("ContainerDefinitions", [])) == original_resource.container_definitions
                 and properties.get("NetworkMode") in (None, original_resource.network_mode)
                 and str(properties.get("Cpu")) == str(original_resource.cpu)
                 and str(properties.get("Memory")) == str(original_resource.memory))
    if unchanged:
        return original_resource
    new = _register(properties, account_id, region_name)
    if new.arn != original_resource.arn:
        _backend(account_id, region_name).deregister_task_definition(original_resource.arn)
    return new


def task_definition_delete(cls, resource_name, cloudformation_json, account_id, region_name):
    from moto.ecs.exceptions import TaskDefinitionNotFoundException

    try:       # resource_name is the physical id: the revision's ARN
        _backend(account_id, region_name).deregister_task_definition(resource_name)
    except TaskDefinitionNotFoundException:
        pass


# ---- AWS::ECS::Service ----------------------------------------------------------------------------------------
def _service_arguments(properties: dict, backend) -> dict[str, Any]:
    definition = backend.describe_task_definition(_ref(properties["TaskDefinition"]))
    balancers = [{key: (_ref(value) if key == "targetGroupArn" else value) for key, value in _camel(b).items()}
                 for b in properties.get("LoadBalancers") or []]
    for binding in balancers:
        if "containerPort" in binding:
            binding["containerPort"] = int(binding["containerPort"])
    network = _camel(properties.get("NetworkConfiguration")) or None
    if network and isinstance(network.get("awsvpcConfiguration"), dict):
        network["awsvpcConfiguration"].setdefault("securityGroups", [])
    # "For new services, if a desired count is not specified, a default value of 1 is used."
    # (AWS::ECS::Service DesiredCount, CloudFormation user guide)
    desired = properties.get("DesiredCount")
    return {"task_definition": definition, "desired_count": 1 if desired is None else int(desired),
            "load_balancers": balancers, "launch_type": properties.get("LaunchType") or "EC2",
            "network_configuration": network, "tags": _camel(properties.get("Tags")) or None}


def _keep_settings(service, properties: dict) -> None:
    settings = {api: _camel(properties[cfn]) for cfn, api in SERVICE_SETTING_PROPERTIES.items() if cfn in properties}
    if "enableExecuteCommand" in settings:
        settings["enableExecuteCommand"] = _bool(settings["enableExecuteCommand"])
    if "healthCheckGracePeriodSeconds" in settings:
        settings["healthCheckGracePeriodSeconds"] = int(settings["healthCheckGracePeriodSeconds"])
    service.cfn_settings = settings
    service.cfn_generation = getattr(service, "cfn_generation", 0) + 1     # a stack create or update: take them


def service_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    backend = _backend(account_id, region_name)
    arguments = _service_arguments(properties, backend)
    service = backend.create_service(
        _ref(properties.get("Cluster") or "default"), resource_name, arguments["desired_count"],
        task_definition_str=arguments["task_definition"].arn, load_balancers=arguments["load_balancers"],
        launch_type=arguments["launch_type"], network_configuration=arguments["network_configuration"],
        tags=arguments["tags"])
    _keep_settings(service, properties)
    return service


def service_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    properties = cloudformation_json["Properties"]
    backend = _backend(account_id, region_name)
    cluster = backend._get_cluster(_ref(properties.get("Cluster") or "default"))
    if cluster.arn != original_resource.cluster_arn:     # another cluster: replacement, as CloudFormation does
        backend.delete_service(original_resource.cluster_name, original_resource.name, force=True)
        return service_create(cls, new_resource_name, cloudformation_json, account_id, region_name)
    arguments = _service_arguments(properties, backend)
    service = original_resource
    service.task_definition = arguments["task_definition"].arn     # the revision, not moto's family name
    service.desired_count = arguments["desired_count"]
    service.load_balancers = arguments["load_balancers"]
    if arguments["network_configuration"]:
        service.network_configuration = arguments["network_configuration"]
    _keep_settings(service, properties)
    return service


def service_delete(cls, resource_name, cloudformation_json, account_id, region_name):
    # resource_name is the physical id: the service's ARN (the template's Properties are not resolved here).
    # DeleteService with force, as CloudFormation does; the control plane drains its tasks (the service
    # reconciler sees it INACTIVE).
    backend = _backend(account_id, region_name)
    for service in list(backend.services.values()):
        if service.arn == resource_name and service.status == "ACTIVE":
            backend.delete_service(service.cluster_name, service.name, force=True)


# ---- AWS::ECS::Cluster ----------------------------------------------------------------------------------------
def cluster_delete(cls, resource_name, cloudformation_json, account_id, region_name):
    """The cluster goes once it has no ACTIVE service left (its services were deleted first: the template's
    Ref makes CloudFormation delete them before it); moto keeps its tasks' history."""
    backend = _backend(account_id, region_name)
    name = resource_name.rsplit("/", 1)[-1]
    if name not in backend.clusters:
        return
    if any(s.cluster_name == name and s.status == "ACTIVE" for s in backend.services.values()):
        # moto's delete-stack retries a resource that raises, after the others (its services) are gone
        raise RuntimeError(f"cluster {name} still has ACTIVE services")
    backend.clusters.pop(name, None)


# ---- a resource that fails fails its stack -----------------------------------------------------------------
def _aws_shaped(error: BaseException) -> bool:
    return isinstance(getattr(error, "code", None), str) and isinstance(getattr(error, "message", None), str)


def _fail_stack(stack, error: BaseException, *, creating: bool) -> None:
    """What CloudFormation does when a resource fails: the failure's reason in the stack's events, then the
    rollback (moto would answer HTTP 500 and leave the stack IN_PROGRESS forever). Our reason wording is
    simpler than CloudFormation's ("Resource handler returned message: ...")."""
    reason = f"{error.code}: {error.message}"
    if creating:
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
        try:                                  # undo what was made before the failure
            stack.resource_map.delete()
        except Exception:  # noqa: BLE001 - best effort, as a rollback that cannot delete leaves resources too
            pass
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    else:     # resources updated before the failure keep their update here (CloudFormation would roll them back)
        stack._add_stack_event("UPDATE_FAILED", resource_status_reason=reason)
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")


def _stack_create_resources(original):
    def create_resources(stack) -> None:
        try:
            original(stack)
        except Exception as error:
            if not _aws_shaped(error):
                raise
            _fail_stack(stack, error, creating=True)
    return create_resources


def _stack_update(original):
    def update(stack, *args, **kwargs) -> None:
        try:
            original(stack, *args, **kwargs)
        except Exception as error:
            if not _aws_shaped(error):
                raise
            _fail_stack(stack, error, creating=False)
    return update


def _execute_change_set(original):
    def execute_change_set(backend, change_set_name, stack_name=None) -> None:
        try:
            original(backend, change_set_name, stack_name)
        except Exception as error:
            if not _aws_shaped(error):
                raise
            change_set = backend.change_sets.get(change_set_name) or next(
                (c for c in backend.change_sets.values() if c.change_set_name == change_set_name), None)
            if change_set is None:
                raise
            change_set.execution_status = "EXECUTE_FAILED"
            _fail_stack(backend.stacks[change_set.stack_id], error,
                        creating=change_set.change_set_type == "CREATE")
    return execute_change_set


def install() -> None:
    global _installs
    _installs += 1
    if _saved:
        return
    from moto.ecs.models import Cluster, Service, TaskDefinition

    replacements = {
        (TaskDefinition, "create_from_cloudformation_json"): task_definition_create,
        (TaskDefinition, "update_from_cloudformation_json"): task_definition_update,
        (TaskDefinition, "delete_from_cloudformation_json"): task_definition_delete,
        (Service, "create_from_cloudformation_json"): service_create,
        (Service, "update_from_cloudformation_json"): service_update,
        (Service, "delete_from_cloudformation_json"): service_delete,
        (Cluster, "delete_from_cloudformation_json"): cluster_delete,
    }
    for (owner, name), function in replacements.items():
        _saved[(owner, name)] = owner.__dict__.get(name)
        setattr(owner, name, classmethod(function))
    from moto.cloudformation.models import CloudFormationBackend, Stack

    for owner, name, wrap in ((Stack, "create_resources", _stack_create_resources),
                              (Stack, "update", _stack_update),
                              (CloudFormationBackend, "execute_change_set", _execute_change_set)):
        original = owner.__dict__[name]
        _saved[(owner, name)] = original
        setattr(owner, name, wrap(original))


def uninstall() -> None:
    global _installs
    _installs = max(0, _installs - 1)
    if _installs:
        return
    for (owner, name), original in _saved.items():
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _saved.clear()
