"""`dojo lab` brings JupyterLab up on 127.0.0.1: start it, poll its API, stop it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ecsdojo.lab import LAB_SETTINGS, first_notebook, install_lab_settings, lab_launch
from tests.conftest import ROOT, wait_for


def test_lab_binds_loopback_and_opens_the_first_module(tmp_path):
    launch = lab_launch(port=8899, token="t0k", open_path="notebooks/00_start_here.ipynb", home=tmp_path)
    config_path = tmp_path / "lab" / "jupyter_server_config.json"
    assert f"--config={config_path}" in launch.command
    config = json.loads(config_path.read_text())
    assert config["ServerApp"]["ip"] == "127.0.0.1" and config["ServerApp"]["port"] == 8899
    assert launch.url == "http://127.0.0.1:8899/lab/tree/notebooks/00_start_here.ipynb?token=t0k"


def test_the_token_is_not_on_the_command_line(tmp_path):
    """Any user of a shared server can read command lines with `ps`; the token travels in the environment."""
    launch = lab_launch(port=8899, token="s3cret-token", home=tmp_path)
    assert not any("s3cret-token" in arg for arg in launch.command)
    assert launch.env["JUPYTER_TOKEN"] == "s3cret-token"


def test_terminals_get_the_course_tools_first_on_path(tmp_path):
    launch = lab_launch(port=8899, token="t", home=tmp_path)
    config = json.loads((tmp_path / "lab" / "jupyter_server_config.json").read_text())
    shell = config["ServerApp"]["terminado_settings"]["shell_command"]
    rcfile = Path(shell[shell.index("--rcfile") + 1])
    bin_dir = Path(sys.executable).parent
    assert launch.env["PATH"].split(os.pathsep)[0] == str(bin_dir)
    # An interactive bash with that rcfile, as JupyterLab's terminal starts it, finds the course's dojo and aws,
    # and picks up `dojo up`'s variables at the next prompt.
    up = tmp_path / "up"
    up.mkdir()
    (up / "env.sh").write_text("export AWS_ENDPOINT_URL=http://127.0.0.1:4599\nexport DOJO_UP_ENDPOINT=x\n")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    script = "command -v dojo; command -v aws; __dojo_up_env; echo endpoint=$AWS_ENDPOINT_URL\n"
    result = subprocess.run([*shell], input=script, env=env, capture_output=True, text=True, timeout=30)
    lines = result.stdout.splitlines()
    assert str(bin_dir / "dojo") in lines and str(bin_dir / "aws") in lines, result.stdout + result.stderr
    assert "endpoint=http://127.0.0.1:4599" in lines


def test_the_news_question_is_switched_off(tmp_path):
    path = install_lab_settings(tmp_path)
    assert path == tmp_path / "share/jupyter/lab/settings/overrides.d/ecsdojo.json"
    settings = json.loads(path.read_text())
    assert settings == LAB_SETTINGS
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_a_taken_port_is_an_error_naming_a_free_one(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "ecsdojo", "lab", "--port", str(port)], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "DOJO_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "make lab PORT=" in result.stderr


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
        lines = []
        while not lines or "http://" not in lines[-1]:
            lines.append(process.stdout.readline())
            assert lines[-1], "dojo lab exited before printing its URL"
        assert len(lines) <= 3, lines          # a short start: one line, then the URL line
        url = re.search(r"http://\S+", lines[-1]).group(0)
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
