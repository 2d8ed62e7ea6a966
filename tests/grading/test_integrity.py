"""Reading learner cells for tampering (integrity.scan_source), and the course's own cells read clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecsdojo.grading.integrity import scan_source
from ecsdojo.grading.markers import read_notebook

COURSE = Path(__file__).resolve().parents[2]


def whats(source):
    return [finding.what for finding in scan_source(source)]


@pytest.mark.parametrize("source, expected", [
    ("def check(*a, **k):\n    pass", "rebinds `check` (the grading function)"),
    ("check = print", "rebinds `check` (the grading function)"),
    ("from mymodule import check", "rebinds `check` (the grading function)"),
    ("import fake as check", "rebinds `check` (the grading function)"),
    ("def f():\n    global check\n    check = 1", "declares `global check` (rebinds the grading function)"),
    ("import ecsdojo.grading.checks\necsdojo.grading.checks.evaluate = None",
     "changes `ecsdojo.grading.checks.evaluate`"),
    ("import sys\nsys.modules['ecsdojo.grading.checks'] = None", "changes `sys.modules['ecsdojo.grading.checks']`"),
    ("setattr(ecsdojo.grading, 'checks', None)", "calls `setattr` on `ecsdojo.grading`"),
    ("check.__code__ = (lambda: 1).__code__", "reaches into function internals (`check.__code__`)"),
    ("x = {'application/vnd.ecsdojo.check+json': {}}", "writes the check results' MIME type"),
    ("get_ipython().events.register('post_run_cell', print)",
     "registers an IPython hook (`get_ipython().events.register`), which would run inside the check cells"),
    ("__dojo_grading_abc.check = print", "reaches for the grader's session"),
])
def test_does_reading_a_cell_find_each_kind_of_tampering(source, expected):
    found = whats(source)
    assert expected in found, found


@pytest.mark.parametrize("source", [
    "from ecsdojo import check, hint, progress",
    "from ecsdojo.grading.checks import check",
    "def helper(check):\n    check = check + 1\n    return check",
    "checks = {}\nchecks['a'] = 1\nresults = [check for check in range(3)]",
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "!echo hello\nlocal = 1",
    "hint = 'use describe_services'\nprogress = 0.5\nevaluate = None",
    "this is not python (",
])
def test_does_ordinary_code_read_clean(source):
    assert scan_source(source) == []


def test_does_every_cell_of_the_course_read_clean():
    """No false alarm on the course itself: every non-check code cell of every solutions notebook."""
    notebooks = sorted((COURSE / "solutions").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        _, parsed = read_notebook(path)
        for cell in parsed.cells:
            if cell.cell_type == "code" and cell.kind != "check":
                assert scan_source(cell.source) == [], (path.name, cell.index + 1)
