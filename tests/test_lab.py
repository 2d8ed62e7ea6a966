"""`dojo lab` brings JupyterLab up on 127.0.0.1: start it, poll its API, stop it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from ecsdojo.lab import first_notebook, lab_command
from tests.conftest import ROOT, wait_for


def test_lab_command_binds_loopback_and_opens_the_first_module():
    command, url = lab_command(port=8899, token="t0k", open_path="notebooks/00_start_here.ipynb")
    assert "--ip=127.0.0.1" in command
    assert url == "http://127.0.0.1:8899/lab/tree/notebooks/00_start_here.ipynb?token=t0k"


def test_first_notebook_falls_back_to_the_first_module(tmp_path):
    (tmp_path / "notebooks").mkdir()
    assert first_notebook(tmp_path) is None
    (tmp_path / "notebooks" / "02_task_definitions.ipynb").write_text("{}")
    (tmp_path / "notebooks" / "01_docker_limits.ipynb").write_text("{}")
    assert first_notebook(tmp_path) == "notebooks/01_docker_limits.ipynb"
    (tmp_path / "notebooks" / "00_start_here.ipynb").write_text("{}")
    assert first_notebook(tmp_path) == "notebooks/00_start_here.ipynb"


@pytest.mark.slow
def test_dojo_lab_serves_jupyterlab_on_loopback(tmp_path):
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    process = subprocess.Popen([sys.executable, "-m", "ecsdojo", "lab", "--port", "0", "--token", "secret123"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        first_line = ""
        while "http://" not in first_line:
            first_line = process.stdout.readline()
            assert first_line, "dojo lab exited before printing its URL"
        url = re.search(r"http://\S+", first_line).group(0)
        assert url.startswith("http://127.0.0.1:") and url.endswith("token=secret123")
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", url).group(1))

        def status():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=secret123", timeout=2) as r:
                    return json.loads(r.read())
            except OSError:
                return None

        body = wait_for(status, timeout=60, interval=0.3, message="JupyterLab's /api/status")
        assert "started" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=secret123", timeout=10) as response:
            assert response.status == 200 and b"JupyterLab" in response.read()
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if listening:   # `ss` is present: the socket is on 127.0.0.1 only
            assert all("127.0.0.1:" in line for line in listening.splitlines() if line.strip())
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
