"""The demo service (labs/app/app.py), run as a plain subprocess: every endpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT, wait_for

APP = ROOT / "labs" / "app" / "app.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, timeout: float = 3.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def app_process():
    """Start the demo service on a free loopback port; yields (process, port)."""
    processes = []

    def start(**env: str):
        port = free_port()
        environment = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **env}
        process = subprocess.Popen([sys.executable, str(APP)], env=environment, stderr=subprocess.PIPE)
        processes.append(process)

        def answers():
            try:
                return get(port, "/health", timeout=0.5)[0] == 200
            except OSError:
                return False

        wait_for(answers, timeout=10, message="the demo service to answer /health")
        return process, port

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_root_reports_identity_version_and_request_count(app_process):
    _, port = app_process(APP_VERSION="v7", ECS_SERVICE="web", ECS_TASK_ARN="arn:task/1")
    status, first = get(port, "/")
    _, second = get(port, "/")
    assert status == 200
    assert first["version"] == "v7" and first["ecs_service"] == "web" and first["ecs_task_arn"] == "arn:task/1"
    assert second["requests"] == first["requests"] + 1
    assert first["hostname"] == socket.gethostname()


def test_version_and_health_endpoints(app_process):
    _, port = app_process(APP_VERSION="v2")
    assert get(port, "/version") == (200, {"version": "v2"})
    assert get(port, "/health")[1]["status"] == "ok"
    assert get(port, "/nope")[0] == 404


def test_crash_exits_with_the_requested_code(app_process):
    process, port = app_process()
    get(port, "/crash?code=7")
    assert process.wait(timeout=10) == 7


def test_hang_keeps_the_process_alive_but_health_stops_answering(app_process):
    process, port = app_process()
    assert get(port, "/hang")[1] == {"hanging": True}
    with pytest.raises(OSError):
        get(port, "/health", timeout=1.0)
    assert process.poll() is None
    assert get(port, "/version")[0] == 200   # other endpoints still answer, as a wedged health path would


def test_cpu_burns_for_the_requested_time(app_process):
    _, port = app_process()
    _, body = get(port, "/cpu?ms=150")
    assert body["burned_ms"] >= 150


def test_oom_allocates_memory_steadily():
    """/oom keeps allocating (bounded here by an address-space limit; in a container the cgroup kills it)."""
    port = free_port()
    limit = 256 * 1024 * 1024
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    code = ("import resource,runpy,sys; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
            "sys.argv=[%r]; runpy.run_path(%r, run_name='__main__')" % (limit, limit, str(APP), str(APP)))
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _answers(port), timeout=10, message="the demo service")
        get(port, "/oom")
        wait_for(lambda: _rss_mib(process.pid) > 64, timeout=10, message="resident memory to pass 64 MiB")
    finally:
        process.kill()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        return get(port, "/health", timeout=0.5)[0] == 200
    except OSError:
        return False


def _rss_mib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return 0
    return 0


def test_sigterm_stops_it_promptly(app_process):
    process, _ = app_process()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_app_exit_at_start_exits_with_that_code_before_listening():
    """A task that crashes on start: the same on Docker and on the simulated runtime."""
    result = subprocess.run([sys.executable, str(APP)], env={**os.environ, "APP_EXIT_AT_START": "2", "PORT": "0"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "APP_EXIT_AT_START=2" in result.stderr and "listening" not in result.stderr
