"""moto's SSM Parameter Store and Secrets Manager, read as the ECS agent reads a task's `secrets`.

`read_secret(region, value_from)` returns the secret's value, or raises `SecretUnavailable` with the AWS error
the agent would have got (its code and message) for the engine to word as ECS does (control/events.py).

`valueFrom` forms (Amazon ECS Developer Guide, "Pass sensitive data to an Amazon ECS container"):
- Parameter Store: a parameter's ARN (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`), or its name when the
  parameter is in the task's region;
- Secrets Manager: a secret's ARN, optionally followed by `:json-key:version-stage:version-id`
  (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:password::`), or its name.

Example::

    read_secret("us-east-1", "/db/password")            # Parameter Store (decrypted, as ECS passes it)
"""

from __future__ import annotations

import json

from ecsdojo.cloud import ACCOUNT_ID

__all__ = ["read_secret", "SecretUnavailable", "secret_source"]


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


def read_secret(region: str, value_from: str) -> str:
    region = _region_of(value_from, region)
    if secret_source(value_from) == "asm":
        return _secrets_manager(region, value_from)
    return _parameter_store(region, value_from)


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
