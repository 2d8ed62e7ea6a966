"""Scoring every question type."""

from __future__ import annotations

import pytest

from ecsdojo.quiz.scoring import AnswerInvalid, mentions, score_answer


def test_does_a_single_choice_score_and_give_per_option_feedback(make_question):
    q = make_question("single")
    right = score_answer(q, "right")
    assert (right.correct, right.score) == (True, 1.0)
    assert "Your choice: Well done." in right.feedback_lines()
    wrong = score_answer(q, "wrong")
    assert (wrong.correct, wrong.score) == (False, 0.0)
    lines = wrong.feedback_lines()
    assert "Your choice: That one is wrong." in lines
    assert "The right answer: right (Well done.)" in lines
    assert "Why: Because the docs say so." in lines
    with pytest.raises(AnswerInvalid, match="option texts"):
        score_answer(q, "not an option")


def test_is_multiple_choice_all_or_nothing_with_partial_information(make_question):
    q = make_question("multiple")
    assert score_answer(q, ["b", "a"]).score == 1.0
    partial = score_answer(q, ["a", "c"])
    assert (partial.correct, partial.score) == (False, 0.0)
    assert partial.partial == pytest.approx(0.5)
    assert "2 of 4 options called right" in partial.verdict
    text = "\n".join(partial.details)
    assert "✗ b — missed: this one is correct" in text
    assert "✗ c — chosen, but this one is wrong. c is a trap." in text
    assert "✓ d — left out, right" in text


def test_does_true_false_use_the_feedback_of_the_chosen_answer(make_question):
    q = make_question("true_false")
    assert score_answer(q, True).correct
    wrong = score_answer(q, False)
    assert not wrong.correct
    assert wrong.details == ("No, it is true.", "The statement is true.")
    with pytest.raises(AnswerInvalid):
        score_answer(q, "true")


def test_does_ordering_count_items_in_place(make_question):
    q = make_question("ordering")
    assert score_answer(q, ["first", "second", "third"]).correct
    wrong = score_answer(q, ["first", "third", "second"])
    assert not wrong.correct and "1 of 3 items are in the right place" in wrong.verdict
    assert "  3. third" in wrong.details
    with pytest.raises(AnswerInvalid):
        score_answer(q, ["first", "second"])


def test_does_matching_mark_each_pair(make_question):
    q = make_question("matching")
    assert score_answer(q, {"task": "pod", "service": "deployment", "cluster": "cluster"}).correct
    wrong = score_answer(q, {"task": "deployment", "service": "pod", "cluster": "cluster"})
    assert not wrong.correct and "1 of 3 pairs are right" in wrong.verdict
    assert "✗ task → pod (you chose deployment)" in wrong.details
    assert "✓ cluster → cluster" in wrong.details


@pytest.mark.parametrize("value, correct", [(30, True), (28, True), (32.0, True), (32.5, False), (27.9, False)])
def test_does_numeric_accept_answers_within_the_tolerance(make_question, value, correct):
    outcome = score_answer(make_question("numeric"), value)
    assert outcome.correct is correct
    assert "Expected 30 seconds (± 2)" in outcome.details[0]


def test_is_numeric_exact_without_a_tolerance(make_question):
    q = make_question("numeric", tolerance=None, answer=0.1, unit=None)
    assert q.tolerance == 0
    assert score_answer(q, 0.30000000000000004 - 0.2).correct       # float noise is not an error
    assert not score_answer(q, 0.11).correct


def test_does_a_short_answer_pass_on_enough_key_concepts(make_question):
    q = make_question("short")
    passing = score_answer(q, "Set the Task-Roles and the taskRoleArn... and the EXECUTION role.")
    assert passing.correct and passing.score == 1.0
    assert "You mentioned: task role, execution role" in passing.details
    assert "Not mentioned: secrets" in passing.details
    assert passing.model_answer == "The task role and the execution role."
    failing = score_answer(q, "just the execution-role")
    assert not failing.correct and "1 of 3 key concepts found (2 needed)" in failing.verdict


def test_does_keyword_matching_respect_word_boundaries():
    assert mentions("uses awsvpc mode", "awsvpc")
    assert mentions("Containers", "container")
    assert not mentions("notawsvpc", "awsvpc")
    assert not mentions("anything", "  ")


def test_is_an_interview_scored_by_the_self_rating(make_question):
    q = make_question("interview")
    outcome = score_answer(q, {"text": "my answer", "rubric": [True, False], "rating": 4,
                               "seconds": 150, "allowed_seconds": 120})
    assert (outcome.correct, outcome.score, outcome.rating) == (True, 0.8, 4)
    assert outcome.partial == 0.5
    assert "✓ point one" in outcome.details and "✗ point two" in outcome.details
    assert "Time: 2:30 of 2:00 (over by 0:30)." in outcome.details
    assert outcome.model_answer == "A model answer."
    low = score_answer(q, {"text": "x", "rubric": [], "rating": 2})
    assert (low.correct, low.score) == (False, 0.4)
    with pytest.raises(AnswerInvalid, match="self-rating"):
        score_answer(q, {"text": "x", "rating": 6})
