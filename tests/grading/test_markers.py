"""The one marker parser: exercise regions, checks with ids and points, hidden checks; loud errors."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ecsdojo.grading import markers
from ecsdojo.grading.markers import parse_notebook, read_notebook

from .conftest import FIXTURE_SOLUTIONS


def notebook(*sources: str, markdown: str | None = None):
    cells = [new_code_cell(source, id=f"c{number}") for number, source in enumerate(sources)]
    if markdown is not None:
        cells.append(new_markdown_cell(markdown, id="md"))
    return new_notebook(cells=cells)


def test_does_the_fixture_course_parse_into_exercises_checks_and_hidden_checks():
    _, parsed = read_notebook(FIXTURE_SOLUTIONS / "01_basics.ipynb")
    assert parsed.module == "01" and parsed.title == "Basics"
    assert [c.cell_id for c in parsed.cells_of_kind("exercise")] == ["ex-answer", "ex-start", "ex-run"]
    assert [c.cell_id for c in parsed.cells_of_kind("check")] == ["ck-answer", "ck-start", "ck-run"]
    assert [(c.check_id, c.points, c.hidden) for c in parsed.checks] == [
        ("m01.answer", 2, False), ("m01.start-count", 1, False), ("m01.start-count-never-negative", 1, True),
        ("m01.running", 2, False)]
    assert parsed.visible_total == 5 and parsed.total == 6
    answer = parsed.checks[0]
    assert answer.has_expect and answer.expect == 42 and answer.explain.startswith("Six sevens")
    assert not parsed.checks[3].has_expect                       # a behaviour check


@pytest.mark.parametrize("source, error, words", [
    ("### BEGIN SOLUTIONS\nx = 1\n### END SOLUTION", markers.MalformedMarker, "BEGIN SOLUTIONS"),
    ("## BEGIN SOLUTION\nx = 1", markers.MalformedMarker, "line 1"),
    ("### begin solution\nx = 1\n### END SOLUTION", markers.MalformedMarker, "begin solution"),
    ("### BEGIN SOLUTION\nx = 1", markers.UnbalancedMarker, "never closed"),
    ("x = 1\n### END SOLUTION", markers.UnbalancedMarker, "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", markers.UnbalancedMarker, "inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END HIDDEN CHECKS", markers.UnbalancedMarker, "without"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\ncheck('m01.x', x, expect=1)", markers.MixedCell, "not both"),
    ("check(name, x)", markers.BadCheck, "string literal"),
    ("check('heal-count', x)", markers.BadCheck, "must look like"),
    ("check('m02.x', x)", markers.BadCheck, "module 02"),
    ("check('m01.x', x, expect=compute())", markers.BadCheck, "expect= must be a literal"),
    ("check('m01.x', x, points=0)", markers.BadCheck, "positive"),
    ("check('m01.x', x, colour='red')", markers.BadCheck, "unknown keyword colour="),
    ("check('m01.x')", markers.BadCheck, "value_or_callable"),
    ("check('m01.x', x, **opts)", markers.BadCheck, "**keywords"),
    ("check('m01.x', x)\n### BEGIN HIDDEN CHECKS\nprint(1)\n### END HIDDEN CHECKS", markers.BadCheck, "no check()"),
    ("check('m01.x', x)\ncheck('m01.x', y)", markers.DuplicateCheck, "m01.x"),
    ("check('m01.x', x) +", markers.BadCheck, "plain Python"),
])
def test_does_a_malformed_cell_fail_loudly_naming_notebook_cell_and_problem(source, error, words):
    with pytest.raises(error) as raised:
        parse_notebook(notebook("x = 1", source), path="solutions/01_demo.ipynb")
    message = str(raised.value)
    assert "solutions/01_demo.ipynb, cell 2 (id 'c1')" in message
    assert words in message


def test_is_a_marker_in_a_markdown_cell_refused():
    with pytest.raises(markers.MarkerOutsideCode, match="cell 2 .*markdown"):
        parse_notebook(notebook("x = 1", markdown="### BEGIN SOLUTION"), path="01_demo.ipynb")


def test_are_cells_without_ids_refused():
    nb = notebook("x = 1")
    del nb.cells[0]["id"]
    with pytest.raises(markers.MissingCellId, match="no id"):
        parse_notebook(nb, path="01_demo.ipynb")


def test_is_a_duplicated_cell_id_refused():
    nb = notebook("x = 1", "y = 2")
    nb.cells[1]["id"] = "c0"
    with pytest.raises(markers.DuplicateCellId, match="cell 2"):
        parse_notebook(nb, path="01_demo.ipynb")


def test_must_a_solutions_notebook_be_named_nn_title():
    with pytest.raises(markers.BadNotebookName, match="NN_title"):
        parse_notebook(notebook("x = 1"), path="solutions/auto_healing.ipynb")


def test_is_an_unreadable_notebook_named(tmp_path):
    path = tmp_path / "01_broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(markers.UnreadableNotebook, match="01_broken.ipynb"):
        read_notebook(path)


def test_are_solution_regions_and_hidden_regions_located_by_line():
    parsed = parse_notebook(notebook(
        "a = 1\n    ### BEGIN SOLUTION\n    b = 2\n    ### END SOLUTION\nc = 3",
        "check('m01.a', a, expect=1)\n### BEGIN HIDDEN CHECKS\ncheck('m01.b', b, expect=2)\n### END HIDDEN CHECKS",
    ), path="01_demo.ipynb")
    assert parsed.cells[0].markers.solution_regions == ((1, 3),)
    assert parsed.cells[1].markers.hidden_regions == ((1, 3),)
    assert [c.hidden for c in parsed.checks] == [False, True]


def test_is_module_taken_from_the_file_name():
    assert markers.module_from_filename("04_auto_healing.ipynb") == "04"
    assert markers.module_from_filename("solutions/12-recap.ipynb") == "12"
    assert markers.module_from_filename("alice_04.ipynb") is None


def test_does_a_released_notebook_parse_too(course):
    _, notebooks = course
    nb = nbformat.read(notebooks / "01_basics.ipynb", as_version=4)
    parsed = parse_notebook(nb, path="01_basics.ipynb")
    assert all(call.sealed and not call.has_expect for call in parsed.checks)
    assert [c.check_id for c in parsed.checks] == ["m01.answer", "m01.start-count", "m01.running"]


def test_do_module_titles_read_the_same_way_whether_or_not_the_heading_repeats_the_number():
    """Issue 11 §3.4: "Module 05 — Auto-scaling" and "Auto-healing: ..." are shown alike, without the prefix."""
    def titled(heading):
        return markers.title_from_notebook({"cells": [{"cell_type": "markdown", "source": f"# {heading}\n"}]},
                                           "05_x.ipynb")

    assert titled("Module 05 — Auto-scaling") == "Auto-scaling"
    assert titled("Module 6: Deployments") == "Deployments"
    assert titled("Auto-healing: what ECS replaces") == "Auto-healing: what ECS replaces"
    assert titled("Modules and more") == "Modules and more"


def test_does_every_released_check_defer_its_value():
    """Issue 11 §3.2: every module's check cells give feedback (not a traceback) for an unanswered exercise."""
    import json
    from pathlib import Path

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    calls = 0
    for path in sorted(notebooks.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "sealed=" in source:
                for call in source.split("check(")[1:]:
                    if "sealed=" in call:
                        calls += 1
                        value = call.split(",", 1)[1].lstrip()
                        assert value.startswith("lambda"), (path.name, call[:80])
    assert calls > 50
