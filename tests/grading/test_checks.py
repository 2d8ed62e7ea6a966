"""In-notebook checks: feedback, points, paid hints, the tally, the progress store, no answer leaks."""

from __future__ import annotations

import pytest

from ecsdojo.grading import checks
from ecsdojo.grading.checks import CHECK_MIME, check, evaluate, hint
from ecsdojo.grading.seal import SealedSpec
from ecsdojo.progress_store import ProgressStore


@pytest.fixture(autouse=True)
def fresh_kernel_memory(monkeypatch):
    """Each test starts like a fresh kernel (no remembered checks, no cached store)."""
    monkeypatch.setattr(checks, "_known", {})
    monkeypatch.setattr(checks, "_last_failed", [])
    monkeypatch.setattr(checks, "_stores", {})


def sealed(check_id, **kwargs):
    return SealedSpec.build(check_id, **kwargs).encode()


def store_results(module):
    return {r.check_id: r for r in ProgressStore().check_results(module)}


def test_does_a_right_value_pass_with_points_explanation_and_tally(capsys):
    check("m04.heal-count", 3.0, points=2, sealed=sealed("m04.heal-count", expect=3, module_total=10,
                                                         explain="The scheduler replaced one task."))
    out = capsys.readouterr().out
    assert "✔ m04.heal-count passed: 2/2 points" in out
    assert "Why: The scheduler replaced one task." in out
    assert "Module 4: 2/10 points" in out
    result = store_results("04")["m04.heal-count"]
    assert result.passed and result.points == 2 and result.max_points == 2


def test_does_a_wrong_value_fail_with_a_hint_but_no_answer(capsys):
    check("m04.heal-count", 4, points=2, sealed=sealed("m04.heal-count", expect=3, hint="Count tasks, not containers.",
                                                       explain="Three: 3 tasks."))
    out = capsys.readouterr().out
    assert "✘ m04.heal-count not yet: 0/2 points" in out
    assert "Hint: Count tasks, not containers." in out
    assert "3" not in out.replace("m04", "") and "Three" not in out
    assert store_results("04")["m04.heal-count"].passed is False


def test_does_a_wrong_kind_of_answer_say_what_kind_is_expected():
    outcome = evaluate(SealedSpec.build("m01.x", expect=3), "three")
    assert not outcome.passed and outcome.reason == "Your answer is text; this check expects a number."


def test_does_a_callable_that_raises_fail_with_the_learners_error():
    outcome = evaluate(SealedSpec.build("m01.x", expect=3), lambda: undefined_name)  # noqa: F821
    assert not outcome.passed and "NameError" in outcome.reason and "undefined_name" in outcome.reason


def test_does_a_behaviour_check_need_true():
    spec = SealedSpec.build("m01.run")
    assert evaluate(spec, lambda: True).passed
    assert evaluate(spec, True).passed
    assert evaluate(spec, False).reason == "The condition is not met yet."
    assert "needs True or False" in evaluate(spec, 3).reason


def test_does_within_poll_live_state_until_it_holds():
    now = [0.0]
    state = {"running": 0}

    def sleep(seconds):
        now[0] += seconds
        state["running"] += 1

    outcome = evaluate(SealedSpec.build("m01.run"), lambda: state["running"] == 3, within=5,
                       clock=lambda: now[0], sleep=sleep)
    assert outcome.passed and state["running"] == 3
    state["running"] = -100
    outcome = evaluate(SealedSpec.build("m01.run"), lambda: state["running"] == 3, within=1,
                       clock=lambda: now[0], sleep=sleep)
    assert not outcome.passed and "waited 1 s" in outcome.reason


def test_do_paid_hints_cost_points_and_persist_in_the_store(capsys, monkeypatch):
    token = sealed("m02.name", expect="dojo", extra_hints=["It is short.", "It starts with d."])
    check("m02.name", "nope", points=2, hint_cost=0.5, sealed=token)
    assert "hint('m02.name') shows a hint (costs 0.5 points" in capsys.readouterr().out
    hint("m02.name")
    hint()                                                   # the last failed check
    hint()
    out = capsys.readouterr().out
    assert "Hint 1/2 for m02.name (costs 0.5 points): It is short." in out
    assert "Hint 2/2 for m02.name (costs 0.5 points): It starts with d." in out
    assert "No more hints for m02.name." in out
    monkeypatch.setattr(checks, "_known", {})                # a kernel restart does not forget hints taken
    check("m02.name", "dojo", points=2, hint_cost=0.5, sealed=token)
    assert "passed: 1/2 points" in capsys.readouterr().out
    assert store_results("02")["m02.name"].hints_used == 2


def test_does_hint_for_an_unknown_check_cost_nothing(capsys):
    hint("m02.unknown")
    assert "No hints found for m02.unknown" in capsys.readouterr().out
    assert store_results("02") == {}


def test_does_hint_work_before_a_first_check_from_the_released_notebook(capsys, monkeypatch, tmp_path):
    """Issue 11 §3.2: hint("m00.instance-count") before its check cell ever ran."""
    from .conftest import release_course

    _, notebooks = release_course(tmp_path / "course")
    monkeypatch.setenv("DOJO_COURSE", str(tmp_path / "course"))
    monkeypatch.chdir(tmp_path)
    hint("m01.start-count")
    out = capsys.readouterr().out
    assert "Hint 1/1 for m01.start-count (costs 0.5 points): Subtract the running tasks" in out
    assert store_results("01")["m01.start-count"].hints_used == 1


def test_does_a_released_check_turn_an_unanswered_exercise_into_feedback(capsys):
    """Issue 11 §3.2: the release defers the value (lambda), so NameError is feedback, not a traceback."""
    from ecsdojo.grading.release import deferred_value

    source = deferred_value("instance_count")
    assert source == "lambda: instance_count"
    check("m00.instance-count", eval(source), points=1, sealed=sealed("m00.instance-count", expect=2))
    out = capsys.readouterr().out
    assert "not yet: 0/1 points" in out and "Your code raised NameError: name 'instance_count' is not defined" in out
    assert deferred_value("lambda: x") == "lambda: x" and deferred_value("f(\n 1)") == "lambda: (f(\n 1))"


def test_does_a_deferred_function_name_still_work_as_a_behaviour_check(capsys):
    def three_running():
        return True

    check("m04.three-running", lambda: three_running, points=2, sealed=sealed("m04.three-running"))
    assert "passed: 2/2 points" in capsys.readouterr().out


def test_does_the_tally_count_hidden_points_and_say_so(capsys):
    check("m00.x", 1, points=1, sealed=sealed("m00.x", expect=1, module_total=9, hidden_points=2))
    out = capsys.readouterr().out
    assert "Module 0: 1/9 points (2 of them in hidden checks, run when your notebook is graded)" in out


def test_do_authored_checks_work_unsealed_in_the_solutions_notebook(capsys):
    check("m01.answer", 42, expect=42, points=2, explain="Six sevens.")
    assert "passed: 2/2 points" in capsys.readouterr().out


def test_is_a_damaged_sealed_spec_reported_not_raised(capsys):
    check("m01.answer", 42, sealed="dojo1:garbage")
    assert "damaged" in capsys.readouterr().out


def test_does_a_check_in_jupyter_display_html_text_and_the_grading_payload(monkeypatch):
    shown = []
    monkeypatch.setattr(checks, "_kernel_display", lambda: lambda bundle, raw: shown.append(bundle))
    check("m01.answer", 41, points=2, sealed=sealed("m01.answer", expect=42, hint="<b>six</b> sevens"))
    bundle = shown[0]
    assert set(bundle) == {"text/plain", "text/html", CHECK_MIME}
    assert "&lt;b&gt;six&lt;/b&gt;" in bundle["text/html"]
    assert bundle[CHECK_MIME] == {"check_id": "m01.answer", "module": "01", "passed": False, "points": 0.0,
                                  "max_points": 2.0, "hints_used": 0, "reason": "Not the expected answer yet.",
                                  "hints_left": 0, "hint_cost": 0.5}


def test_does_a_broken_store_not_break_the_check(capsys, monkeypatch, tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "progress.sqlite").write_text("not a database")
    monkeypatch.setenv("DOJO_HOME", str(tmp_path / "home"))
    check("m01.answer", 42, expect=42)
    out = capsys.readouterr().out
    assert "passed" in out and "progress not saved" in out


def test_are_check_and_hint_exported_by_ecsdojo():
    import ecsdojo

    assert ecsdojo.check is check and ecsdojo.hint is hint
    assert callable(checks.progress)


def test_is_ecsdojo_progress_the_function_even_after_the_store_was_imported():
    import subprocess
    import sys

    code = "import ecsdojo.progress_store\nfrom ecsdojo import progress\nassert callable(progress), progress"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_does_hint_answer_for_a_real_course_check_from_any_folder(capsys, monkeypatch, tmp_path):
    """Issue 11 §3.2: hint("m00.instance-count") before its check ran, from outside the repository."""
    monkeypatch.delenv("DOJO_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    hint("m00.instance-count")
    out = capsys.readouterr().out
    assert out.startswith("m00.instance-count has no extra hints. Its hint: ") and "Run the check cell" not in out
