"""Does `dojo classroom collect` + `grade` give each learner the right points, feedback in their home, and leave
their own notebooks exactly as they were?

Three learners on the real hub: one saves module 00 with every exercise done, one with half (exercises 1 and 2),
one with nothing (their hand-out as it came); a fourth account never started a server. Their notebooks are written
by their own Jupyter servers (Contents API), not by a browser. Collect and grade run as the instructor's commands
(`dojo classroom collect|grade`, as root), grading module 00 headless with real containers.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys

import pytest

from tests.classroom.conftest import LEARNERS, STATE_DIR, TREE
from tests.classroom.learner_actions import ALL_EXERCISES, MODULE_00, home_file, save_answers
from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]
NEVER_STARTED = f"dt{TREE[:6]}-4"


def dojo(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecsdojo", "classroom", *words, "--state-dir", str(STATE_DIR)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)


def snapshot(path):
    info = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_mtime_ns, info.st_uid, info.st_mode


def expected_points(exercises) -> float:
    from ecsdojo.grading.grade import load_keys

    key = load_keys(ROOT / "solutions")["00"]
    check_cells = {f"{exercise}-check" for exercise in exercises}
    return sum(call.points for cell in key.parsed.cells if cell.cell_id in check_cells for call in cell.checks)


@pytest.fixture(scope="module")
def never_started(classroom):
    from ecsdojo.classroom.accounts import ensure_account, remove_account
    from ecsdojo.classroom.roster import Learner

    ensure_account(Learner(NEVER_STARTED, f"pass-{os.getpid()}-never"))
    yield NEVER_STARTED
    remove_account(NEVER_STARTED)


@pytest.fixture
def handouts_restored():
    """This test writes answers into the learners' module 00 copies: their handed-out bytes are put back afterwards
    (the classroom is shared by the session, and the hub tests compare each copy with the release)."""
    saved: dict = {}
    yield saved
    for path, data in saved.items():
        if path.exists() and path.read_bytes() != data:
            path.write_bytes(data)              # as root: the file keeps its owner


def test_collect_and_grade_a_class_of_complete_half_and_nothing(classroom, never_started, handouts_restored):
    _, hub = classroom
    complete, half, nothing = LEARNERS
    for name in LEARNERS:
        hub.client.spawn(name)
    handouts_restored.update({home_file(name, MODULE_00): home_file(name, MODULE_00).read_bytes() for name in LEARNERS})
    save_answers(hub, complete, ALL_EXERCISES)
    save_answers(hub, half, ALL_EXERCISES[:2])
    for name in LEARNERS:            # no JupyterLab is open for them, so nothing autosaves these files
        hub.client.stop_server(name)
    notebooks = {name: home_file(name, MODULE_00) for name in LEARNERS}
    before = {name: snapshot(path) for name, path in notebooks.items()}
    names = [*LEARNERS, never_started]

    collected = dojo("collect", "--module", "00", *names)
    assert collected.returncode == 0, collected.stderr
    assert f"{never_started:16} missing: module(s) 00" in collected.stdout
    for name in LEARNERS:
        copies = list((STATE_DIR / "submissions" / name).glob("*/00_start_here.ipynb"))
        assert len(copies) == 1
        assert copies[0].read_bytes() == notebooks[name].read_bytes()
        assert copies[0].stat().st_mode & 0o777 == 0o444
        assert copies[0].parent.stat().st_mode & 0o777 == 0o555
    assert (STATE_DIR / "submissions").stat().st_mode & 0o777 == 0o700

    from ecsdojo.classroom.classgrade import grade_class

    outcome = grade_class(STATE_DIR, module="00", solutions_dir=ROOT / "solutions", workers=2, learners=names)
    rows = {row["username"]: row for row in csv.DictReader(outcome.gradebook.open())}
    assert list(csv.reader(outcome.gradebook.open()))[0] == ["username", "module", "points", "max_points", "percent",
                                                            "status", "collected_at", "graded_at", "submission",
                                                            "status_detail"]
    full = expected_points(ALL_EXERCISES)
    assert (rows[complete]["points"], rows[complete]["max_points"], rows[complete]["status"]) == (
        f"{full:g}", f"{full:g}", "ok"), rows[complete]
    assert float(rows[half]["points"]) == expected_points(ALL_EXERCISES[:2]) < full, rows[half]
    assert float(rows[nothing]["points"]) == 0 and rows[nothing]["status"] == "ok", rows[nothing]
    assert rows[never_started]["status"] == "missing" and rows[never_started]["points"] == "0"
    assert not outcome.not_delivered

    from ecsdojo.classroom.accounts import find_account

    for name in LEARNERS:
        account = find_account(name)
        feedback = account.home / "feedback" / "00_start_here.feedback.md"
        assert feedback.stat().st_uid == account.uid and feedback.stat().st_gid == account.gid
        assert f"{rows[name]['points']}/{rows[name]['max_points']} points" in feedback.read_text()
        assert snapshot(notebooks[name]) == before[name], f"{name}'s notebook changed"
    assert "not yet" in home_file(half, "feedback/00_start_here.feedback.md").read_text()

    # the learner writes a note into their feedback file; a re-grade (one command) never replaces it
    mine = home_file(half, "feedback/00_start_here.feedback.md")
    subprocess.run(["sh", "-c", f"echo 'my notes' >> {mine}"], check=True,
                   user=find_account(half).uid, group=find_account(half).gid, extra_groups=[])
    noted = mine.read_bytes()
    submissions_before = {path: snapshot(path) for path in (STATE_DIR / "submissions").glob("*/*/*")}
    regraded = dojo("grade", "--module", "00", "--workers", "2")
    assert regraded.returncode == 0, regraded.stderr
    assert mine.read_bytes() == noted
    assert home_file(half, "feedback/00_start_here.feedback-2.md").stat().st_uid == find_account(half).uid
    assert {path: snapshot(path) for path in (STATE_DIR / "submissions").glob("*/*/*")} == submissions_before
    again = {row["username"]: row for row in csv.DictReader(outcome.gradebook.open())}
    assert {name: again[name]["points"] for name in LEARNERS} == {name: rows[name]["points"] for name in LEARNERS}
    for name in LEARNERS:
        assert snapshot(notebooks[name]) == before[name]
