"""Is each learner's rootless Docker engine theirs alone? Real engines, real accounts, real containers.

Learner A runs the demo image on A's engine; then, as A, the test tries B's engine socket, B's container
processes, B's home and the root engine's socket, and asserts each is refused by the kernel.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from tests.conftest import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def as_learner(engine, *command, check=False):
    return subprocess.run(list(command), user=engine.account.uid, group=engine.account.gid, extra_groups=[],
                          env=engine.environment(), cwd=engine.account.home, capture_output=True, text=True,
                          timeout=60, check=check)


@pytest.fixture(scope="module")
def engines(classroom):
    from ecsdojo.classroom.accounts import find_account
    from ecsdojo.classroom.engine import LearnerEngine

    room, _ = classroom
    pair = []
    for name in ("dojotest01", "dojotest02"):
        engine = LearnerEngine(find_account(name))
        engine.start()
        engine.load_image(room.archive)
        pair.append(engine)
    yield pair
    for engine in pair:
        engine.remove_course_containers()


@pytest.fixture(scope="module")
def b_container(engines):
    """A demo container on B's engine, published on 127.0.0.1: (id, host port, host pid of its process)."""
    _, b = engines
    container = b.docker("run", "--detach", "--label", "ecsdojo.managed=true", "--publish", "127.0.0.1::8080",
                         "ecsdojo/app:latest").stdout.strip()
    port = int(b.docker("port", container, "8080/tcp").stdout.split(":")[-1])
    pid = int(b.docker("inspect", "--format", "{{.State.Pid}}", container).stdout)
    return container, port, pid


def answer(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_learner_engine_runs_the_loaded_demo_image_with_a_port_on_loopback(engines, b_container):
    _, b = engines
    _, port, _ = b_container
    assert b.image_id("ecsdojo/app:latest") is not None          # loaded from the shared archive, not built
    wait_for(lambda: answer(port), timeout=30, message="B's container to answer on 127.0.0.1")
    info = json.loads(b.docker("info", "--format", "{{json .SecurityOptions}}").stdout)
    assert any("rootless" in option for option in info)


def test_a_learner_cannot_list_or_use_another_learners_engine(engines, b_container):
    a, b = engines
    container, _, _ = b_container
    listed = as_learner(a, "docker", "--host", b.docker_host, "ps", "--quiet")
    assert listed.returncode != 0
    assert "permission denied" in listed.stderr.lower()
    stopped = as_learner(a, "docker", "--host", b.docker_host, "stop", container)
    assert stopped.returncode != 0
    own = as_learner(a, "docker", "ps", "--all", "--quiet", "--no-trunc", check=True)
    assert container not in own.stdout                      # A's own engine does not see B's containers


def test_a_learner_cannot_signal_another_learners_container(engines, b_container):
    a, b = engines
    container, port, pid = b_container
    killed = as_learner(a, "kill", "-KILL", str(pid))
    assert killed.returncode != 0
    assert "not permitted" in killed.stderr.lower()
    assert b.docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() == "true"
    wait_for(lambda: answer(port), timeout=10, message="B's container to still answer")


def test_a_learner_cannot_read_another_learners_home(engines):
    a, b = engines
    (b.account.home / "secret-notes.txt").write_text("B's work")
    listing = as_learner(a, "ls", str(b.account.home))
    reading = as_learner(a, "cat", str(b.account.home / "secret-notes.txt"))
    assert listing.returncode != 0 and "permission denied" in listing.stderr.lower()
    assert reading.returncode != 0 and "permission denied" in reading.stderr.lower()


def test_no_learner_process_can_open_the_root_docker_socket(engines):
    a, _ = engines
    probe = ("import socket\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             "try:\n    s.connect('/var/run/docker.sock'); print('connected')\n"
             "except PermissionError: print('refused')\n")
    done = as_learner(a, "python3", "-c", probe, check=True)
    assert done.stdout.strip() == "refused"
    cli = as_learner(a, "docker", "--host", "unix:///var/run/docker.sock", "ps")
    assert cli.returncode != 0 and "permission denied" in cli.stderr.lower()
