"""`session-manager-plugin`: the course's LOCAL STAND-IN for AWS's Session Manager plugin (ECS Exec).

`aws ecs execute-command --interactive --command "/bin/sh"` (AWS CLI v1 and v2) first runs `session-manager-plugin`
with no arguments to check that it is installed, calls ECS's ExecuteCommand, then runs

    session-manager-plugin SESSION_JSON REGION StartSession PROFILE PARAMETERS_JSON ENDPOINT_URL

(awscli/customizations/ecs/executecommand.py). AWS's plugin (a Go program from Amazon, not on PyPI) would open a
websocket to the SSM agent in the container. This one, installed with ecsdojo as a console script, reads the
session that ECS Dojo's local ExecuteCommand made and opens the command in the container with the runtime's exec
(`docker exec`, a terminal when yours is one). It only works with ECS Dojo's local ECS: at work, install AWS's
plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html).
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]

INSTALLED = "The Session Manager plugin was installed successfully. Use the AWS CLI to start a session."
STAND_IN = "(ECS Dojo's local stand-in for AWS's session-manager-plugin: it only opens sessions of the local ECS.)"


def _fail(message: str) -> int:
    print(f"session-manager-plugin (ECS Dojo): {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    from ecsdojo.control.ecs.exec import TokenError, read_token

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(INSTALLED)          # what AWS's plugin prints when the CLI checks that it is installed
        print(STAND_IN)
        return 0
    if args[0] in ("--version", "-v", "--help", "-h"):
        print(STAND_IN)
        return 0
    try:
        session = json.loads(args[0])
        target = read_token(session.get("tokenValue", ""))
    except (ValueError, AttributeError, TokenError) as error:
        return _fail(f"cannot read the session the AWS CLI handed over: {error}")
    from ecsdojo.runtime import SIMULATED_EXEC_NOTE, ExecNotSupportedError, RuntimeError_, detect_runtime

    if target.runtime != "docker":
        return _fail(SIMULATED_EXEC_NOTE if target.runtime == "process" else
                     f"the session's containers are in the {target.runtime!r} runtime of another process; "
                     "only Docker containers can be reached from a terminal")
    session_id = session.get("sessionId", "")
    try:
        runtime = detect_runtime("docker")
    except RuntimeError_ as error:
        return _fail(str(error))
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    tty = os.isatty(stdin) and os.isatty(stdout)
    # as AWS's plugin does (observed output): a line when the session starts and one when it ends
    print(f"\nStarting session with SessionId: {session_id}\n", flush=True)
    saved = None
    if tty:
        import termios
        import tty as terminal

        saved = termios.tcgetattr(stdin)
        terminal.setraw(stdin)
    try:
        runtime.exec_attached(target.container_id, target.argv, stdin=stdin, stdout=stdout, tty=tty)
    except (ExecNotSupportedError, RuntimeError_) as error:
        return _fail(str(error))
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        runtime.close()
    print(f"\n\nExiting session with sessionId: {session_id}.\n", flush=True)
    return 0


if __name__ == "__main__":          # pragma: no cover
    sys.exit(main())
