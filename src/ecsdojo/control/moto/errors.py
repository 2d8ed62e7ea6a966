"""The one place where our errors become moto's (and so AWS-shaped responses for boto3 and the AWS CLI).

Code above this package raises plain exceptions that carry an AWS error ``code`` and ``message``
(`AwsError` here, `ecsdojo.taskdef.TaskDefinitionError`); the interception wrappers of this package turn them
into moto's `JsonRESTError`, which moto's server answers with HTTP 400 and ``{"__type": code, "message": ...}``.

Example::

    raise InvalidParameterError("The referenced task was not found.")
    # boto3: botocore.exceptions.ClientError: ... (InvalidParameterException) ... The referenced task was not found.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AwsError", "ClientError", "InvalidParameterError", "ValidationError", "ObjectNotFoundError",
           "ClusterContainsServicesError", "ClusterContainsTasksError", "ServiceNotActiveError", "ServiceNotFoundError", "ServiceDeploymentNotFoundError", "ConflictError", "TargetNotConnectedError",
           "as_moto_error"]


class AwsError(Exception):
    """An error with an AWS error code; the message is what the learner sees."""

    code = "ClientException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(AwsError):
    """ECS's ClientException (a bad request from the caller)."""

    code = "ClientException"


class InvalidParameterError(AwsError):
    """ECS's InvalidParameterException."""

    code = "InvalidParameterException"


class ClusterContainsServicesError(AwsError):
    """DeleteCluster while the cluster still has ACTIVE (or DRAINING) services."""

    code = "ClusterContainsServicesException"

    def __init__(self, message: str = "The Cluster cannot be deleted while Services are active.") -> None:
        # wording: quoted from real ECS responses in public issues (e.g. rebuy-de/aws-nuke#231)
        super().__init__(message)


class ClusterContainsTasksError(AwsError):
    """DeleteCluster while the cluster still has active tasks."""

    code = "ClusterContainsTasksException"

    def __init__(self, message: str = "The Cluster cannot be deleted while Tasks are active.") -> None:
        # wording: quoted from a real ECS response in gruntwork-io/cloud-nuke#368
        super().__init__(message)


class ServiceNotActiveError(AwsError):
    """UpdateService on a service that is not ACTIVE (deleted: DRAINING or INACTIVE)."""

    code = "ServiceNotActiveException"

    def __init__(self, message: str = "Service was not ACTIVE.") -> None:
        # wording: quoted from real ECS responses in public deployment logs ("ServiceNotActiveException:
        # Service was not ACTIVE.")
        super().__init__(message)


class TargetNotConnectedError(AwsError):
    """ExecuteCommand cannot reach the container's command agent (ECS: TargetNotConnectedException)."""

    code = "TargetNotConnectedException"


class ServiceNotFoundError(AwsError):
    """ECS's ServiceNotFoundException (the service does not exist in the cluster)."""

    code = "ServiceNotFoundException"

    def __init__(self, message: str = "Service not found.") -> None:
        # wording: as moto words ServiceNotFoundException (ECS's own sentence is not documented)
        super().__init__(message)


class ServiceDeploymentNotFoundError(AwsError):
    """StopServiceDeployment with an ARN that names no service deployment (our wording)."""

    code = "ServiceDeploymentNotFoundException"

    def __init__(self, message: str = "The service deployment does not exist.") -> None:
        super().__init__(message)


class ConflictError(AwsError):
    """ECS's ConflictException: the request conflicts with the resource's state (StopServiceDeployment on a
    finished deployment)."""

    code = "ConflictException"


class ValidationError(AwsError):
    """Application Auto Scaling's (and CloudWatch's) ValidationException."""

    code = "ValidationException"


class ObjectNotFoundError(AwsError):
    """Application Auto Scaling's ObjectNotFoundException."""

    code = "ObjectNotFoundException"


def as_moto_error(error: BaseException) -> BaseException:
    """The moto exception for one of ours (anything with a string ``code`` and ``message``), else `error`."""
    from moto.core.exceptions import JsonRESTError

    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if isinstance(error, JsonRESTError) or not isinstance(code, str) or not isinstance(message, str):
        return error
    return JsonRESTError(code, message)


def call_mapping_errors(call: Any, *args: Any) -> Any:
    """call(*args), with our AWS-shaped errors raised as moto's."""
    try:
        return call(*args)
    except Exception as error:  # noqa: BLE001 - re-raised, only its class changes
        mapped = as_moto_error(error)
        if mapped is error:
            raise
        raise mapped from error
