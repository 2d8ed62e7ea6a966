"""`dojo up` cleans up however it ends: Ctrl-C, `dojo down`, a closed terminal (SIGHUP), a closed stdout pipe.

Runs on the simulated runtime (no Docker needed): what is checked is the command's own clean-up — its
state files, the export lines it leaves for the course's terminals, and its exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for


def start_up(home: Path) -> subprocess.Popen:
    env = {**os.environ, "DOJO_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "ecsdojo", "up", "--runtime", "process", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def wait_until_up(home: Path) -> dict:
    env_file = home / "up" / "env.sh"
    wait_for(env_file.exists, timeout=60, interval=0.2, message="dojo up's env.sh")
    return json.loads((home / "up" / "endpoint.json").read_text())


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=["hup", "term", "int"])
def test_dojo_up_cleans_up_on_every_ending_signal(tmp_path, signum):
    home = tmp_path / "home"
    up = start_up(home)
    try:
        info = wait_until_up(home)
        env_lines = (home / "up" / "env.sh").read_text().splitlines()
        assert f"export AWS_ENDPOINT_URL={info['endpoint']}" in env_lines
        assert f"export DOJO_UP_ENDPOINT={info['endpoint']}" in env_lines
        assert any(line.startswith("unset ") and "AWS_SESSION_TOKEN" in line for line in env_lines)
        os.kill(up.pid, signum)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert not (home / "up" / "endpoint.json").exists()
    assert not (home / "up" / "env.sh").exists()


def test_dojo_up_cleans_up_when_its_stdout_is_a_closed_pipe(tmp_path):
    """`dojo up | head -2`: once head exits, every print fails; the clean-up must still run."""
    home = tmp_path / "home"
    up = start_up(home)
    try:
        up.stdout.readline()
        up.stdout.readline()
        up.stdout.close()
        wait_until_up(home)
        os.kill(up.pid, signal.SIGTERM)
        up.wait(timeout=60)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert not (home / "up" / "endpoint.json").exists()
    assert not (home / "up" / "env.sh").exists()
