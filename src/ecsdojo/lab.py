"""`dojo lab`: JupyterLab bound to 127.0.0.1 on the first module, with its URL and token printed.

Example::

    command, url = lab_command(port=8888, token="abc")   # what `dojo lab` runs
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRST_NOTEBOOKS = ("notebooks/00_start_here.ipynb",)


def first_notebook(root: Path = REPO) -> str | None:
    """notebooks/00_start_here.ipynb, or the first module until that exists."""
    for candidate in FIRST_NOTEBOOKS:
        if (root / candidate).exists():
            return candidate
    modules = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return str(modules[0].relative_to(root)) if modules else None


def free_port(preferred: int = 8888) -> int:
    for port in dict.fromkeys((preferred, 0)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def lab_command(*, port: int, token: str, root: Path = REPO, open_path: str | None = None) -> tuple[list[str], str]:
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--port-retries=0", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")   # containers and CI machines often run as root
    if open_path:
        command.append(open_path)
    path = f"lab/tree/{open_path}" if open_path else "lab"
    return command, f"http://127.0.0.1:{port}/{path}?token={token}"


def _lab_command(args) -> int:
    port = free_port(args.port)
    token = args.token or secrets.token_hex(16)
    command, url = lab_command(port=port, token=token, open_path=first_notebook())
    print(f"JupyterLab on 127.0.0.1 only. Open:\n\n    {url}\n\n(Ctrl-C stops it.)", flush=True)
    env = dict(os.environ)
    env.setdefault("DOJO_REPO", str(REPO))
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def register(commands) -> None:
    parser = commands.add("lab", help="start JupyterLab on 127.0.0.1 at the first module", handler=_lab_command)
    parser.add_argument("--port", type=int, default=8888, help="preferred port (a free one is used if taken)")
    parser.add_argument("--token", default=None, help="access token (default: random)")
