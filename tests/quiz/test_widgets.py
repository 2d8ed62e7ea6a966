"""Driving the notebook widgets as a learner would: choose, click Submit, read feedback, re-open."""

from __future__ import annotations

import sys
import types

import pytest

from ecsdojo.progress_store import ReviewCard
from ecsdojo.quiz.drill import DAY
from ecsdojo.quiz.widgets import (InterviewView, MatchingView, MultipleView, NumericView, OrderingView,
                                  SingleView, TrueFalseView, mock_interview, quiz, review)

from .conftest import BAD_BANKS, GOOD_BANKS

NOW = 1_700_000_000.0


class FakeClock:
    def __init__(self, start: float = NOW) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def basics(store, **kwargs):
    return quiz("basics", banks_dir=GOOD_BANKS, store=store, **kwargs)


def answer_everything(q):
    """Answer every question of the basics bank: 4 right, the multiple and the matching wrong."""
    q.view("fx-single").select("AWS")
    q.view("fx-multiple").select(["EC2", "Lambda"])
    q.view("fx-true-false").select(True)
    q.view("fx-ordering").select(["PROVISIONING", "PENDING", "RUNNING", "STOPPED"])
    q.view("fx-matching").select({"Task": "Pod", "Service": "Cluster", "Cluster": "Deployment"})
    q.view("fx-numeric").select(31.5)
    for view in q.views:
        view.submit_button.click()


def test_does_each_question_type_get_the_right_control(store):
    q = basics(store)
    kinds = [type(v) for v in q.views]
    assert kinds == [SingleView, MultipleView, TrueFalseView, OrderingView, MatchingView, NumericView]
    assert q.view("fx-single").choice.options == ("No", "You", "AWS")   # shuffled, stable per question
    assert sorted(q.view("fx-matching").dropdowns) == ["Cluster", "Service", "Task"]


def test_does_submit_score_show_feedback_and_save_the_answer(store):
    q = basics(store)
    assert str(q.score) == "Score: 0 / 6 (0 of 6 answered)"
    answer_everything(q)
    single = q.view("fx-single")
    assert single.outcome.correct
    assert single.feedback_text.splitlines()[:2] == ["Correct.", "Your choice: Yes, it is a managed control plane."]
    multiple = q.view("fx-multiple").feedback_text
    assert "Not quite: 1 of 4 options called right" in multiple
    assert "✗ Lambda — chosen, but this one is wrong. Lambda is not an ECS launch type." in multiple
    assert "✗ Service → Deployment (you chose Cluster)" in q.view("fx-matching").feedback_text
    assert "Expected 30 seconds (± 2); you answered 31.5 seconds." in q.view("fx-numeric").feedback_text
    assert str(q.score) == "Score: 4 / 6 (6 of 6 answered)"
    assert "Score: 4 / 6" in q.score_label.value
    assert store.quiz_totals() == {"basics": (4.0, 6)}
    saved = store.latest_answer("basics", "fx-matching")
    assert saved.answer == {"Task": "Pod", "Service": "Cluster", "Cluster": "Deployment"} and not saved.correct
    assert store.card("fx-numeric") is not None


def test_does_a_rerun_show_the_saved_answers_with_their_feedback(store):
    answer_everything(basics(store))
    again = basics(store)
    assert again.view("fx-single").choice.value == "AWS"
    assert [text for text, box in again.view("fx-multiple").boxes.items() if box.value] == ["Lambda", "EC2"]
    assert again.view("fx-true-false").choice.value is True
    assert again.view("fx-ordering").answer == ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]
    assert again.view("fx-matching").dropdowns["Service"].value == "Cluster"
    assert again.view("fx-numeric").number.value == 31.5
    feedback = again.view("fx-multiple").feedback_text
    assert feedback.startswith("Your saved answer from ") and "1 of 4 options called right" in feedback
    assert str(again.score) == "Score: 4 / 6 (6 of 6 answered)"
    # changing an answer and submitting again replaces it
    again.view("fx-multiple").select(["EC2", "Fargate", "EXTERNAL"])
    again.view("fx-multiple").submit_button.click()
    assert str(again.score) == "Score: 5 / 6 (6 of 6 answered)"
    assert store.quiz_totals() == {"basics": (5.0, 6)}


def test_is_an_empty_submission_refused_without_saving(store):
    q = basics(store)
    for qid in ("fx-single", "fx-multiple", "fx-true-false", "fx-matching"):
        view = q.view(qid)
        view.submit_button.click()
        assert view.outcome is None
        assert view.feedback_text.endswith("first.")
    assert store.quiz_totals() == {}


def test_do_the_hint_and_the_ordering_buttons_work(store):
    q = basics(store)
    single = q.view("fx-single")
    single.hint_button.click()
    assert single.feedback_text == "Hint: Think managed service."
    ordering = q.view("fx-ordering")
    start = list(ordering.answer)
    first_row_down = ordering.rows.children[0].children[1]
    first_row_down.click()
    assert ordering.answer == [start[1], start[0], *start[2:]]
    assert ordering.rows.children[0].children[0].disabled        # the top item cannot move up


def test_do_filters_seed_and_n_choose_the_questions(store):
    assert [q.id for q in basics(store, difficulty="medium").questions] == ["fx-multiple", "fx-ordering",
                                                                             "fx-matching"]
    seeded = basics(store, seed=11, n=3)
    assert len(seeded) == 3
    assert [q.id for q in seeded.questions] == [q.id for q in basics(store, seed=11, n=3).questions]
    empty = basics(store, topic="no-such-topic")
    assert len(empty) == 0 and "No questions match" in empty.widget.children[1].value


def test_does_an_interview_question_reveal_then_save_the_self_rating(store):
    q = quiz("interviews", banks_dir=GOOD_BANKS, store=store)
    view = q.view("fx-interview")
    assert isinstance(view, InterviewView) and not view.revealed
    view.select("ECS is simpler to operate; Kubernetes is portable.")
    view.submit_button.click()
    assert view.revealed and view.outcome is None and store.quiz_totals() == {}
    view.save_button.click()
    assert view.feedback_text == "Choose a rating from 0 to 5 first."
    outcome = view.rate(rubric=[True, True, False], rating=3)
    assert outcome.correct and outcome.score == pytest.approx(0.6)
    assert "You rated your answer 3/5 and made 2 of 3 rubric points." in view.feedback_text
    assert "Model answer: ECS when you are all-in" in view.feedback_text
    saved = store.latest_answer("interviews", "fx-interview").answer
    assert saved["rubric"] == [True, True, False] and saved["rating"] == 3
    again = quiz("interviews", banks_dir=GOOD_BANKS, store=store).view("fx-interview")
    assert again.revealed and again.rating.value == 3 and again.rubric_boxes[1].value
    assert again.text.value.startswith("ECS is simpler")


def test_is_a_short_answer_scored_by_keywords(store):
    view = quiz("interviews", banks_dir=GOOD_BANKS, store=store).view("fx-short")
    view.select("The taskRoleArn and the execution role")
    outcome = view.submit()
    assert outcome.correct and "Model answer: taskRoleArn for the application" in view.feedback_text


def test_does_a_bad_bank_get_reported_while_the_others_load(store):
    q = quiz(banks_dir=BAD_BANKS, store=store)
    assert [question.id for question in q.questions] == ["good-one"]
    assert any("not-yaml.yaml" in str(issue) for issue in q.issues)
    assert any("broken.yaml:10: [bad-two-correct] options" in str(issue) for issue in q.issues)
    warning = q.widget.children[1]
    assert "problem(s) in the question bank" in warning.get_title(0)
    assert "bad-two-correct" in warning.children[0].value


def test_does_a_mock_interview_time_each_question(store):
    ticks = FakeClock(0.0)
    interview = mock_interview(topics="ecs-vs-kubernetes", n=3, minutes=2, banks_dir=GOOD_BANKS, store=store,
                               clock=FakeClock(), monotonic=ticks)
    assert [q.id for q in interview.questions] == ["fx-interview"]
    view = interview.views[0]
    assert view.body.layout.display == "none" and "press Start" in view.timer.text
    view.start_button.click()
    assert view.body.layout.display is None and view.timer.ticker.playing
    ticks.advance(75)
    view.timer.ticker.value += 1                 # the browser ticks the hidden Play widget each second
    assert view.timer.text == "⏱ 0:45 left" and "0:45 left" in view.timer.label.value
    ticks.advance(60)
    view.timer.ticker.value += 1
    assert view.timer.text == "⏱ time is up: over by 0:15"
    view.select("Less to operate with ECS.")
    view.submit()
    assert not view.timer.ticker.playing
    ticks.advance(500)                           # rating time does not count
    view.rate(rubric=[True, False, False], rating=2)
    saved = store.latest_answer("interviews", "fx-interview").answer
    assert saved["seconds"] == 135 and saved["allowed_seconds"] == 120
    assert "Time: 2:15 of 2:00 (over by 0:15)." in view.feedback_text
    assert store.card("fx-interview").due_at == NOW + DAY


def test_does_a_mock_interview_start_blank_and_prefer_unseen_questions(store):
    first = mock_interview(n=1, seed=0, banks_dir=GOOD_BANKS, store=store, clock=FakeClock())
    view = first.views[0]
    view.select("The task role and the execution role." if view.question.type == "short" else "An answer")
    view.submit() if view.question.type == "short" else view.rate(rating=4)
    second = mock_interview(n=1, seed=0, banks_dir=GOOD_BANKS, store=store, clock=FakeClock())
    assert second.questions[0].id != first.questions[0].id
    assert second.views[0].outcome is None and second.views[0].feedback_text == ""


def test_does_review_serve_due_cards_and_push_them_out(store):
    store.save_card(ReviewCard("fx-true-false", "basics", 2, 2.5, 1, 1, NOW - 10, 4))
    store.save_card(ReviewCard("fx-numeric", "basics", 1, 2.5, 1, 1, NOW + DAY, 4))
    session = review(n=5, banks_dir=GOOD_BANKS, store=store, clock=FakeClock())
    assert [q.id for q in session.questions] == ["fx-true-false"]
    assert session.views[0].outcome is None                           # no prefill in a review
    session.views[0].select(True)
    session.views[0].submit_button.click()
    card = store.card("fx-true-false")
    assert (card.repetitions, card.interval_days, card.due_at) == (2, 6, NOW + 6 * DAY)
    nothing = review(banks_dir=GOOD_BANKS, store=store, clock=FakeClock())
    assert len(nothing) == 0
    assert "Nothing is due for review (next card due in 1 day(s))" in nothing.widget.children[1].value


def test_is_the_quiz_shown_once_per_cell_in_a_kernel(store, monkeypatch):
    shown = []
    shell = types.SimpleNamespace(kernel=object(), execution_count=7)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setitem(sys.modules, "IPython.display", types.SimpleNamespace(display=shown.append))
    q = basics(store)
    assert shown == [q.widget]
    q._ipython_display_()                          # the cell's last expression: not shown twice
    assert shown == [q.widget]
    shell.execution_count = 8                      # `q` alone in a later cell shows it again
    q._ipython_display_()
    assert shown == [q.widget, q.widget]


def test_is_nothing_displayed_outside_a_kernel(store, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert basics(store)._displayed_at is None


def test_is_the_public_ecsdojo_quiz_callable_although_it_names_a_package_too(store):
    from ecsdojo import quiz as public_quiz       # may be the package ecsdojo.quiz: it forwards the call
    assert [q.id for q in public_quiz("basics", banks_dir=GOOD_BANKS, store=store, n=1).questions] == ["fx-single"]


def test_quiz_filters_by_type_and_picks_by_id(tmp_path):
    """quiz(types=...) keeps only those question types; quiz(ids=...) shows exactly those questions."""
    from ecsdojo.progress_store import ProgressStore
    from ecsdojo.quiz.widgets import quiz
    from tests.conftest import ROOT

    store = ProgressStore(tmp_path / "p.sqlite")
    matching = quiz("ecs-vs-kubernetes", types=["matching"], banks_dir=ROOT / "quizzes", store=store)
    assert matching.questions and {q.type for q in matching.questions} == {"matching"}
    first, second = [q.id for q in matching.questions][:2] if len(matching.questions) > 1 else \
        ([matching.questions[0].id] * 2)
    picked = quiz(None, ids=[second, first], banks_dir=ROOT / "quizzes", store=store)
    assert [q.id for q in picked.questions] == list(dict.fromkeys([second, first]))
