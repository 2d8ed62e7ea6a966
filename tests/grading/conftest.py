"""Factories for the grading tests: a copy of the fixture course, released notebooks, submissions."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

FIXTURE_SOLUTIONS = Path(__file__).parent / "fixtures" / "solutions"
HIDDEN_TOKEN = "SECRET-HIDDEN-CHECK-CODE"
HIDDEN_CODE = "tasks_to_start(1, 3)"

# Exercise answers for the fixture course, by cell id.
RIGHT = {
    "ex-answer": "answer = 6 * 7",
    "ex-start": "def tasks_to_start(desired, running):\n    return max(0, desired - running)",
    "ex-run": 'service["tasks"] = ["RUNNING"] * service["desired"]',
}
PARTIAL = {
    "ex-answer": "answer = 41",                                                      # wrong: 0/2
    "ex-start": "def tasks_to_start(desired, running):\n    return desired - running",  # visible 1/1, hidden 0/1
    "ex-run": 'service["tasks"] = ["RUNNING"] * service["desired"]',                 # 2/2
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_course(root: Path) -> Path:
    """A copy of the fixture course's solutions/ under `root`; returns the solutions folder."""
    solutions = root / "solutions"
    shutil.copytree(FIXTURE_SOLUTIONS, solutions)
    return solutions


def release_course(root: Path) -> tuple[Path, Path]:
    from ecsdojo.grading.release import release

    solutions = build_course(root)
    notebooks = root / "notebooks"
    plan = release(solutions, notebooks)
    assert not plan.errors
    return solutions, notebooks


def make_submission(released: Path, target: Path, *, answers: dict[str, str] | None = None,
                    edit: Callable[[nbformat.NotebookNode], None] | None = None) -> Path:
    """A learner's copy of a released notebook, with exercise cells answered and optional edits."""
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        if answers and cell.get("id") in answers:
            cell.source = answers[cell.id]
    if edit is not None:
        edit(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def write_raw(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def course(tmp_path) -> tuple[Path, Path]:
    """(solutions, notebooks) of a freshly released copy of the fixture course."""
    return release_course(tmp_path / "course")
