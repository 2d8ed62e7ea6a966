"""ECS Exec: ExecuteCommand's rules, and the session handed to the (course's) session-manager-plugin.

On AWS, ExecuteCommand returns an SSM session (sessionId, streamUrl, tokenValue); the AWS CLI then runs the
executable `session-manager-plugin` with that session as JSON, and the plugin opens a websocket to the SSM agent
inside the container. Here the course ships its own local `session-manager-plugin` (ecsdojo.session_manager_plugin):
the token it receives names the runtime, the container and the command, and it opens the command with the
runtime's exec (`docker exec`). The token is a plain base64 JSON, not a secret: the plugin only ever execs in a
container carrying our labels.

Example::

    session = new_session(region="us-east-1", runtime="docker", container_id="3f2a...", command="/bin/sh")
    target = read_token(session["tokenValue"])      # ExecTarget(runtime="docker", container_id=..., argv=("/bin/sh",))
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
from dataclasses import dataclass

__all__ = ["EXEC_NOT_ENABLED", "ExecTarget", "new_session", "read_token", "command_argv", "TokenError"]

# wording: real ECS responses quoted in public issues (fabfuel/ecs-deploy#193, keidarcy/e1s#206), an
# InvalidParameterException; the apostrophe is ECS's typographic one.
EXEC_NOT_ENABLED = ("The execute command failed because execute command was not enabled when the task was run or "
                    "the execute command agent isn\u2019t running. Wait and try again or run a new task with execute "
                    "command enabled and try again.")
# botocore's model (ExecuteCommandResponse.interactive): "Amazon ECS only supports initiating interactive sessions,
# so you must specify true for this value." The wording of the refusal is ours.
NOT_INTERACTIVE = "Interactive mode is required: Amazon ECS only supports initiating interactive sessions."
MULTIPLE_CONTAINERS = ("The task has more than one container; specify the container to run the command in "
                       "(--container NAME).")          # wording ours: the model says a name is needed then
TOKEN_PREFIX = "ecsdojo-exec:"


class TokenError(ValueError):
    """A session token our plugin cannot read (not made by this course's ExecuteCommand)."""


@dataclass(frozen=True)
class ExecTarget:
    runtime: str                 # "docker" | "process" | "fake": which runtime holds the container
    container_id: str
    argv: tuple[str, ...]


def command_argv(command: str) -> tuple[str, ...]:
    """ECS Exec runs the command as given, without a shell (pipes and `&&` need `sh -c "..."`, as the ECS
    developer guide's examples do); split it as a POSIX shell would split words."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError as error:
        raise ValueError(f"cannot split the command {command!r}: {error}") from error
    if not argv:
        raise ValueError("the command is empty")
    return argv


def new_session(*, region: str, runtime: str, container_id: str, command: str) -> dict[str, str]:
    """The `session` of an ExecuteCommand reply, shaped like ECS's (an SSM session id, stream URL and token)."""
    session_id = f"ecs-execute-command-{secrets.token_hex(8)}"
    body = {"runtime": runtime, "container": container_id, "argv": list(command_argv(command))}
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    return {"sessionId": session_id,
            # the shape of SSM's stream URL; nothing connects to it here (the plugin reads the token instead)
            "streamUrl": f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{session_id}"
                         f"?role=publish_subscribe",
            "tokenValue": token}


def read_token(token: str) -> ExecTarget:
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise TokenError("this session was not opened by ECS Dojo's local ECS (its token is not ours)")
    try:
        body = json.loads(base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):].encode()))
        return ExecTarget(runtime=str(body["runtime"]), container_id=str(body["container"]),
                          argv=tuple(str(part) for part in body["argv"]))
    except (ValueError, KeyError, TypeError) as error:
        raise TokenError(f"the session token is malformed: {error}") from error
