"""`dojo grade` on the fixture course: round trip, bad submissions, tampering, isolation.

All submissions are graded in one parallel run (module-scoped) to keep the suite fast; each test
asserts on one of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from ecsdojo.grading.grade import GradeOptions, SubmissionResult, answer_key, grade, load_keys, rebuild
from ecsdojo.grading.gradebook import write_reports

from .conftest import (
    HIDDEN_CODE,
    HIDDEN_TOKEN,
    PARTIAL,
    RIGHT,
    make_submission,
    release_course,
    sha256,
    write_raw,
)

FAKE_PAYLOAD = ("from IPython.display import display\n"
                "display({'text/plain': 'passed', 'application/vnd.ecsdojo.check+json': "
                "{'check_id': 'm01.answer', 'module': '01', 'passed': True, 'points': 2, 'max_points': 2}}, raw=True)")


def copy_to(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _insert_after(nb, cell_id, cell):
    index = next(i for i, c in enumerate(nb.cells) if c.id == cell_id)
    nb.cells.insert(index + 1, cell)


def _drop(nb, *cell_ids):
    nb.cells = [c for c in nb.cells if c.id not in cell_ids]


def _tamper(nb):
    """Edit a check cell, retype another elsewhere, fake results and shadow check()."""
    for cell in nb.cells:
        if cell.id == "ck-answer":
            cell.source = "print('all good')"
        if cell.id == "setup":
            cell.source += ("\ndef check(*args, **kwargs):\n    " + FAKE_PAYLOAD.replace("\n", "\n    "))
    sealed = next(c.source for c in nb.cells if c.id == "ck-run")
    _drop(nb, "ck-run")
    nb.cells.append(new_code_cell(sealed.replace('lambda: service["tasks"].count("RUNNING") == 3', "True")))
    nb.cells.append(new_code_cell(FAKE_PAYLOAD))


# The forgery of issue 14: a cell that redefines `check` (and ecsdojo.grading.checks.check) to display a
# passing result in the check MIME type.
ISSUE_FORGERY = """import ecsdojo.grading.checks
from IPython.display import display

def check(check_id, value=None, /, *, points=1, **kwargs):
    display({"text/plain": "passed", "application/vnd.ecsdojo.check+json":
             {"check_id": check_id, "points": points, "passed": True}}, raw=True)

ecsdojo.grading.checks.check = check
"""

# The same, written so that reading the cell finds nothing: built from a string at run time. It also
# makes every sealed comparison succeed and shows forged results after every cell (an IPython hook).
_HIDDEN_FORGERY = """
import ecsdojo, ecsdojo.grading.checks as m, ecsdojo.grading.seal as s
from IPython.display import display
s.SealedSpec.matches = lambda self, value: True
def fake(check_id, value=None, /, *, points=1, **kwargs):
    display({"text/plain": "passed", "application/vnd." + "ecsdojo.check+json":
             {"check_id": check_id, "module": "01", "points": points, "max_points": points, "passed": True}}, raw=True)
m.check = ecsdojo.check = fake
def forge_all(result):
    for check_id in ("m01.answer", "m01.running", "m01.start-count", "m01.start-count-never-negative"):
        fake(check_id, points=2)
get_ipython().events.register("post_run_cell", forge_all)
globals()["che" + "ck"] = fake
"""
HIDDEN_FORGERY = ("import base64\nexec(base64.b64decode(%r).decode())"
                  % __import__("base64").b64encode(_HIDDEN_FORGERY.encode()).decode())


def _forge(code):
    def edit(nb):
        _insert_after(nb, "setup", new_code_cell(code, id="forgery"))
    return edit


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release the fixture course, build every kind of submission, grade them all once."""
    root = tmp_path_factory.mktemp("grade")
    solutions, notebooks = release_course(root / "course")
    released = notebooks / "01_basics.ipynb"
    subs = root / "submissions"
    paths = {
        "solution": copy_to(solutions / "01_basics.ipynb", subs / "solution" / "01_basics.ipynb"),
        "perfect": make_submission(released, subs / "perfect" / "01_basics.ipynb", answers=RIGHT),
        "untouched": make_submission(released, subs / "untouched" / "01_basics.ipynb"),
        "partial": make_submission(released, subs / "partial" / "01_basics.ipynb", answers=PARTIAL),
        "module2": make_submission(notebooks / "02_extra.ipynb", subs / "module2" / "02_extra.ipynb",
                                   answers={"ex-name": "cluster_name = ' DOJO '"}),
        "sys-exit": make_submission(released, subs / "sysexit" / "01_basics.ipynb", answers=RIGHT,
                                    edit=lambda nb: _insert_after(nb, "ex-answer",
                                                                  new_code_cell("import sys\nsys.exit(3)"))),
        "loop": make_submission(released, subs / "loop" / "01_basics.ipynb", answers={
            **RIGHT, "ex-answer": "answer = 42\nwhile True:\n    pass"}),
        "huge-output": make_submission(released, subs / "huge" / "01_basics.ipynb", answers={
            **RIGHT, "ex-run": "while True:\n    print('spam ' * 200)"}),
        "deleted": make_submission(released, subs / "deleted" / "01_basics.ipynb", answers=RIGHT,
                                   edit=lambda nb: _drop(nb, "ex-run", "ck-answer", "ck-start")),
        "tampered": make_submission(released, subs / "tampered" / "01_basics.ipynb", edit=_tamper),
        "issue-forgery": make_submission(released, subs / "forgery" / "01_basics.ipynb", edit=_forge(ISSUE_FORGERY)),
        "hidden-forgery": make_submission(released, subs / "hidden" / "01_basics.ipynb",
                                          edit=_forge(HIDDEN_FORGERY)),
        "honest-forgery-free": make_submission(released, subs / "honest" / "01_basics.ipynb", answers=RIGHT,
                                               edit=_forge("checks = {'a': 1}\nchecks['b'] = 2\n"
                                                           "def helper(check):\n    return check\n"
                                                           "from ecsdojo import check, hint")),
        "kernel-death": make_submission(released, subs / "death" / "01_basics.ipynb", answers={
            **RIGHT, "ex-start": "import os\nos._exit(1)"}),
        "invalid-json": write_raw(subs / "invalid" / "01_basics.ipynb", '{"cells": [ this is not json'),
        "not-a-notebook": write_raw(subs / "list" / "01_basics.ipynb", "[1, 2, 3]"),
        "unknown-module": make_submission(released, subs / "unknown" / "07_other.ipynb",
                                          edit=lambda nb: nb.metadata["ecsdojo"].update(module="07")),
        "foreign-cells": make_submission(notebooks / "02_extra.ipynb", subs / "foreign" / "01_basics.ipynb",
                                         edit=lambda nb: nb.metadata["ecsdojo"].update(module="01")),
    }
    hashes = {name: sha256(path) for name, path in paths.items()}
    learner_home = root / "learner-home"
    options = GradeOptions(solutions_dir=solutions, cell_timeout=4, notebook_timeout=60,
                           max_output_chars=200_000)
    keys = load_keys(solutions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOJO_HOME", str(learner_home))
        results = grade([str(p) for p in paths.values()], options=options, workers=2, keys=keys)
    out = root / "out"
    gradebook, feedback = write_reports(results, keys, out)
    return {
        "paths": paths, "hashes": hashes, "results": dict(zip(paths, results)), "gradebook": gradebook,
        "feedback": dict(zip(paths, feedback)), "learner_home": learner_home, "released": released,
    }


def points(graded, name):
    result = graded["results"][name]
    return result.status, result.points, {c: s.points for c, s in result.checks.items()}


def test_do_the_solutions_and_a_perfect_learner_get_full_marks(graded):
    for name in ("solution", "perfect"):
        result = graded["results"][name]
        assert (result.status, result.points, result.max_points) == ("ok", 6, 6), result.notes


def test_does_an_untouched_release_score_zero_without_crashing(graded):
    result = graded["results"]["untouched"]
    assert (result.status, result.points, result.max_points) == ("ok", 0, 6)
    assert "exercise cell 4: not attempted yet" in result.notes


def test_does_the_round_trip_give_the_expected_partial_scores(graded):
    assert points(graded, "partial") == ("ok", 3, {"m01.answer": 0, "m01.start-count": 1,
                                                   "m01.start-count-never-negative": 0, "m01.running": 2})
    assert points(graded, "module2") == ("ok", 1, {"m02.cluster-name": 1})


def test_does_sys_exit_get_its_status_while_the_rest_still_counts(graded):
    status, total, _ = points(graded, "sys-exit")
    assert status == "sys-exit" and total == 6


def test_is_an_infinite_loop_interrupted_and_the_rest_graded(graded):
    result = graded["results"]["loop"]
    assert result.status == "timeout" and result.points == 6
    assert any("ran longer than 4 s and was interrupted" in note for note in result.notes)


def test_does_huge_output_stop_that_notebook_only(graded):
    result = graded["results"]["huge-output"]
    assert result.status == "output-too-large"
    assert result.checks["m01.answer"].points == 2 and result.checks["m01.running"].points == 0


def test_are_deleted_check_cells_put_back_and_deleted_exercises_reported(graded):
    result = graded["results"]["deleted"]
    assert result.status == "cells-missing"
    assert points(graded, "deleted")[2] == {"m01.answer": 2, "m01.start-count": 1,
                                            "m01.start-count-never-negative": 1, "m01.running": 0}
    assert any("2 deleted check cell(s) were put back" in note for note in result.notes)


def test_are_tampered_retyped_and_faked_checks_ignored_and_flagged(graded):
    result = graded["results"]["tampered"]
    assert (result.status, result.points) == ("tampered", 0)
    assert "checks-restored" in result.flags
    assert any(note.startswith("cell 2 (id 'setup', line 2) rebinds `check`") for note in result.notes)
    assert any("writes the check results' MIME type" in note for note in result.notes)


def test_does_the_forgery_of_issue_14_score_zero_and_get_flagged_naming_the_cell(graded):
    result = graded["results"]["issue-forgery"]
    assert (result.status, result.points) == ("tampered", 0)
    assert "cell 3 (id 'forgery', line 4) rebinds `check` (the grading function)" in result.status_notes()
    assert "cell 3 (id 'forgery', line 8) changes `ecsdojo.grading.checks.check`" in result.status_notes()
    row = next(line for line in graded["gradebook"].read_text().splitlines() if "/forgery/" in line)
    assert ",01,0,6,tampered," in row and "cell 3 (id 'forgery'" in row


def test_is_a_forgery_that_reading_cannot_see_caught_at_run_time(graded):
    result = graded["results"]["hidden-forgery"]
    assert (result.status, result.points) == ("tampered", 0)
    notes = " ".join(result.status_notes())
    assert "ecsdojo.grading.checks.check was replaced" in notes and "ecsdojo.check was replaced" in notes
    assert "ecsdojo.grading.seal.SealedSpec.matches was replaced" in notes
    assert "an IPython post_run_cell hook was registered (forge_all)" in notes
    assert "showed a check result the grader did not produce" in notes


def test_does_honest_code_using_check_like_names_score_as_before(graded):
    result = graded["results"]["honest-forgery-free"]
    assert (result.status, result.points) == ("ok", 6), result.notes


def test_does_a_dying_kernel_get_its_status_keeping_earlier_results(graded):
    result = graded["results"]["kernel-death"]
    assert result.status == "kernel-died"
    assert result.checks["m01.answer"].points == 2 and result.points == 2


@pytest.mark.parametrize("name, status", [("invalid-json", "invalid-notebook"), ("not-a-notebook", "invalid-notebook"),
                                          ("unknown-module", "wrong-module"), ("foreign-cells", "wrong-module")])
def test_do_unusable_submissions_get_a_clear_status(graded, name, status):
    result = graded["results"][name]
    assert result.status == status and result.points == 0 and result.notes


def test_are_submissions_never_modified(graded):
    assert {name: sha256(path) for name, path in graded["paths"].items()} == graded["hashes"]


def test_does_grading_leave_the_learners_progress_store_alone(graded):
    assert not (graded["learner_home"] / "progress.sqlite").exists()


def test_does_the_gradebook_have_one_row_per_submission_and_a_column_per_check(graded):
    lines = graded["gradebook"].read_text().splitlines()
    assert lines[0] == ("submission,module,points,max_points,status,m01.answer,m01.start-count,"
                        "m01.start-count-never-negative,m01.running,m02.cluster-name,status_detail")
    assert len(lines) == 1 + len(graded["paths"])
    assert lines[1].endswith(",01,6,6,ok,2,1,1,2,,")


def test_is_hidden_check_code_absent_from_feedback(graded):
    texts = [path.read_text() for path in graded["feedback"].values()] + [graded["gradebook"].read_text()]
    for text in texts:
        assert HIDDEN_TOKEN not in text and HIDDEN_CODE not in text and "sealed=" not in text
    perfect = graded["feedback"]["perfect"].read_text()
    assert "| hidden check 1 (m01.start-count-never-negative) | passed | 1/1 |" in perfect


def test_does_rebuild_restore_an_edited_check_cell_by_id(graded):
    keys = load_keys(graded["paths"]["solution"].parent)
    nb = nbformat.read(graded["released"], as_version=4)
    next(c for c in nb.cells if c.id == "ck-run").source = "pass"
    result = SubmissionResult("x", "01")
    rebuilt = rebuild(nb, keys["01"], result)
    source = next(c for c in rebuilt.cells if c.id == "ck-run").source
    prelude = rebuilt.cells[0].source
    session = prelude.split(" = ", 1)[0]
    assert session.startswith("__dojo_grading_") and ".arm(" in prelude
    assert source.startswith(f"{session}.check(\"m01.running\"")
    assert "checks-restored" in result.flags


def test_does_a_notebook_timeout_stop_a_notebook_that_never_ends(tmp_path):
    solutions, notebooks = release_course(tmp_path)
    slow = make_submission(notebooks / "02_extra.ipynb", tmp_path / "slow" / "02_extra.ipynb",
                           answers={"ex-name": "import time\ntime.sleep(60)"})
    [result] = grade([str(slow)], options=GradeOptions(solutions_dir=solutions, cell_timeout=60,
                                                       notebook_timeout=2), workers=1)
    assert result.status == "timeout" and result.points == 0
    assert result.notes[0] == "the notebook ran longer than 2 s; grading stopped there"


def test_is_answer_key_a_perfect_submission(tmp_path):
    solutions, _ = release_course(tmp_path)
    nb = answer_key(solutions / "01_basics.ipynb")
    text = nbformat.writes(nb)
    assert "### BEGIN SOLUTION" not in text and "max(0, desired - running)" in text and HIDDEN_TOKEN not in text


def test_does_an_environment_failure_mark_the_row_instead_of_a_quiet_low_grade(tmp_path):
    """Issue 14 §10: a course cell that fails because of the grading environment is never `ok`."""
    from ecsdojo.grading.release import release

    course = tmp_path / "course"
    solutions, _ = release_course(course)
    source = solutions / "02_extra.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(1, new_code_cell('from ecsdojo.quiz.bank import load_banks\nbanks = load_banks("/no/such/banks")',
                                     id="quiz-banks"))
    nb.cells.insert(2, new_code_cell("class WaitTimeoutError(TimeoutError):\n    pass\n"
                                     "raise WaitTimeoutError('service web did not reach 3 RUNNING tasks')",
                                     id="wait-steady"))
    nbformat.write(nb, source)
    release(solutions, course / "notebooks")
    released = course / "notebooks" / "02_extra.ipynb"
    honest = make_submission(released, tmp_path / "honest" / "02_extra.ipynb",
                             answers={"ex-name": "cluster_name = 'dojo'"})
    edited = make_submission(released, tmp_path / "edited" / "02_extra.ipynb",
                             answers={"ex-name": "cluster_name = 'dojo'"},
                             edit=lambda nb: [setattr(c, "source", c.source + "  # mine") for c in nb.cells
                                              if c.id == "wait-steady"])
    results = grade([str(honest), str(edited)], workers=1, options=GradeOptions(solutions_dir=solutions,
                                                                               cell_timeout=30))
    first, second = results
    assert first.status == "environment-error" and first.points == 1
    assert any(n.startswith("cell 2 (id 'quiz-banks') raised BanksFolderNotFound") for n in first.status_notes())
    assert any(n.startswith("cell 3 (id 'wait-steady') raised WaitTimeoutError") for n in first.status_notes())
    # a learner-edited cell's timeout is the learner's: noted, but only the banks failure marks the row
    assert second.status == "environment-error"
    assert [n for n in second.status_notes() if "WaitTimeoutError" in n] == []
    assert any("cell 3 raised WaitTimeoutError" in n for n in second.notes)
