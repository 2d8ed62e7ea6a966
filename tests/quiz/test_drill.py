"""Spaced repetition (SM-2), mock-interview choice, and the terminal quiz and drill on piped input."""

from __future__ import annotations

import io

import pytest

from ecsdojo.progress_store import ReviewCard
from ecsdojo.quiz.bank import arrange, find_bank, load_banks
from ecsdojo.quiz.drill import (DAY, due_questions, interview_questions, rating_for, record_result, run_drill,
                                run_quiz, schedule)
from ecsdojo.quiz.scoring import score_answer

from .conftest import GOOD_BANKS

NOW = 1_700_000_000.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def review_sequence(ratings):
    card = None
    for rating in ratings:
        card = schedule(card, question_id="q", bank="b", rating=rating, now=NOW)
    return card


# ---- SM-2 ---------------------------------------------------------------------------------------

def test_do_good_ratings_push_the_due_date_out():
    intervals = [review_sequence([4] * k).interval_days for k in (1, 2, 3, 4)]
    assert intervals == [1, 6, 15, 38]                         # 6 * 2.5 = 15, 15 * 2.5 = 37.5 -> 38
    card = review_sequence([4, 4, 4])
    assert card.due_at == NOW + 15 * DAY and card.repetitions == 3 and card.box == 4


def test_does_a_bad_rating_reset_the_card_but_keep_its_ease():
    before = review_sequence([5, 5, 5])
    after = schedule(before, question_id="q", bank="b", rating=1, now=NOW)
    assert (after.repetitions, after.interval_days, after.box) == (0, 1.0, 1)
    assert after.due_at == NOW + DAY
    assert after.ease == before.ease and after.last_rating == 1


def test_does_the_ease_follow_the_sm2_formula_and_floor():
    assert review_sequence([5]).ease == pytest.approx(2.6)
    assert review_sequence([3]).ease == pytest.approx(2.36)
    assert review_sequence([3] * 20).ease == pytest.approx(1.3)
    with pytest.raises(ValueError):
        schedule(None, question_id="q", bank="b", rating=6, now=NOW)


def test_which_rating_does_an_auto_scored_answer_get(make_question):
    q = make_question("multiple")
    assert rating_for(score_answer(q, ["a", "b"])) == 4
    assert rating_for(score_answer(q, ["a"])) == 2          # 3 of 4 options called right
    assert rating_for(score_answer(q, ["c", "d"])) == 1


def test_does_record_result_save_the_answer_and_schedule_a_card(store, make_question):
    q = make_question("single")
    card = record_result(store, q, "right", score_answer(q, "right"), now=NOW)
    assert store.latest_answer(q.bank, q.id).answer == "right"
    assert store.card(q.id) == card and card.due_at == NOW + DAY
    early = record_result(store, q, "right", score_answer(q, "right"), now=NOW + 60)
    assert early == card                                     # early good answers do not advance it
    due = record_result(store, q, "right", score_answer(q, "right"), now=NOW + 2 * DAY)
    assert due.interval_days == 6
    reset = record_result(store, q, "wrong", score_answer(q, "wrong"), now=NOW + 2 * DAY + 60)
    assert (reset.repetitions, reset.due_at) == (0, NOW + 3 * DAY + 60)
    assert store.quiz_totals() == {"made": (0.0, 1)}


def test_which_questions_are_due_and_which_come_first_in_an_interview(store):
    banks = load_banks(GOOD_BANKS)
    for qid, due_at in (("fx-single", NOW - 10), ("fx-numeric", NOW - 100), ("fx-short", NOW + DAY),
                        ("gone-from-banks", NOW - 1)):
        store.save_card(ReviewCard(qid, "x", 1, 2.5, 1, 1, due_at, 4))
    assert [q.id for q in due_questions(banks, store, now=NOW)] == ["fx-numeric", "fx-single"]
    assert [q.id for q in due_questions(banks, store, now=NOW, topics="health-checks")] == ["fx-numeric"]
    chosen = interview_questions(banks, store, n=2, seed=1, now=NOW)
    assert [q.id for q in chosen] == ["fx-interview", "fx-short"]   # never seen before not yet due
    assert [q.id for q in interview_questions(banks, store, topics="iam", n=5, now=NOW)] == ["fx-short"]


# ---- the terminal -------------------------------------------------------------------------------

def number_of(question, text, *, seed):
    return str([o.text for o in arrange(question, seed=seed).options].index(text) + 1)


def test_does_the_terminal_quiz_read_piped_answers_score_and_save_them(store):
    bank = find_bank("basics", GOOD_BANKS)
    by_id = {q.id: q for q in bank.questions}
    single, multiple = by_id["fx-single"], by_id["fx-multiple"]
    ordering, matching = by_id["fx-ordering"], by_id["fx-matching"]
    order_layout, match_layout = arrange(ordering, seed=None), arrange(matching, seed=None)
    lines = [
        "7", "hint", number_of(single, "AWS", seed=None),                         # out of range, hint, answer
        " ".join(number_of(multiple, t, seed=None) for t in ("EC2", "Fargate")),   # misses EXTERNAL
        "maybe", "t",
        " ".join(str(order_layout.items.index(item) + 1) for item in ordering.items),
        " ".join("abc"[match_layout.rights.index(p.right)] for p in matching.pairs),
        "31 seconds",
    ]
    out = io.StringIO()
    result = run_quiz(bank.questions, store=store, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out,
                      clock=FakeClock())
    text = out.getvalue()
    assert (result.asked, result.answered, result.score, result.stopped) == (6, 6, 5.0, None)
    assert "Please answer with one number from 1 to 3" in text
    assert "Hint: Think managed service." in text
    assert "Not quite: 3 of 4 options called right" in text
    assert "Please answer with t or f" in text
    assert "Expected 30 seconds (± 2); you answered 31 seconds." in text
    assert "Score: 5 / 6 answered (6 questions)" in text
    assert store.latest_answer("basics", "fx-multiple").answer == ["EC2", "Fargate"]
    assert store.latest_answer("basics", "fx-matching").correct
    assert store.quiz_totals() == {"basics": (5.0, 6)}
    assert store.card("fx-single").due_at == NOW + DAY


def test_does_the_terminal_quiz_stop_cleanly_at_end_of_input(store):
    bank = find_bank("basics", GOOD_BANKS)
    answer = number_of(bank.questions[0], "AWS", seed=4)
    out = io.StringIO()
    result = run_quiz(bank.questions[:3], store=store, seed=4, stdin=io.StringIO(answer + "\nskip\n"), stdout=out)
    assert (result.asked, result.answered, result.stopped) == (3, 1, "end of input")
    assert "Skipped." in out.getvalue() and "Stopped (end of input)." in out.getvalue()
    assert store.quiz_totals() == {"basics": (1.0, 1)}


def test_does_quit_stop_the_terminal_quiz(store):
    bank = find_bank("basics", GOOD_BANKS)
    result = run_quiz(bank.questions, store=store, stdin=io.StringIO("quit\n"), stdout=io.StringIO())
    assert (result.answered, result.stopped) == (0, "quit")


def test_does_the_drill_review_due_cards_then_run_a_timed_interview(store):
    banks = load_banks(GOOD_BANKS)
    numeric = banks.by_id()["fx-numeric"]
    store.save_card(ReviewCard("fx-numeric", "basics", 3, 2.5, 6, 2, NOW - 60, 4))
    store.save_card(ReviewCard("fx-short", "interviews", 1, 2.5, 1, 1, NOW + DAY, 4))   # not due
    ticks = FakeClock(0.0)
    # the answer takes 200 s of the 180 s the question allows (its own `minutes: 3`)
    stdin = io.StringIO("30\nECS runs the control plane for you;\nless to operate.\n\n1 3\n4\n")

    class SlowReader(io.StringIO):
        def readline(self, *args):
            ticks.advance(100)
            return stdin.readline()
    out = io.StringIO()
    review, interview = run_drill(banks, store=store, topics=None, n=5, interviews=1, seed=0,
                                  stdin=SlowReader(), stdout=out, clock=FakeClock(), monotonic=ticks)
    text = out.getvalue()
    assert review.answered == 1 and review.score == 1.0
    assert store.card(numeric.id).interval_days == 15 and store.card(numeric.id).repetitions == 3
    assert interview.answered == 1 and interview.score == pytest.approx(0.8)
    saved = store.latest_answer("interviews", "fx-interview").answer
    assert saved["text"] == "ECS runs the control plane for you;\nless to operate."
    assert saved["rubric"] == [True, False, True] and saved["rating"] == 4
    assert saved["allowed_seconds"] == 180 and saved["seconds"] > 180
    assert "You have 3 minute(s)." in text and "Model answer: ECS when you are all-in" in text
    assert "over by" in text
    assert store.card("fx-interview").due_at == NOW + DAY


def test_does_the_drill_say_when_nothing_is_due_and_end_on_eof(store):
    banks = load_banks(GOOD_BANKS)
    out = io.StringIO()
    review, interview = run_drill(banks, store=store, topics=["iam"], interviews=1, stdin=io.StringIO(""),
                                  stdout=out, clock=FakeClock())
    text = out.getvalue()
    assert "nothing is due (no review cards yet)" in text
    assert interview.stopped == "end of input" and "Stopped (end of input)." in text


def test_do_hint_and_skip_work_at_the_start_of_an_interview_answer(store):
    question = find_bank("interviews", GOOD_BANKS).questions[1]
    out = io.StringIO()
    result = run_quiz([question], store=store, stdin=io.StringIO("hint\nskip\n"), stdout=out)
    assert (result.answered, result.stopped) == (0, None)
    assert "No hint for this one." in out.getvalue() and "Skipped." in out.getvalue()


def _miss_numeric(store, clock):
    """Answer fx-numeric (30 s, tolerance 2) wrong in the terminal quiz at `clock`'s time."""
    question = load_banks(GOOD_BANKS).by_id()["fx-numeric"]
    run_quiz([question], store=store, stdin=io.StringIO("99\n"), stdout=io.StringIO(), clock=clock)
    assert store.latest_answer("basics", "fx-numeric").correct is False
    return question


def test_does_the_drill_point_to_misses_when_nothing_is_due_right_after_a_miss(store):
    clock = FakeClock()
    _miss_numeric(store, clock)
    clock.advance(60)
    out = io.StringIO()
    review, _ = run_drill(load_banks(GOOD_BANKS), store=store, interviews=0, stdin=io.StringIO(""), stdout=out,
                          clock=clock)
    assert review.asked == 0
    assert "nothing is due (next card due in 1 day(s))" in out.getvalue()
    assert ("You missed 1 question(s) in the last 24 hours: `dojo drill --misses` reviews them now."
            in " ".join(out.getvalue().split()))


def test_does_drill_misses_review_todays_misses_now_and_drop_them_once_right(store):
    clock = FakeClock()
    _miss_numeric(store, clock)
    clock.advance(3600)
    out = io.StringIO()
    review, _ = run_drill(load_banks(GOOD_BANKS), store=store, interviews=0, misses=True, stdin=io.StringIO("30\n"),
                          stdout=out, clock=clock)
    assert "Review of your misses: 1 question(s) answered wrong in the last 24 hours." in out.getvalue()
    assert (review.answered, review.score) == (1, 1.0)
    again = io.StringIO()
    run_drill(load_banks(GOOD_BANKS), store=store, interviews=0, misses=True, stdin=io.StringIO(""), stdout=again,
              clock=clock)
    assert "no question answered wrong in the last 24 hours" in again.getvalue()


def test_are_misses_older_than_a_day_left_to_spaced_repetition(store):
    clock = FakeClock()
    _miss_numeric(store, clock)
    clock.advance(DAY + 1)
    out = io.StringIO()
    run_drill(load_banks(GOOD_BANKS), store=store, interviews=0, misses=True, stdin=io.StringIO(""), stdout=out,
              clock=clock)
    assert "no question answered wrong in the last 24 hours" in out.getvalue()
