"""`docker exec` for DockerRuntime: a command inside a running container, captured or joined to a terminal.

Kept beside docker.py (which it serves) so that module stays readable. The docker SDK opens the exec and hands
back its raw socket; the SDK has no "attach my terminal" helper (the `docker` CLI does that in Go, and dockerpty,
the Python one, is unmaintained since 2016), so the copy loop below is ours: stdin → socket until EOF, socket →
stdout/stderr (Docker's 8-byte frame headers are read by the SDK's own `frames_iter`) until the command ends.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Sequence

from ecsdojo.runtime.base import ContainerStartError, ExecResult

__all__ = ["exec_captured", "exec_attached"]

_CHUNK = 4096


def _create(client, errors, container_id: str, command: Sequence[str], *, stdin: bool, tty: bool) -> str:
    try:
        return client.api.exec_create(container_id, list(command), stdin=stdin, stdout=True, stderr=True,
                                      tty=tty)["Id"]
    except errors.APIError as error:    # e.g. 409 "Container ... is not running"
        raise ContainerStartError(f"cannot exec in container {container_id[:12]}: "
                                  f"{error.explanation or error}") from error


def exec_captured(client, errors, container_id: str, command: Sequence[str]) -> ExecResult:
    """Run `command` without a terminal and wait for it; output is stdout and stderr as the command wrote them."""
    exec_id = _create(client, errors, container_id, command, stdin=False, tty=False)
    output = client.api.exec_start(exec_id, tty=False, stream=False, demux=False) or b""
    exit_code = client.api.exec_inspect(exec_id).get("ExitCode")
    return ExecResult(exit_code=int(exit_code if exit_code is not None else -1),
                      output=output.decode("utf-8", "replace"))


def exec_attached(client, errors, container_id: str, command: Sequence[str], *, stdin: int, stdout: int,
                  tty: bool) -> int:
    """Run `command` with its input and output joined to the file descriptors `stdin`/`stdout`; its exit code."""
    from docker.utils.socket import frames_iter

    exec_id = _create(client, errors, container_id, command, stdin=True, tty=tty)
    stream = client.api.exec_start(exec_id, tty=tty, socket=True)
    raw: socket.socket = getattr(stream, "_sock", stream)
    raw.settimeout(None)              # an idle shell is not a timeout (the client's HTTP timeout would apply)
    if tty and os.isatty(stdout):
        size = os.get_terminal_size(stdout)
        try:
            client.api.exec_resize(exec_id, height=size.lines, width=size.columns)
        except errors.APIError:       # a command that ended already; nothing to resize
            pass

    def copy_out() -> None:
        try:
            for stream_number, data in frames_iter(stream, tty):
                os.write(2 if stream_number == 2 else stdout, data)
        except OSError:
            pass

    reader = threading.Thread(target=copy_out, name="ecsdojo-exec-output", daemon=True)
    reader.start()
    try:
        stdin_open = True
        while reader.is_alive() and stdin_open:
            ready, _, _ = select.select([stdin], [], [], 0.1)
            if not ready:
                continue
            data = os.read(stdin, _CHUNK)
            if data:
                raw.sendall(data)
            else:                     # EOF: the command's stdin closes, its output keeps coming
                stdin_open = False
                try:
                    raw.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        reader.join()
    finally:
        try:
            stream.close()
        except OSError:
            pass
    exit_code = client.api.exec_inspect(exec_id).get("ExitCode")
    return int(exit_code if exit_code is not None else -1)
