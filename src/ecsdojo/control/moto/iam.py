"""moto's STS and IAM as a task's role needs them: temporary credentials, and IAM enforced on a task's requests.

- `task_role_credentials(role_arn, session_name)`: STS AssumeRole in moto, as the ECS agent gets a task role's
  credentials (Amazon ECS Developer Guide, "Amazon ECS task IAM role"). moto does not check that the role exists
  or trusts ecs-tasks.amazonaws.com (its `assume_role` docstring says so).
- `enforce_iam_on_marked_requests()`: moto can check signatures and IAM policies on requests (its
  `INITIAL_NO_AUTH_ACTION_COUNT` setting, moto/core/authorization.py), but that switch is process-wide: it would
  also judge the engine's and the notebook's calls, signed with fake keys no IAM user owns. Instead, requests that
  carry `IAM_MARKER_HEADER` are always authenticated and authorized (the same IAMRequest / S3IAMRequest checks
  moto runs when the switch is on) and every other request keeps moto's own behaviour. The only way into moto
  that adds the marker is the task agent's relay (control/agent/server.py), so a container's calls are judged
  by its task role's policies, and nothing else changes.
- `role_denial(role_arn, action, resource)`: whether a role's policies allow an action, judged by moto's own IAM
  evaluation (moto/iam/access_control.py, IAMRequest.check_action_permitted over the role's inline and attached
  policies) for the engine's calls made "with the execution role" (a task's `secrets`, control/ecs/secrets.py).
  The engine holds the role's moto STS credentials itself, so no signature is checked, only the policies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlparse

from ecsdojo.cloud import ACCOUNT_ID

__all__ = ["IAM_MARKER_HEADER", "RoleCredentials", "task_role_credentials", "enforce_iam_on_marked_requests",
           "role_denial"]

IAM_MARKER_HEADER = "X-Ecsdojo-Enforce-Iam"
CREDENTIALS_DURATION_S = 6 * 3600        # the agent refreshes well before ECS's credentials expire; we never do
_installed = threading.Lock()
_done: list[bool] = []


@dataclass(frozen=True)
class RoleCredentials:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    token: str
    expiration: datetime


def task_role_credentials(role_arn: str, session_name: str, *, region: str = "us-east-1") -> RoleCredentials:
    """Temporary credentials of `role_arn` from moto's STS (AssumeRole)."""
    from moto.sts.models import sts_backends

    role = sts_backends[ACCOUNT_ID]["aws"].assume_role(
        region_name=region, role_session_name=session_name[:64], role_arn=role_arn, policy="",
        duration=CREDENTIALS_DURATION_S, external_id="")
    return RoleCredentials(role_arn=role_arn, access_key_id=role.access_key_id,
                           secret_access_key=role.secret_access_key, token=role.session_token,
                           expiration=role.expiration)


def role_denial(role_arn: str, action: str, resource: str, *, region: str = "us-east-1") -> str | None:
    """None when `role_arn`'s policies allow `action` ("ssm:GetParameters") on `resource`; else the error AWS's
    caller would get, as "Code: message" (moto's AccessDenied, or NoSuchEntity for a role that does not exist).

    The role's credentials come from moto's STS (AssumeRole, as the ECS agent gets the execution role's), and an
    IAMRequest built from them is asked `check_action_permitted`: moto evaluates the policies, we write none of
    that evaluation (explicit Deny wins, an Allow is needed, wildcards and conditions as moto matches them).
    The message is moto's "User: ARN is not authorized to perform: ACTION" plus " on resource: R", the shape of
    AWS's AccessDenied messages (IAM User Guide, "Troubleshoot access denied error messages"), without AWS's
    trailing "because no identity-based policy allows ..." (moto does not say which case applied). The session
    name "ecs-execution" is ours (the agent's own session name is not documented)."""
    from moto.core.exceptions import _RESTError
    from moto.iam.access_control import IAMRequest

    service, _, operation = action.partition(":")
    try:
        credentials = task_role_credentials(role_arn, "ecs-execution", region=region)   # as the agent does
        headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/"
                                    f"{datetime.now(timezone.utc):%Y%m%d}/{region}/{service}/aws4_request, "
                                    "SignedHeaders=host, Signature=unchecked",
                   "X-Amz-Security-Token": credentials.token}
        request = IAMRequest(account_id=ACCOUNT_ID, method="POST", path="/", data={}, body=b"", headers=headers,
                             action=operation)
        request.check_action_permitted(resource)
    except _RESTError as error:
        code = "AccessDeniedException" if error.error_type == "AccessDenied" else error.error_type
        message = error.message
        if error.error_type == "AccessDenied":
            message += f" on resource: {resource}"      # AWS's form: "... is not authorized to perform: A on resource: R"
        return f"{code}: {message}"
    return None


def enforce_iam_on_marked_requests() -> None:
    """Patch moto (once per process) so requests carrying IAM_MARKER_HEADER are judged by IAM."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import _RESTError

    with _installed:
        if _done:
            return
        original = ActionAuthenticatorMixin._authenticate_and_authorize_action

        def authenticate_and_authorize(self, iam_request_cls: type, resource: str = "*") -> None:
            headers = getattr(self, "headers", None) or {}
            if not headers.get(IAM_MARKER_HEADER):
                return original(self, iam_request_cls, resource)
            if headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
                return None
            if not headers.get("Authorization"):
                _raise_missing_authentication(self)
            # As moto's own enforced branch (moto/core/authorization.py), without its process-wide counter.
            path = self.raw_path
            query = urlparse(self.uri).query
            if query:
                path += "?" + query
            try:
                request = iam_request_cls(account_id=self.current_account, method=self.method, path=path,
                                          data=self.data, body=self.raw_body, headers=self.headers,
                                          action=self._get_action())
                request.check_signature()
                request.check_action_permitted(resource)
            except _RESTError as error:
                if not headers.get("X-Amz-Target"):
                    raise
                raise _json_error(error) from None     # ECS, Logs, SSM, ...: the JSON protocol's error shape
            return None

        ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize
        _done.append(True)


# moto raises its query-protocol (XML) errors for every service, which a JSON-protocol client cannot parse (boto3
# reports the bare HTTP status as the code). The JSON services answer with these codes (e.g. the ECS API
# reference, "Common Errors": AccessDeniedException, UnrecognizedClientException, InvalidSignatureException).
JSON_ERROR_CODES = {"AccessDenied": "AccessDeniedException", "InvalidClientTokenId": "UnrecognizedClientException",
                    "SignatureDoesNotMatch": "InvalidSignatureException"}


def _json_error(error):
    from moto.core.exceptions import JsonRESTError

    converted = JsonRESTError(JSON_ERROR_CODES.get(error.error_type, error.error_type), error.message)
    converted.code = 400
    return converted


def _raise_missing_authentication(_handler: object) -> None:
    """An unsigned request from a task (no task role, so no credentials): AWS answers MissingAuthenticationToken."""
    from moto.core.exceptions import _RESTError

    class MissingAuthenticationToken(_RESTError):
        code = 403

        def __init__(self) -> None:
            super().__init__("MissingAuthenticationToken", "Request is missing Authentication Token")

    raise MissingAuthenticationToken()
