"""Does `dojo classroom` give each learner their own working ECS Dojo behind a real JupyterHub on 127.0.0.1?

Three learners' servers are spawned through the hub's REST API. For each: the server runs as the learner, with
DOCKER_HOST on their own engine and DOJO_HOME in their own home; their copy of the course is in ~/ecs-dojo; and
module 00 (the solved version, as a learner who did the exercises) executes headless in the server's own
environment, with real containers on their engine and the checks recorded in their own progress store. Then a
stop keeps their work, and a pushed update reaches them beside their edit.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.classroom.conftest import LEARNERS
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def server_environment(hub, name):
    pid = hub.client.server_pid(name)
    assert pid, f"no pid for {name}'s server"
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return pid, dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.fixture(scope="module")
def spawned(classroom):
    _, hub = classroom
    return {name: hub.client.spawn(name) for name in LEARNERS}


def test_each_learner_server_runs_as_the_learner_with_their_own_engine_and_store(classroom, spawned):
    from ecsdojo.classroom.accounts import find_account

    _, hub = classroom
    for name in LEARNERS:
        account = find_account(name)
        pid, env = server_environment(hub, name)
        assert Path(f"/proc/{pid}").stat().st_uid == account.uid
        assert env["DOCKER_HOST"] == f"unix:///run/user/{account.uid}/docker.sock"
        assert env["DOJO_HOME"] == str(account.home / ".ecsdojo")
        assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab/tree/ecs-dojo/00_start_here.ipynb"
        copy = account.home / "ecs-dojo" / "00_start_here.ipynb"
        assert copy.stat().st_uid == account.uid
        assert copy.read_bytes() == (ROOT / "notebooks" / "00_start_here.ipynb").read_bytes()


def test_the_learner_server_answers_through_the_proxy_on_loopback(classroom, spawned):
    _, hub = classroom
    name = LEARNERS[0]
    request = urllib.request.Request(f"{hub.settings.url}/user/{name}/api/contents/ecs-dojo",
                                     headers={"Authorization": f"token {hub.settings.api_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        listing = json.loads(response.read())
    assert "00_start_here.ipynb" in {item["name"] for item in listing["content"]}


def test_the_idle_culler_runs_as_a_hub_service_with_the_configured_timeout(classroom):
    _, hub = classroom
    services = hub.client.call("GET", "/services")          # {name: service model}
    culler = services["idle-culler"]
    assert culler["pid"] and Path(f"/proc/{culler['pid']}").exists()
    command_line = Path(f"/proc/{culler['pid']}/cmdline").read_bytes().decode().split("\0")
    assert "jupyterhub_idle_culler" in command_line
    assert f"--timeout={hub.settings.idle_timeout_s}" in command_line


def run_module_00(hub, name):
    from ecsdojo.classroom.accounts import find_account

    account = find_account(name)
    _, env = server_environment(hub, name)
    solved = account.home / "solved-00.ipynb"
    shutil.copyfile(ROOT / "solutions" / "00_start_here.ipynb", solved)
    subprocess.run(["chown", f"{account.uid}:{account.gid}", str(solved)], check=True)
    done = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                           "--ExecutePreprocessor.timeout=300", str(solved)],
                          user=account.uid, group=account.gid, extra_groups=[], env=env, cwd=account.home,
                          capture_output=True, text=True, timeout=600)
    return account, solved, done


def test_module_00_runs_headless_for_each_learner_on_their_own_engine_and_store(classroom, spawned):
    _, hub = classroom
    with ThreadPoolExecutor(max_workers=len(LEARNERS)) as pool:
        results = list(pool.map(lambda name: run_module_00(hub, name), LEARNERS))
    for account, solved, done in results:
        assert done.returncode == 0, f"{account.name}: {done.stderr[-2000:]}"
        text = "".join("".join(output.get("text", ""))
                       for cell in json.loads(solved.read_text())["cells"] for output in cell.get("outputs", []))
        assert "containers are real Docker containers" in text
        store = account.home / ".ecsdojo" / "progress.sqlite"
        assert store.stat().st_uid == account.uid
        connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)     # read only: never write their store
        try:
            rows = connection.execute("select count(*) from check_attempts").fetchone()[0]
        finally:
            connection.close()
        assert rows >= 4, f"{account.name}: module 00's checks were not recorded in their own store"


def test_a_stop_keeps_the_learners_work_and_an_update_arrives_beside_their_edit(classroom, spawned):
    from ecsdojo.classroom.accounts import find_account
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.handout import publish_course

    room, hub = classroom
    name = LEARNERS[1]
    account = find_account(name)
    mine = account.home / "ecs-dojo" / "00_start_here.ipynb"
    edited = mine.read_text().replace("Start here", "Start here (my notes)", 1)
    mine.write_text(edited)
    engine = LearnerEngine(account)
    engine.docker("run", "--detach", "--label", "ecsdojo.managed=true", "ecsdojo/app:latest")   # a lab's container
    hub.client.stop_server(name)                # what the idle culler does: DELETE /users/NAME/server
    assert engine.pid() is None                 # the spawner removed the course's containers and stopped the engine
    assert mine.read_text() == edited

    # the instructor fixes module 01 and publishes; the learner's next start merges it, their edit stays
    release = room.state_dir / "release-fixed"
    release.mkdir()
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, release / notebook.name)
    fixed = (release / "01_docker_limits.ipynb")
    fixed.write_text(fixed.read_text().replace("Docker", "Docker (fixed)", 1))
    publish_course(release, room.state_dir / "course")
    hub.client.spawn(name)
    assert engine.docker("ps", "--all", "--quiet", "--filter", "label=ecsdojo.managed").stdout.strip() == ""
    assert mine.read_text() == edited
    assert "Docker (fixed)" in (account.home / "ecs-dojo" / "01_docker_limits.ipynb").read_text()
