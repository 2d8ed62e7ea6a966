"""The learner's per-module table: from the progress store, full points from the released notebooks."""

from __future__ import annotations

from ecsdojo.cli import main
from ecsdojo.grading.tally import ProgressTable, progress, read_catalogue
from ecsdojo.progress_store import ProgressStore


def record(store, module, check_id, points, max_points, passed=True):
    store.record_check(module=module, check_id=check_id, points=points, max_points=max_points, passed=passed)


def test_does_the_table_use_full_module_points_from_the_release(course):
    _, notebooks = course
    store = ProgressStore()
    record(store, "01", "m01.answer", 0, 2, passed=False)
    record(store, "01", "m01.answer", 2, 2)                  # the best attempt counts
    record(store, "01", "m01.running", 1.5, 2)
    table = ProgressTable.load(store=store, notebooks=[notebooks])
    assert [(r.module, r.title, r.points, r.max_points, r.passed, r.checks) for r in table.rows] == [
        ("01", "Basics", 3.5, 6, 2, 3), ("02", "Extra", 0, 1, 0, 1)]
    text = str(table)
    assert "1       Basics  3.5/6   2/3" in text and "Total" in text and "3.5/7" in text
    assert text.endswith("1 of the points are in hidden checks, which run only when your notebook is graded "
                         "(module 1: 1).")
    html = table._repr_html_()
    assert html.startswith('<table class="ecsdojo-progress">')
    assert '<td style="text-align:left">Basics</td>' in html and "<td>Basics</td>" not in html


def test_does_the_table_work_without_released_notebooks(tmp_path):
    store = ProgressStore()
    record(store, "07", "m07.x", 1, 3)
    table = ProgressTable.load(store=store, notebooks=[tmp_path])
    assert [(r.module, r.points, r.max_points) for r in table.rows] == [("07", 1, 3)]
    assert "No checks recorded yet" in str(ProgressTable(()))


def test_does_read_catalogue_skip_notebooks_that_are_not_released(tmp_path):
    (tmp_path / "junk.ipynb").write_text("{broken")
    assert read_catalogue([tmp_path, tmp_path / "missing"]) == {}


def test_is_progress_a_widget_in_notebooks(course):
    _, notebooks = course
    box = progress(widget=True, notebooks=[notebooks])
    view, button = box.children
    assert "Basics" in view.value and "0/6" in view.value
    record(ProgressStore(), "01", "m01.answer", 2, 2)
    button.click()
    assert "2/6" in view.value


def test_does_dojo_progress_print_the_learners_table(course, capsys):
    _, notebooks = course
    record(ProgressStore(), "02", "m02.cluster-name", 1, 1)
    assert main(["progress", "--notebooks", str(notebooks)]) == 0
    out = capsys.readouterr().out
    assert "Extra" in out and "1/1" in out and "0/6" in out


def test_do_points_agree_between_release_check_tally_progress_and_gradebook(course):
    """Issue 11 §3.4: one source of truth for a module's points (hidden checks included)."""
    import json

    from ecsdojo.grading.grade import load_keys
    from ecsdojo.grading.seal import SealedSpec

    solutions, notebooks = course
    meta = json.loads((notebooks / "01_basics.ipynb").read_text())["metadata"]["ecsdojo"]
    key = load_keys(solutions)["01"]
    table = ProgressTable.load(store=ProgressStore(), notebooks=[notebooks], module="01")
    cell = next(c for c in json.loads((notebooks / "01_basics.ipynb").read_text())["cells"] if c["id"] == "ck-answer")
    token = "".join(cell["source"]).split('sealed="', 1)[1].split('"', 1)[0]
    spec = SealedSpec.decode(token)
    assert meta["points"] == key.parsed.total == table.rows[0].max_points == spec.module_total == 6
    assert meta["hidden_points"] == spec.hidden_points == table.rows[0].hidden_points == 1


def test_does_dojo_progress_find_the_course_from_any_folder(tmp_path, monkeypatch, capsys):
    """Issue 11 §3.5: run from labs/terminal or $HOME, titles and full points still come from the course."""
    import json
    from pathlib import Path

    monkeypatch.delenv("DOJO_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    record(ProgressStore(), "00", "m00.fake-aws", 1, 1)
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    course = Path(__file__).resolve().parents[2] / "notebooks"
    meta = json.loads((course / "00_start_here.ipynb").read_text())["metadata"]["ecsdojo"]
    assert meta["title"] in out
    total = sum(json.loads(p.read_text())["metadata"]["ecsdojo"]["points"] for p in course.glob("*.ipynb"))
    assert f"1/{total:g}" in out and "Total" in out


def test_does_the_readme_module_map_show_the_points_the_course_grades():
    """Issue 11 §3.4: the README's "N pts" per module are the release's points (hidden checks included)."""
    import json
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    readme = {match.group(1): float(match.group(2)) for match in
              re.finditer(r"^\| (\d\d) [^|]*\|[^|]*\| (\d+) pts \|$", (repo / "README.md").read_text(), re.M)}
    released = {meta["module"]: meta["points"] for meta in
                (json.loads(p.read_text())["metadata"]["ecsdojo"] for p in (repo / "notebooks").glob("*.ipynb"))}
    assert readme == released
