"""Does jupyterhub-idle-culler stop an idle learner's server, their containers and engine, keeping their home?

A second, small classroom (one learner, its own state folder) runs with a 20-second idle timeout; the learner's
server is spawned through the REST API and left alone; the culler must stop it, and the spawner must then have
removed the learner's ECS Dojo containers and stopped their engine, while their notebooks stay.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.classroom.conftest import TREE, VENV

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LEARNER = f"dt{TREE[:6]}-idle"
STATE_DIR = Path("/var/lib") / f"ecsdojo-classroom-idle-{TREE}"
IDLE_TIMEOUT_S = 20


@pytest.fixture
def idle_classroom(classroom_ready):
    from ecsdojo.classroom.accounts import AccountError, find_account, remove_account
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.hub import HubSettings, free_port, start_hub, stop_hub
    from ecsdojo.classroom.room import prepare_classroom
    from ecsdojo.classroom.roster import Learner

    def remove():
        stop_hub(STATE_DIR)
        try:
            account = find_account(LEARNER)
        except AccountError:
            pass
        else:
            LearnerEngine(account).stop()
            remove_account(LEARNER)
        shutil.rmtree(STATE_DIR, ignore_errors=True)

    remove()
    room = prepare_classroom([Learner(LEARNER, "idle-learner-pass")], state_dir=STATE_DIR, venv=VENV,
                             progress=lambda line: None)
    hub = start_hub(HubSettings(state_dir=str(STATE_DIR), learner_python=str(room.learner_python),
                                learners=(LEARNER,), port=free_port(), idle_timeout_s=IDLE_TIMEOUT_S))
    try:
        yield room, hub
    finally:
        remove()


def test_an_idle_server_is_culled_with_its_engine_and_the_home_is_kept(idle_classroom):
    from ecsdojo.classroom.accounts import find_account
    from ecsdojo.classroom.engine import LearnerEngine

    _, hub = idle_classroom
    account = find_account(LEARNER)
    hub.client.spawn(LEARNER)
    engine = LearnerEngine(account)
    engine.docker("run", "--detach", "--label", "ecsdojo.managed=true", "ecsdojo/app:latest")
    notes = account.home / "ecs-dojo" / "my-notes.md"
    notes.write_text("kept")

    deadline = time.monotonic() + IDLE_TIMEOUT_S + 90
    while (hub.client.user(LEARNER).get("servers") or {}).get(""):
        assert time.monotonic() < deadline, "the idle culler did not stop the idle server"
        time.sleep(1)
    deadline = time.monotonic() + 30
    while engine.pid() is not None:
        assert time.monotonic() < deadline, "the learner's engine still runs after the cull"
        time.sleep(0.5)
    assert notes.read_text() == "kept"
    assert (account.home / "ecs-dojo" / "00_start_here.ipynb").exists()
    engine.start()          # the containers were removed, not just stopped with the engine
    try:
        assert engine.docker("ps", "--all", "--quiet", "--filter", "label=ecsdojo.managed").stdout.strip() == ""
    finally:
        engine.stop()
