"""`dojo quiz --check`, `dojo quiz BANK` and `dojo drill` from the command line."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from ecsdojo.cli import main
from ecsdojo.progress_store import ProgressStore
from ecsdojo.quiz.bank import arrange, find_bank

from .conftest import BAD_BANKS, GOOD_BANKS, raw_question


def test_does_check_pass_good_banks_with_a_summary(capsys):
    assert main(["quiz", "--check", "--banks", str(GOOD_BANKS)]) == 0
    out = capsys.readouterr().out
    assert "Checked 2 bank(s)" in out and "8 valid question(s), 0 error(s)" in out
    assert "basics        6 question(s)  single 1, multiple 1, true_false 1, ordering 1, matching 1, numeric 1" in out
    assert "by type: single 1, multiple 1, true_false 1, ordering 1, matching 1, numeric 1, short 1, interview 1" in out
    assert "All banks are valid." in out


def test_does_check_fail_and_list_every_error_with_file_line_id_and_field(capsys):
    assert main(["quiz", "--check", "--banks", str(BAD_BANKS)]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml:10: [bad-two-correct] options: exactly one option must be correct, found 2" in out
    assert "broken.yaml:92: [bad-multiple] options[1].correct: must be true or false, not text" in out
    assert "not-yaml.yaml:6: is not valid YAML" in out
    assert "broken      1 question(s)  [16 error(s)]" in out


def test_does_check_fail_on_ids_repeated_across_banks(capsys, bank_writer):
    bank_writer("one", [raw_question("single", id="same")])
    bank_writer("two", [raw_question("single", id="same")])
    assert main(["quiz", "--check", "--banks", str(bank_writer.directory)]) == 1
    assert "two.yaml:3: [same] id: is already used in one.yaml:3" in capsys.readouterr().out


def test_does_check_fail_on_a_folder_without_banks(capsys, tmp_path):
    assert main(["quiz", "--check", "--banks", str(tmp_path)]) == 1
    assert "no bank files" in capsys.readouterr().out


def test_does_an_unknown_bank_fail_with_the_list_of_banks(capsys):
    assert main(["quiz", "nope", "--banks", str(GOOD_BANKS)]) == 1
    assert "no question bank named 'nope'" in capsys.readouterr().err


def test_does_dojo_quiz_without_a_bank_list_the_banks(capsys):
    assert main(["quiz", "--banks", str(GOOD_BANKS)]) == 0
    assert "interviews                     2 question(s)  Fixture interviews" in capsys.readouterr().out


def test_does_dojo_quiz_read_answers_from_stdin_and_store_them(capsys, monkeypatch):
    question = find_bank("basics", GOOD_BANKS).questions[0]
    right = [o.text for o in arrange(question, seed=None).options].index("AWS") + 1
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{right}\ntrue\n"))
    assert main(["quiz", "basics", "--banks", str(GOOD_BANKS), "--difficulty", "easy"]) == 0
    out = capsys.readouterr().out
    assert "[2/2]" in out and "Score: 2 / 2 answered" in out
    store = ProgressStore()                     # $DOJO_HOME, isolated per test by tests/conftest.py
    assert store.quiz_totals() == {"basics": (2.0, 2)}


def test_does_dojo_drill_run_in_a_real_pipe_and_end_cleanly_on_eof(tmp_path):
    env = {**os.environ, "DOJO_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "ecsdojo", "drill", "--banks", str(GOOD_BANKS), "--topics",
                             "iam", "--minutes", "1"],
                            input="task role and execution role\n", capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Mock interview: 1 question(s), timed." in result.stdout
    assert "Correct: 2 of 3 key concepts found (2 needed)." in result.stdout
    assert "Reviewed 0 card(s), interview score 1 / 1; next card due in 1 day(s)." in result.stdout
    # and with nothing at all on stdin
    empty = subprocess.run([sys.executable, "-m", "ecsdojo", "quiz", "basics", "--banks", str(GOOD_BANKS)],
                           input="", capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode == 0, empty.stderr
    assert "Stopped (end of input)." in empty.stdout and "Traceback" not in empty.stderr
    assert ProgressStore(tmp_path / "home" / "progress.sqlite").quiz_totals() == {"interviews": (1.0, 1)}


def _corrupt_store():
    from ecsdojo.progress_store import default_path

    path = default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an SQLite database, just bytes" * 100)
    return path


def test_does_dojo_quiz_say_the_store_is_corrupt_instead_of_a_traceback(capsys, monkeypatch):
    path = _corrupt_store()
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n"))
    assert main(["quiz", "basics", "--banks", str(GOOD_BANKS)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"dojo quiz: {path}: not a usable progress store") and "Traceback" not in err


def test_does_dojo_drill_say_the_store_is_corrupt_instead_of_a_traceback(capsys, monkeypatch):
    path = _corrupt_store()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["drill", "--banks", str(GOOD_BANKS)]) == 1
    assert capsys.readouterr().err.startswith(f"dojo drill: {path}: not a usable progress store")


def test_does_dojo_drill_misses_review_a_question_missed_a_moment_ago(capsys, monkeypatch):
    store = ProgressStore()
    store.record_answer(bank="basics", question_id="fx-numeric", answer=99, correct=False, score=0)
    store.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO("30\n"))
    assert main(["drill", "--misses", "--interview", "0", "--banks", str(GOOD_BANKS)]) == 0
    out = capsys.readouterr().out
    assert "Review of your misses: 1 question(s)" in out and "Reviewed 1 card(s)" in out
