"""moto's SSM Parameter Store and Secrets Manager, read as the ECS agent reads a task's `secrets`.

`read_secret(region, value_from)` returns the secret's value, or raises `SecretUnavailable` with the AWS error
the agent would have got (its code and message) for the engine to word as ECS does (control/events.py).

`valueFrom` forms (Amazon ECS Developer Guide, "Pass sensitive data to an Amazon ECS container"):
- Parameter Store: a parameter's ARN (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`), or its name when the
  parameter is in the task's region;
- Secrets Manager: a secret's ARN, optionally followed by `:json-key:version-stage:version-id`
  (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:password::`), or its name.

The read is made with the task definition's execution role, as the agent makes it: the role's policies must
allow `ssm:GetParameters` on the parameter or `secretsmanager:GetSecretValue` on the secret (Amazon ECS Developer
Guide, "Amazon ECS task execution IAM role", section on Secrets Manager / Systems Manager permissions), judged by
moto's IAM evaluation (control/moto/iam.py `role_denial`) before the value is looked up, as IAM answers
AccessDenied before the service looks for the secret. No execution role: the agent has no credentials to call with.

Example::

    read_secret("us-east-1", "/db/password", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
"""

from __future__ import annotations

import json

from ecsdojo.cloud import ACCOUNT_ID
from ecsdojo.control.moto.iam import role_denial

__all__ = ["read_secret", "SecretUnavailable", "secret_source", "NO_CREDENTIALS"]

# What the agent's AWS SDK for Go answers when it has no credentials to sign with (the SDK's own error text; that
# ECS shows it inside the secrets wording for a task without an execution role is observed, not AWS-documented).
NO_CREDENTIALS = "NoCredentialProviders: no valid providers in chain"


class SecretUnavailable(Exception):
    """The secret could not be read; `source` is "ssm" or "asm" (the agent's words), `detail` the AWS error."""

    def __init__(self, source: str, value_from: str, detail: str) -> None:
        self.source, self.value_from, self.detail = source, value_from, detail
        super().__init__(f"{source}: {value_from}: {detail}")


def secret_source(value_from: str) -> str:
    """ "asm" for Secrets Manager ARNs, else "ssm" (names and parameter ARNs)."""
    return "asm" if value_from.startswith("arn:") and ":secretsmanager:" in value_from else "ssm"


def _region_of(value_from: str, default: str) -> str:
    parts = value_from.split(":")
    return parts[3] if value_from.startswith("arn:") and len(parts) > 3 and parts[3] else default


def read_secret(region: str, value_from: str, execution_role_arn: str | None) -> str:
    region = _region_of(value_from, region)
    if secret_source(value_from) == "asm":
        _check_role(execution_role_arn, "secretsmanager:GetSecretValue", _secret_arn(region, value_from),
                    lambda denial: SecretUnavailable("asm", value_from, f"failed to fetch secret "
                                                     f"{':'.join(value_from.split(':')[:7])} from secrets manager: "
                                                     f"{denial}"), region)
        return _secrets_manager(region, value_from)
    _check_role(execution_role_arn, "ssm:GetParameters", _parameter_arn(region, value_from),
                lambda denial: SecretUnavailable("ssm", value_from, denial), region)
    return _parameter_store(region, value_from)


def _check_role(role_arn: str | None, action: str, resource: str, unavailable, region: str) -> None:
    denial = NO_CREDENTIALS if not role_arn else role_denial(role_arn, action, resource, region=region)
    if denial is not None:
        raise unavailable(denial)


def _parameter_arn(region: str, value_from: str) -> str:
    if value_from.startswith("arn:"):
        return value_from
    return f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{value_from.lstrip('/')}"


def _secret_arn(region: str, value_from: str) -> str:
    """The secret's ARN (IAM judges GetSecretValue on it): given, or looked up by name in moto."""
    if value_from.startswith("arn:"):
        return ":".join(value_from.split(":")[:7])
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        return secretsmanager_backends[ACCOUNT_ID][region].describe_secret(value_from).arn
    except Exception:  # noqa: BLE001 - not found: IAM still judges the call, on the name's would-be ARN
        return f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{value_from}"


def _parameter_store(region: str, value_from: str) -> str:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[ACCOUNT_ID][region]
    name = value_from.split(":parameter", 1)[1] if value_from.startswith("arn:") else value_from
    try:
        parameter = backend.get_parameter(name)
    except Exception as error:  # noqa: BLE001 - moto's ParameterVersionNotFound etc.: the agent's "invalid"
        raise SecretUnavailable("ssm", value_from, f"invalid parameters: {value_from} ({error})") from error
    if parameter is None:
        raise SecretUnavailable("ssm", value_from, f"invalid parameters: {value_from}")
    return parameter.response_object(decrypt=True, region=region)["Value"]


def _secrets_manager(region: str, value_from: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = value_from.split(":")
    secret_id = ":".join(parts[:7])
    json_key, stage, version = (parts[7:10] + ["", "", ""])[:3]
    backend = secretsmanager_backends[ACCOUNT_ID][region]
    try:
        body = backend.get_secret_value(secret_id, version or None, stage or None)
    except Exception as error:  # noqa: BLE001 - moto's SecretNotFoundException and friends carry AWS's words
        code = getattr(error, "error_type", None) or getattr(error, "code", None) or type(error).__name__
        message = getattr(error, "message", None) or str(error)
        raise SecretUnavailable("asm", value_from, f"failed to fetch secret {secret_id} from secrets manager: "
                                                   f"{code}: {message}") from error
    text = body.get("SecretString") or ""
    if not json_key:
        return text
    try:
        return str(json.loads(text)[json_key])
    except (ValueError, KeyError, TypeError) as error:
        raise SecretUnavailable("asm", value_from, f"retrieved secret from Secrets Manager did not contain json "
                                                   f"key {json_key}") from error
