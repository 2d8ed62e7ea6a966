"""A task's `secrets`, resolved at start as the ECS agent does, and injected as environment variables.

Each container definition's `secrets[]` (`name`, `valueFrom`) is read from Parameter Store or Secrets Manager
(moto) when the task starts — with the execution role on ECS — and passed to the container as the environment
variable `name`. A secret that cannot be read stops the task before any container starts (TaskFailedToStart,
ECS's "ResourceInitializationError: unable to pull secrets or registry auth: ..." in control/events.py).
Values are read once, at start: changing a secret changes only tasks started afterwards, as on ECS (Amazon ECS
Developer Guide, "Pass sensitive data to an Amazon ECS container": a running task keeps the value it started
with; new tasks, e.g. after `update-service --force-new-deployment`, get the new one).

The read is judged against the task definition's `executionRoleArn` policies (`ssm:GetParameters`,
`secretsmanager:GetSecretValue`; control/moto/secrets.py): a missing permission, or no execution role, fails the
task's start with the same ResourceInitializationError wording, its detail the AccessDeniedException.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecsdojo.control import events
from ecsdojo.control.moto.secrets import SecretUnavailable
from ecsdojo.control.moto.views import TaskDefinitionView

__all__ = ["SecretReader", "secret_environments"]

# (region, valueFrom, executionRoleArn) -> value; raises SecretUnavailable
SecretReader = Callable[[str, str, str | None], str]


def secret_environments(definition: TaskDefinitionView, *, region: str, read: SecretReader,
                        execution_role_arn: str | None = None
                        ) -> tuple[dict[str, dict[str, str]], tuple[str, str] | None]:
    """({container name: {variable: value}}, None), or ({}, (container name, stopped reason)) at the first
    secret that cannot be read. Read with `execution_role_arn` (RunTask's override, the task's record), else the
    definition's executionRoleArn."""
    role = execution_role_arn or definition.execution_role_arn
    environments: dict[str, dict[str, str]] = {}
    for container in definition.containers():
        secrets: list[dict[str, Any]] = container.get("secrets") or []
        for secret in secrets:
            try:
                value = read(region, str(secret.get("valueFrom", "")), role)
            except SecretUnavailable as error:
                return {}, (container["name"], events.secrets_unavailable_reason(error.source, error.detail))
            environments.setdefault(container["name"], {})[str(secret["name"])] = value
    return environments, None
