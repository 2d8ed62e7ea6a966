"""Is each learner's rootless Docker engine theirs alone? Real engines, real accounts, real containers.

Learner A runs the demo image on A's engine; then, as A, the test tries B's engine socket, B's container
processes, B's home and the root engine's socket, and asserts each is refused by the kernel.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from tests.classroom.conftest import LEARNERS
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
    for name in LEARNERS[:2]:
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


def test_without_cgroups_a_memory_hog_cannot_take_the_host(engines):
    """Rootless on cgroup v1: --memory is not enforced, so the engine caps each process's data segment instead."""
    from ecsdojo.classroom.engine import NO_CGROUP_DATA_LIMIT_BYTES, cgroup_v2

    if cgroup_v2():
        pytest.skip("cgroup v2 host: memory limits are enforced by the engine")
    a, _ = engines
    container = a.docker("run", "--detach", "--label", "ecsdojo.managed=true", "--publish", "127.0.0.1::8080",
                         "--memory", "64m", "ecsdojo/app:latest").stdout.strip()
    port = int(a.docker("port", container, "8080/tcp").stdout.split(":")[-1])
    wait_for(lambda: answer(port), timeout=30, message="the hog to answer")
    urllib.request.urlopen(f"http://127.0.0.1:{port}/oom", timeout=5).read()
    wait_for(lambda: "MemoryError" in a.docker("logs", container).stderr, timeout=30,
             message="the allocation to hit the data limit")
    pid = int(a.docker("inspect", "--format", "{{.State.Pid}}", container).stdout)
    rss_kib = int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")).split()[1])
    assert rss_kib * 1024 <= NO_CGROUP_DATA_LIMIT_BYTES + 64 * 2**20


def test_the_doctor_tells_a_learner_that_their_engine_enforces_no_limits(classroom, engines):
    from ecsdojo.classroom.engine import cgroup_v2

    room, _ = classroom
    a, _ = engines
    probe = "import docker; from ecsdojo.doctor import check_engine_limits; print(check_engine_limits(docker.from_env()))"
    done = as_learner(a, str(room.learner_python), "-c", probe, check=True)
    if cgroup_v2():
        assert done.stdout.strip() == "None"
    else:
        assert "limits are NOT enforced" in done.stdout and "ok=False" in done.stdout
