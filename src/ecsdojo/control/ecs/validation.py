"""Request rules ECS applies to RunTask, CreateService, UpdateService, DescribeServices and ListTasks that moto skips.

Pure functions over the request's camelCase parameters (as boto3 and the AWS CLI send them); each raises an
AWS-shaped error (`control.moto.errors`), which control/moto/ turns into the HTTP 400 reply boto3 reads as a
ClientError with that code. Task-definition rules live in `ecsdojo.taskdef`.

Sources: the API model (botocore's ecs service-2.json: member documentation and each operation's error list)
and, for the wording, real ECS error output quoted in public issues where it could be found. Where no such
quote was found the sentence is written in ECS's style and marked "wording not verified against AWS".

Example::

    >>> check_run_task_count({"count": 3})
    3
    >>> check_run_task_count({"count": 11})
    Traceback (most recent call last):
    ...
    ecsdojo.control.moto.errors.InvalidParameterError: count must be between 1 and 10.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ecsdojo.control.moto.errors import ClientError, InvalidParameterError

__all__ = ["MAX_RUN_TASK_COUNT", "MAX_DESCRIBE_SERVICES", "MAX_TAGS", "DESIRED_STATUSES",
           "check_run_task_count", "check_desired_count", "check_task_definition_given",
           "check_deployment_configuration", "check_describe_services", "check_desired_status", "check_tags",
           "check_task_definition_active", "check_service_name"]

#: RunTaskRequest.count: "You can specify up to 10 tasks for each call."
MAX_RUN_TASK_COUNT = 10
#: DescribeServicesRequest.services: "You may specify up to 10 services to describe in a single operation."
MAX_DESCRIBE_SERVICES = 10
#: Tags (every Tag list in the API model): "Maximum number of tags per resource - 50".
MAX_TAGS = 50
#: The model's DesiredStatus enum (ListTasksRequest.desiredStatus).
DESIRED_STATUSES = ("RUNNING", "PENDING", "STOPPED")


#: CreateServiceRequest.serviceName: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens
#: are allowed."
_SERVICE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_run_task_count(params: Mapping[str, Any]) -> int:
    """RunTask's count (default 1), refused outside 1..10 with InvalidParameterException."""
    count = params.get("count", 1)
    if count is None:
        return 1
    if not _is_int(count) or not 1 <= count <= MAX_RUN_TASK_COUNT:
        # wording not verified against AWS (the limit is the API model's)
        raise InvalidParameterError(f"count must be between 1 and {MAX_RUN_TASK_COUNT}.")
    return count


def check_service_name(params: Mapping[str, Any]) -> str:
    name = params.get("serviceName")
    if not isinstance(name, str) or not _SERVICE_NAME.fullmatch(name):
        # wording by analogy with ECS's quoted "Cluster must match ^[a-zA-Z0-9\\-_]{1,255}$, but was ..."
        # (awslabs/amazon-ecs-nodejs-microservices#18); wording not verified against AWS
        raise InvalidParameterError(f"Service name must match ^[a-zA-Z0-9\\-_]{{1,255}}$, but was {name}")
    return name


def check_desired_count(params: Mapping[str, Any]) -> None:
    """CreateService/UpdateService: a negative desiredCount is refused (InvalidParameterException)."""
    desired = params.get("desiredCount")
    if desired is not None and (not _is_int(desired) or desired < 0):
        # wording not verified against AWS
        raise InvalidParameterError("desiredCount cannot be less than 0.")


def check_task_definition_given(params: Mapping[str, Any]) -> str:
    """CreateService with the ECS (rolling) deployment controller needs a task definition.

    The model: "A task definition must be specified if the service uses either the ECS or CODE_DEPLOY deployment
    controllers." The EXTERNAL controller takes it from a task set instead, which LocalECS does not model."""
    definition = params.get("taskDefinition")
    if not definition:
        # wording: real ECS output quoted in public Terraform logs ("InvalidParameterException: TaskDefinition can
        # not be blank.")
        raise InvalidParameterError("TaskDefinition can not be blank.")
    return definition


def check_deployment_configuration(params: Mapping[str, Any], *, current_minimum: int = 100,
                                   current_maximum: int = 200) -> None:
    """minimumHealthyPercent within 0..100 and maximumPercent not below it.

    Values missing from the request are the service's current ones (on create, the model's defaults: 100 and
    200). The model documents minimumHealthyPercent as "a lower limit on the number of your service's tasks that
    must remain in the RUNNING state during a deployment" and maximumPercent as "an upper limit on the number of
    your service's tasks that are allowed in the RUNNING or PENDING state": a lower limit above the upper one
    cannot be met. The 0..100 range of minimumHealthyPercent is ECS Dojo's reading of "lower limit ... as a
    percentage of the desiredCount"."""
    configuration = params.get("deploymentConfiguration") or {}
    minimum = configuration.get("minimumHealthyPercent")
    maximum = configuration.get("maximumPercent")
    if minimum is not None and (not _is_int(minimum) or not 0 <= minimum <= 100):
        # wording not verified against AWS
        raise InvalidParameterError("minimumHealthyPercent must be between 0 and 100.")
    if maximum is not None and (not _is_int(maximum) or maximum < 0):
        # wording not verified against AWS
        raise InvalidParameterError("maximumPercent must be greater than or equal to 0.")
    effective_minimum = current_minimum if minimum is None else minimum
    effective_maximum = current_maximum if maximum is None else maximum
    if effective_maximum < effective_minimum:
        # wording not verified against AWS
        raise InvalidParameterError(
            f"maximumPercent ({effective_maximum}) must be greater than or equal to minimumHealthyPercent "
            f"({effective_minimum}).")


def check_describe_services(params: Mapping[str, Any]) -> None:
    services = params.get("services") or []
    if len(services) > MAX_DESCRIBE_SERVICES:
        # wording: real ECS output quoted in public issues (structurely/ecs-autoscale#32, panther-labs/panther#1526)
        raise InvalidParameterError(f"service names can have at most {MAX_DESCRIBE_SERVICES} items.")


def check_desired_status(params: Mapping[str, Any]) -> str:
    """ListTasks' desiredStatus (default RUNNING); a value outside the model's enum is refused."""
    status = params.get("desiredStatus") or "RUNNING"
    if status not in DESIRED_STATUSES:
        # wording not verified against AWS (AWS's own validation layer words enum errors this way)
        raise InvalidParameterError(
            f"1 validation error detected: Value '{status}' at 'desiredStatus' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(DESIRED_STATUSES)}]")
    return status


def check_tags(params: Mapping[str, Any]) -> None:
    """At most 50 tags, unique keys (the model's tag restrictions; tags with the aws: prefix do not count)."""
    tags = params.get("tags") or []
    counted = [tag for tag in tags if not str((tag or {}).get("key", "")).lower().startswith("aws:")]
    if len(counted) > MAX_TAGS:
        # wording not verified against AWS
        raise InvalidParameterError(f"Too many tags: {len(counted)} (at most {MAX_TAGS} per resource).")
    keys = [(tag or {}).get("key") for tag in tags]
    if len(keys) != len(set(keys)):
        # wording not verified against AWS
        raise InvalidParameterError("Tag keys must be unique for each resource.")


def check_task_definition_active(status: str, *, operation: str) -> None:
    """An INACTIVE (deregistered) revision cannot start new tasks or be given to a service.

    The model (DeregisterTaskDefinition): "You can't use an INACTIVE task definition to run new tasks or create
    new services, and you can't update an existing service to reference an INACTIVE task definition." Real ECS
    answers "TaskDefinition is inactive": public logs quote it as an InvalidParameterException from RunTask and
    as a ClientException from UpdateService (CreateService: not found, taken as UpdateService's)."""
    if status == "ACTIVE":
        return
    if operation == "RunTask":
        raise InvalidParameterError("TaskDefinition is inactive")
    raise ClientError("TaskDefinition is inactive")


STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")


def check_strategy(params: Mapping[str, Any], *, current_strategy: str = "ROLLING",
                   has_advanced_configuration: bool = False) -> None:
    """deploymentConfiguration.strategy and its settings, within the ranges botocore's model documents:
    LinearConfiguration.stepPercent "multiples of 0.1 from 3.0 to 100.0", CanaryConfiguration.canaryPercent "from
    0.1 to 100.0", bake times "0 to 1440 minutes". A traffic-shifting strategy needs a load balancer with
    advancedConfiguration (alternateTargetGroupArn, productionListenerRule), which it shifts traffic through.
    Wording ours (not verified against AWS); each message names the field."""
    configuration = params.get("deploymentConfiguration") or {}
    strategy = configuration.get("strategy") or current_strategy
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"deploymentConfiguration.strategy {strategy!r} is not one of "
                                    f"{', '.join(STRATEGIES)}.")

    def minutes(value: Any, field: str) -> None:
        if value is not None and (not _is_int(value) or not 0 <= value <= 1440):
            raise InvalidParameterError(f"{field} must be an integer from 0 to 1440 minutes.")

    def percent(value: Any, field: str, low: float) -> None:
        if value is None:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= 100 or \
                abs(round(value * 10) - value * 10) > 1e-6:
            raise InvalidParameterError(f"{field} must be a multiple of 0.1 from {low} to 100.0.")

    minutes(configuration.get("bakeTimeInMinutes"), "deploymentConfiguration.bakeTimeInMinutes")
    linear = configuration.get("linearConfiguration") or {}
    percent(linear.get("stepPercent"), "linearConfiguration.stepPercent", 3.0)
    minutes(linear.get("stepBakeTimeInMinutes"), "linearConfiguration.stepBakeTimeInMinutes")
    canary = configuration.get("canaryConfiguration") or {}
    percent(canary.get("canaryPercent"), "canaryConfiguration.canaryPercent", 0.1)
    minutes(canary.get("canaryBakeTimeInMinutes"), "canaryConfiguration.canaryBakeTimeInMinutes")
    if strategy == "ROLLING":
        return
    balancers = params.get("loadBalancers")
    if balancers is None:
        if has_advanced_configuration:
            return
        balancers = []
    advanced = (balancers[0].get("advancedConfiguration") or {}) if balancers else {}
    for field in ("alternateTargetGroupArn", "productionListenerRule"):
        if not advanced.get(field):
            raise InvalidParameterError(
                f"deploymentConfiguration.strategy {strategy} needs loadBalancers[0].advancedConfiguration.{field}.")
