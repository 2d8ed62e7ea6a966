"""A real classroom for the tests: JupyterHub + configurable-http-proxy on 127.0.0.1, three learner accounts
(``dtHASH-1``…``-3``, HASH from the source tree's path).

Needs root, Docker's rootless prerequisites and configurable-http-proxy: without them the tests skip, and under
DOJO_REQUIRE_DOCKER=1 (CI, whose .ci/run installs them) they fail instead. One hub serves every test of the
session; its accounts, engines and state folder are removed at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, docker_required

# Names and folders carry a hash of the source tree, so that two checkouts testing at once never share accounts.
TREE = hashlib.sha256(str(ROOT).encode()).hexdigest()[:10]
LEARNERS = tuple(f"dt{TREE[:6]}-{number}" for number in (1, 2, 3))
INSTRUCTOR = f"dt{TREE[:6]}-i"            # may open the class dashboard (tests/classroom/test_dashboard.py)
INSTRUCTOR_PASSWORD = f"pass-{INSTRUCTOR}-{os.getpid()}"
STATE_DIR = Path("/var/lib") / f"ecsdojo-classroom-test-{TREE}"
# The shared learner environment is kept between runs (made once, about a minute), one per source tree.
VENV = Path("/var/lib") / f"ecsdojo-classroom-venv-{TREE}"


def skip_or_fail(message: str):
    if docker_required():
        pytest.fail(message + " (DOJO_REQUIRE_DOCKER=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def classroom_ready(docker_client, app_image):
    """Root, rootless prerequisites, the proxy: everything a classroom needs, or a skip naming what is missing."""
    from ecsdojo.classroom.engine import rootless_prerequisites
    from ecsdojo.classroom.hub import proxy_command

    if os.geteuid() != 0:
        skip_or_fail("the classroom tests make Unix accounts: they need root")
    missing = rootless_prerequisites()
    if proxy_command() is None:
        missing.append("configurable-http-proxy (npm install -g configurable-http-proxy)")
    if missing:
        skip_or_fail("the classroom needs: " + "; ".join(missing))
    return True


def _remove_everything():
    from ecsdojo.classroom.accounts import AccountError, find_account, remove_account, remove_instructor
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.hub import stop_hub

    stop_hub(STATE_DIR)
    for name in LEARNERS:
        try:
            account = find_account(name)
        except AccountError:
            continue
        LearnerEngine(account).stop()
        remove_account(name)
    try:
        remove_instructor(INSTRUCTOR)
    except AccountError:
        pass
    shutil.rmtree(STATE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def classroom(classroom_ready):
    """(Classroom, RunningHub) for LEARNERS, removed afterwards."""
    from ecsdojo.classroom.accounts import ensure_instructor
    from ecsdojo.classroom.hub import HubSettings, free_port, start_hub
    from ecsdojo.classroom.room import prepare_classroom
    from ecsdojo.classroom.roster import Learner

    _remove_everything()            # leftovers of an interrupted run
    learners = [Learner(name, f"pass-{name}-{os.getpid()}") for name in LEARNERS]
    room = prepare_classroom(learners, state_dir=STATE_DIR, venv=VENV, progress=lambda line: None)
    ensure_instructor(Learner(INSTRUCTOR, INSTRUCTOR_PASSWORD))
    hub = start_hub(HubSettings(state_dir=str(STATE_DIR), learner_python=str(room.learner_python),
                                learners=LEARNERS, port=free_port(), instructors=(INSTRUCTOR,)))
    try:
        yield room, hub
    finally:
        _remove_everything()
