"""`dojo grade` and `dojo bench grade` from the command line."""

from __future__ import annotations

import json

from ecsdojo.cli import main

from .conftest import make_submission, release_course


def test_does_dojo_grade_write_a_gradebook_and_feedback(tmp_path, capsys):
    solutions, notebooks = release_course(tmp_path)
    submission = make_submission(notebooks / "02_extra.ipynb", tmp_path / "alice" / "02_extra.ipynb",
                                 answers={"ex-name": "cluster_name = 'dojo'"})
    out = tmp_path / "grades"
    assert main(["grade", str(submission), "--out", str(out), "--solutions", str(solutions), "--workers", "1",
                 "--cell-timeout", "30"]) == 0
    printed = capsys.readouterr().out
    assert "ok                1/1" in printed and f"wrote {out / 'gradebook.csv'}" in printed
    assert ",02,1,1,ok," in (out / "gradebook.csv").read_text()
    assert (out / "02_extra.feedback.md").read_text().startswith("# Feedback: ")


def test_does_dojo_grade_flag_the_wrong_module(tmp_path, capsys):
    solutions, notebooks = release_course(tmp_path)
    submission = make_submission(notebooks / "02_extra.ipynb", tmp_path / "bob" / "02_extra.ipynb")
    assert main(["grade", str(submission), "--module", "01", "--out", str(tmp_path / "g"),
                 "--solutions", str(solutions)]) == 0
    assert "wrong-module" in capsys.readouterr().out
    assert "this is module 02's notebook, not module 01's" in (tmp_path / "g" / "02_extra.feedback.md").read_text()


def test_does_dojo_grade_fail_clearly_without_solutions(tmp_path, capsys):
    assert main(["grade", "x.ipynb", "--out", str(tmp_path / "g"), "--solutions", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "no solutions notebooks" in err and "(pass --solutions DIR)" in err


def test_does_dojo_grade_outside_the_repo_use_the_courses_solutions(tmp_path, capsys, monkeypatch):
    """Issue 11 §3.5: without --solutions and no ./solutions, the course (found from the package) is used."""
    from ecsdojo.grading import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOJO_COURSE", raising=False)
    found = cli._solutions_dir(None)
    assert found is not None and (found / "00_start_here.ipynb").is_file()


def test_does_dojo_grade_say_to_pass_solutions_when_there_is_no_course(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOJO_COURSE", str(tmp_path / "nowhere"))
    assert main(["grade", "x.ipynb", "--out", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert "no solutions folder" in err and "pass --solutions DIR" in err


def test_does_dojo_bench_grade_print_one_json_line(capsys):
    assert main(["bench", "grade", "--copies", "1", "--workers", "1", "--rounds", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["bench"] == "grade" and figures["submissions"] == 1 and figures["workers"] == 1
    assert figures["all_full_marks"] is True
    for key in ("serial_s", "parallel_s", "plain_s", "overhead_per_submission_s"):
        assert isinstance(figures[key], float)
