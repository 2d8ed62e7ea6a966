"""gradebook.csv and feedback files, from results built by hand (no kernels)."""

from __future__ import annotations

import csv

from ecsdojo.grading.grade import CheckScore, SubmissionResult, load_keys
from ecsdojo.grading.gradebook import feedback_markdown, feedback_names, write_reports

from .conftest import HIDDEN_CODE, HIDDEN_TOKEN, build_course


def result(submission, module, status="ok", **scores):
    r = SubmissionResult(submission, module, max_points=6 if module == "01" else 1)
    for check_id, (earned, maximum, hidden) in scores.items():
        r.checks[check_id] = CheckScore(check_id, earned, maximum, earned > 0, hidden, "Not the expected answer | yet.")
    if status != "ok":
        r.flag(status, f"why: {status}")
    r.notes.append("exercise cell 4: not attempted yet")
    r.settle()
    return r


def test_does_the_gradebook_list_base_columns_then_every_check(tmp_path):
    keys = load_keys(build_course(tmp_path))
    results = [result("a/01_basics.ipynb", "01", **{"m01.answer": (2, 2, False), "m01.start-count": (0.5, 1, False),
                                                    "m01.start-count-never-negative": (1, 1, True)}),
               result("b/02_extra.ipynb", "02", status="timeout", **{"m02.cluster-name": (0, 1, False)}),
               result("c/broken.ipynb", "", status="invalid-notebook")]
    gradebook, feedback = write_reports(results, keys, tmp_path / "out")
    rows = list(csv.reader(gradebook.open()))
    assert rows[0] == ["submission", "module", "points", "max_points", "status", "m01.answer", "m01.start-count",
                       "m01.start-count-never-negative", "m01.running", "m02.cluster-name", "status_detail"]
    assert rows[1] == ["a/01_basics.ipynb", "01", "3.5", "6", "ok", "2", "0.5", "1", "", "", ""]
    assert rows[2] == ["b/02_extra.ipynb", "02", "0", "1", "timeout", "", "", "", "", "0", "why: timeout"]
    assert rows[3][:5] == ["c/broken.ipynb", "", "0", "1", "invalid-notebook"]
    assert [p.name for p in feedback] == ["a__01_basics.feedback.md", "b__02_extra.feedback.md",
                                          "c__broken.feedback.md"]


def test_does_feedback_show_results_and_notes_but_no_check_code(tmp_path):
    keys = load_keys(build_course(tmp_path))
    text = feedback_markdown(result("a.ipynb", "01", **{"m01.answer": (0, 2, False),
                                                        "m01.start-count-never-negative": (0, 1, True)}), keys["01"])
    assert "**Module 1 — Basics**: 0/6 points." in text
    assert "| m01.answer | not yet: Not the expected answer \\| yet. | 0/2 |" in text
    assert "| hidden check 1 (m01.start-count-never-negative) | not passed | 0/1 |" in text
    assert "- exercise cell 4: not attempted yet" in text
    assert HIDDEN_TOKEN not in text and HIDDEN_CODE not in text


def test_are_feedback_names_distinct_for_same_named_submissions():
    assert feedback_names(["x/alice/01.ipynb", "x/bob/01.ipynb", "x/bob/01.ipynb"]) == [
        "alice__01.feedback.md", "bob__01.feedback.md", "bob__01-2.feedback.md"]
    assert feedback_names(["only.ipynb"]) == ["only.feedback.md"]
