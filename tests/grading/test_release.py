"""`dojo release`: stubs, no hidden checks, sealed answers, cleared outputs, deterministic and safe."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from ecsdojo.cli import main
from ecsdojo.grading.release import HIDDEN_PLACEHOLDER, ReleaseRefused, plan_release, release

from .conftest import HIDDEN_CODE, HIDDEN_TOKEN, build_course, read_json


def released_cells(notebooks):
    return {cell.id: cell for cell in nbformat.read(notebooks / "01_basics.ipynb", as_version=4).cells}


def test_do_solutions_become_stubs_tagged_for_nbval(course):
    _, notebooks = course
    cells = released_cells(notebooks)
    assert cells["ex-answer"].source == ('# YOUR CODE HERE\n'
                                         'raise NotImplementedError("replace this line with your code")')
    start = cells["ex-start"].source
    assert start.startswith("def tasks_to_start(desired, running):")
    assert '    # YOUR CODE HERE\n    raise NotImplementedError(' in start and "max(0" not in start
    for cell_id in ("ex-answer", "ex-start", "ex-run", "ck-answer", "ck-start", "ck-run"):
        assert "raises-exception" in cells[cell_id].metadata["tags"]
    assert cells["ck-answer"].metadata["editable"] is False and cells["ck-answer"].metadata["deletable"] is False


def test_are_hidden_checks_and_answers_absent_from_the_release(course):
    _, notebooks = course
    text = (notebooks / "01_basics.ipynb").read_text()
    for secret in (HIDDEN_TOKEN, HIDDEN_CODE, "m01.start-count-never-negative", "BEGIN HIDDEN", "expect=",
                   "Six sevens", "forty-two", "6 * 7", "max(0, desired - running)"):
        assert secret not in text, secret
    cells = released_cells(notebooks)
    assert cells["ck-answer"].source.startswith('check("m01.answer", lambda: answer, points=2,\n      sealed="dojo1:')
    assert "42" not in cells["ck-answer"].source


def test_are_cell_ids_kept_and_metadata_written(course):
    solutions, notebooks = course
    source_ids = [c["id"] for c in read_json(solutions / "01_basics.ipynb")["cells"]]
    released = read_json(notebooks / "01_basics.ipynb")
    assert [c["id"] for c in released["cells"]] == source_ids
    meta = released["metadata"]["ecsdojo"]
    assert meta["module"] == "01" and meta["title"] == "Basics" and meta["source"] == "01_basics.ipynb"
    assert meta["checks"] == {"m01.answer": 2, "m01.start-count": 1, "m01.running": 2}


def test_are_outputs_cleared_only_for_exercise_and_check_cells(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = new_notebook(cells=[
        new_code_cell("print('demo')", id="demo", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="demo\n")]),
        new_code_cell("### BEGIN SOLUTION\nx = 1\nx\n### END SOLUTION", id="ex", execution_count=2,
                      outputs=[new_output("execute_result", data={"text/plain": "1"}, execution_count=2)]),
        new_code_cell("check('m03.x', x, expect=1)", id="ck", execution_count=3,
                      outputs=[new_output("stream", name="stdout", text="passed\n")]),
    ])
    nbformat.write(nb, solutions / "03_outputs.ipynb")
    release(solutions, tmp_path / "notebooks")
    cells = {c.id: c for c in nbformat.read(tmp_path / "notebooks" / "03_outputs.ipynb", as_version=4).cells}
    assert cells["demo"].outputs[0]["text"] == "demo\n" and cells["demo"].execution_count == 1
    assert cells["ex"].outputs == [] and cells["ex"].execution_count is None
    assert cells["ck"].outputs == [] and cells["ck"].execution_count is None


def test_does_a_hidden_only_check_cell_keep_a_placeholder(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = new_notebook(cells=[new_code_cell("x = 1", id="a"),
                             new_code_cell("### BEGIN HIDDEN CHECKS\ncheck('m03.h', x, expect=1)\n"
                                           "### END HIDDEN CHECKS", id="h")])
    nbformat.write(nb, solutions / "03_hidden.ipynb")
    release(solutions, tmp_path / "notebooks")
    cells = nbformat.read(tmp_path / "notebooks" / "03_hidden.ipynb", as_version=4).cells
    assert cells[1].source == HIDDEN_PLACEHOLDER


def test_does_a_second_release_change_nothing(course):
    solutions, notebooks = course
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in notebooks.iterdir()}
    plan = release(solutions, notebooks)
    assert plan.writes == {} and plan.removes == [] and len(plan.unchanged) == 2
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in notebooks.iterdir()} == before


def test_does_release_check_pass_on_empty_or_missing_solutions_and_fail_when_stale(tmp_path, capsys):
    assert main(["release", "--check", "--solutions", str(tmp_path / "missing"), "--out", str(tmp_path / "nb")]) == 0
    (tmp_path / "empty").mkdir()
    assert main(["release", "--check", "--solutions", str(tmp_path / "empty"), "--out", str(tmp_path / "nb")]) == 0
    solutions = build_course(tmp_path / "course")
    out = tmp_path / "course" / "notebooks"
    args = ["--solutions", str(solutions), "--out", str(out)]
    assert main(["release", "--check", *args]) == 1                      # nothing released yet
    assert not out.exists()                                              # --check writes nothing
    assert main(["release", *args]) == 0
    assert main(["release", "--check", *args]) == 0
    nb = nbformat.read(solutions / "02_extra.ipynb", as_version=4)
    nb.cells[0].source += "\nMore words."
    nbformat.write(nb, solutions / "02_extra.ipynb")
    assert main(["release", "--check", *args]) == 1
    assert "stale: " in capsys.readouterr().out


def test_does_release_keep_a_notebook_it_did_not_generate_and_go_on(course):
    solutions, notebooks = course
    mine = notebooks / "my_work.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), mine)
    before = mine.read_bytes()
    (notebooks / "01_basics.ipynb").unlink()
    plan = release(solutions, notebooks, force=True)
    assert plan.kept == [mine] and notebooks / "01_basics.ipynb" in plan.writes
    assert mine.read_bytes() == before


def test_does_release_refuse_to_write_over_a_learners_notebook_of_a_generated_name(course):
    solutions, notebooks = course
    mine = notebooks / "01_basics.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), mine)
    before = mine.read_bytes()
    with pytest.raises(ReleaseRefused, match="01_basics.ipynb.*not a notebook `dojo release` generated"):
        release(solutions, notebooks, force=True)
    assert mine.read_bytes() == before


@pytest.mark.parametrize("name", ["01_my_copy.ipynb", "01_basics-Copy1.ipynb"])
def test_does_release_force_never_delete_a_learners_copy_of_a_generated_notebook(course, capsys, name):
    """JupyterLab's Duplicate and Save As put copies, metadata and all, beside the generated notebook."""
    solutions, notebooks = course
    copy = notebooks / name
    copy.write_bytes((notebooks / "01_basics.ipynb").read_bytes())
    nb = nbformat.read(solutions / "01_basics.ipynb", as_version=4)
    nb.cells[0].source += "\nNew intro."
    nbformat.write(nb, solutions / "01_basics.ipynb")
    before = copy.read_bytes()
    assert main(["release", "--solutions", str(solutions), "--out", str(notebooks), "--force"]) == 0
    assert copy.read_bytes() == before
    assert "New intro." in (notebooks / "01_basics.ipynb").read_text()
    assert f"kept {copy}" in capsys.readouterr().out


def test_does_release_force_keep_an_edited_notebook_whose_source_is_gone(course):
    solutions, notebooks = course
    target = notebooks / "02_extra.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].source = "my = 'work'"
    nbformat.write(nb, target)
    os.remove(solutions / "02_extra.ipynb")
    plan = release(solutions, notebooks, force=True)
    assert plan.removes == [] and plan.kept == [target] and "my = 'work'" in target.read_text()


def test_does_release_refuse_to_overwrite_an_edited_release_unless_forced(course):
    solutions, notebooks = course
    target = notebooks / "01_basics.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].source = "answer = 42  # my work"
    nbformat.write(nb, target)
    nb = nbformat.read(solutions / "01_basics.ipynb", as_version=4)
    nb.cells[0].source += "\nNew intro."
    nbformat.write(nb, solutions / "01_basics.ipynb")
    with pytest.raises(ReleaseRefused, match="edited since it was released"):
        release(solutions, notebooks)
    assert "my work" in target.read_text()
    release(solutions, notebooks, force=True)
    assert "my work" not in target.read_text() and "New intro." in target.read_text()


def test_is_an_executed_but_unedited_release_overwritten_quietly(course):
    solutions, notebooks = course
    target = notebooks / "02_extra.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(nb, target)
    plan = release(solutions, notebooks)
    assert target in plan.writes and "ran\\n" not in target.read_text()


def test_does_release_refuse_to_write_into_the_solutions_folder(tmp_path):
    solutions = build_course(tmp_path)
    with pytest.raises(ReleaseRefused, match="apart from the solutions folder"):
        plan_release(solutions, solutions)
    with pytest.raises(ReleaseRefused):
        plan_release(solutions, solutions / "notebooks")


def test_is_a_generated_notebook_whose_source_is_gone_removed(course):
    solutions, notebooks = course
    os.remove(solutions / "02_extra.ipynb")
    plan = release(solutions, notebooks)
    assert plan.removes == [notebooks / "02_extra.ipynb"]
    assert not (notebooks / "02_extra.ipynb").exists()


def test_does_a_bad_solutions_notebook_fail_loudly_while_the_others_are_released(tmp_path, capsys):
    solutions = build_course(tmp_path)
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1", id="broken")])
    nbformat.write(nb, solutions / "03_broken.ipynb")
    out = tmp_path / "notebooks"
    assert main(["release", "--solutions", str(solutions), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "03_broken.ipynb, cell 1 (id 'broken'), line 1: unbalanced marker" in err
    assert sorted(p.name for p in out.iterdir()) == ["01_basics.ipynb", "02_extra.ipynb"]


def test_is_the_release_text_deterministic_json(course):
    _, notebooks = course
    text = (notebooks / "01_basics.ipynb").read_text()
    assert text.endswith("}\n")
    assert json.loads(text)["nbformat_minor"] >= 5


def test_nbval_markers_become_cell_tags_learners_do_not_see():
    """`# NBVAL_IGNORE_OUTPUT` is test plumbing: the release moves it into the tag nbval reads the same way."""
    from ecsdojo.grading.release import nbval_markers_to_tags

    cell = {"cell_type": "code", "metadata": {}, "source": "# NBVAL_IGNORE_OUTPUT\n# (varies)\nprogress()"}
    nbval_markers_to_tags(cell)
    assert cell["source"] == "# (varies)\nprogress()"
    assert cell["metadata"]["tags"] == ["nbval-ignore-output"]
    untouched = {"cell_type": "code", "metadata": {}, "source": "x = 1  # NBVAL_IGNORE_OUTPUT is not alone here"}
    nbval_markers_to_tags(untouched)
    assert "tags" not in untouched["metadata"]


def test_no_released_course_notebook_shows_an_nbval_marker():
    import json

    from tests.conftest import ROOT

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            assert "NBVAL_" not in "".join(cell["source"]), f"{path.name}: a learner cell shows an nbval marker"
