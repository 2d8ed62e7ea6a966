"""Spaced repetition, mock interviews, and the terminal quiz and drill.

Spaced repetition is **SM-2** (SuperMemo 2, P. Wozniak 1990), one card per question id in the
progress store's ``review_cards``:

* every answer is rated 0..5: interview answers by the learner, auto-scored answers by
  :func:`rating_for` (right = 4, partly right = 2, wrong = 1);
* a rating of 3 or more is a successful review: the interval goes 1 day, 6 days, then the previous
  interval × ease (rounded up to whole days), and the ease moves by
  ``0.1 - (5 - r) * (0.08 + (5 - r) * 0.02)`` (never below 1.3);
* a rating below 3 resets the card: repetitions back to 0, due again in 1 day, ease unchanged;
* answering a card before it is due does not advance it (a bad answer still resets it);
* ``box`` mirrors the streak (repetitions + 1), a Leitner-style box for display.

Example::

    card = schedule(None, question_id="task-role-1", bank="iam", rating=4, now=time.time())
    card.interval_days   # 1.0
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ecsdojo.progress_store import ProgressStore, ReviewCard
from ecsdojo.quiz.bank import BankSet, Question, arrange, matching_questions
from ecsdojo.quiz.outcome import Outcome
from ecsdojo.quiz.terminal import SKIP, EndOfInput, QuitRequested, Terminal  # noqa: F401 (re-exported)
from ecsdojo.quiz.types import REGISTRY, interview_types, question_type
from ecsdojo.quiz.types.interview import RATING_GUIDE  # noqa: F401 (re-exported)

DAY = 86400.0
INITIAL_EASE = 2.5
MINIMUM_EASE = 1.3
PASSING_RATING = 3
# The types a mock interview asks, and their default minutes (each type's ``interview_minutes``; the
# functions below ask the registry itself).
INTERVIEW_TYPES = interview_types()
DEFAULT_MINUTES = {name: REGISTRY[name].interview_minutes for name in INTERVIEW_TYPES}


# ---- SM-2 ---------------------------------------------------------------------------------------

def schedule(card: ReviewCard | None, *, question_id: str, bank: str, rating: int, now: float) -> ReviewCard:
    """The card after a review rated ``rating`` (0..5) at time ``now`` (SM-2; see the module docstring)."""
    if not 0 <= rating <= 5:
        raise ValueError(f"rating must be 0..5, not {rating}")
    ease = card.ease if card else INITIAL_EASE
    repetitions = card.repetitions if card else 0
    interval = card.interval_days if card else 0.0
    if rating >= PASSING_RATING:
        if repetitions == 0:
            interval = 1.0
        elif repetitions == 1:
            interval = 6.0
        else:
            interval = float(math.ceil(interval * ease))
        repetitions += 1
        ease = max(MINIMUM_EASE, ease + 0.1 - (5 - rating) * (0.08 + (5 - rating) * 0.02))
    else:
        repetitions = 0
        interval = 1.0
    return ReviewCard(question_id=question_id, bank=bank, box=repetitions + 1, ease=round(ease, 4),
                      interval_days=interval, repetitions=repetitions, due_at=now + interval * DAY,
                      last_rating=rating)


def rating_for(outcome: Outcome) -> int:
    """The SM-2 rating of an answer: the learner's own for interviews, else 4 right, 2 partly, 1 wrong."""
    if outcome.rating is not None:
        return outcome.rating
    if outcome.correct:
        return 4
    return 2 if outcome.partial >= 0.5 else 1


def record_result(store: ProgressStore, question: Question, answer: Any, outcome: Outcome, *,
                  now: float | None = None) -> ReviewCard:
    """Save an answer and update the question's review card. Returns the card as it now stands."""
    now = time.time() if now is None else now
    store.record_answer(bank=question.bank, question_id=question.id, answer=answer,
                        correct=outcome.correct, score=outcome.score, at=now)
    card = store.card(question.id)
    rating = rating_for(outcome)
    if card is not None and card.due_at > now and rating >= PASSING_RATING:
        return card                      # reviewed early: a good answer does not advance the card
    card = schedule(card, question_id=question.id, bank=question.bank, rating=rating, now=now)
    store.save_card(card)
    return card


def due_questions(banks: BankSet, store: ProgressStore, *, now: float | None = None,
                  topics: str | Iterable[str] | None = None, n: int | None = None) -> list[Question]:
    """The questions whose cards are due (most overdue first), optionally of some topics only.
    Cards of questions no longer in any bank are skipped."""
    now = time.time() if now is None else now
    by_id = banks.by_id()
    due = [by_id[card.question_id] for card in store.due_cards(now) if card.question_id in by_id]
    due = matching_questions(due, topic=topics)
    return due[:n] if n is not None else due


def missed_questions(banks: BankSet, store: ProgressStore, *, now: float | None = None,
                     topics: str | Iterable[str] | None = None, n: int | None = None,
                     within: float = DAY) -> list[Question]:
    """The questions answered wrong in the last `within` seconds (default a day) and not answered right
    since, oldest miss first, whether their cards are due or not (``dojo drill --misses``).

    Example::

        missed_questions(banks, store)      # [] when every recent answer was right
    """
    now = time.time() if now is None else now
    by_id = banks.by_id()
    missed = [by_id[qid] for bank, qid in store.missed_since(now - within)
              if qid in by_id and by_id[qid].bank == bank]
    missed = matching_questions(missed, topic=topics)
    return missed[:n] if n is not None else missed


def interview_questions(banks: BankSet, store: ProgressStore, *, topics: str | Iterable[str] | None = None,
                        n: int = 3, seed: int | None = None, now: float | None = None) -> list[Question]:
    """Questions for a mock interview (types interview and short): never-seen and due ones first,
    shuffled by ``seed`` within each group."""
    now = time.time() if now is None else now
    pool = banks.questions(topic=topics, types=interview_types())
    rng = random.Random(seed)
    fresh, later = [], []
    for question in pool:
        card = store.card(question.id)
        (fresh if card is None or card.due_at <= now else later).append(question)
    rng.shuffle(fresh)
    rng.shuffle(later)
    return (fresh + later)[:n]


def allowed_minutes(question: Question, minutes: float | None) -> float:
    """Time allowed for one mock-interview question: ``minutes`` if given, else the question's own,
    else 5 (interview) or 2 (short)."""
    if minutes is not None:
        return float(minutes)
    return question.minutes or question_type(question.type).interview_minutes or 5.0


def next_due_text(store: ProgressStore, *, now: float | None = None) -> str:
    """"next card due in 3 days" or "no cards yet"."""
    now = time.time() if now is None else now
    upcoming = store.due_cards(now=float("inf"))
    if not upcoming:
        return "no review cards yet"
    first = upcoming[0].due_at
    if first <= now:
        return f"{sum(c.due_at <= now for c in upcoming)} card(s) due now"
    return f"next card due {_in(first - now)}"


def _in(seconds: float) -> str:
    if seconds < 3600:
        return f"in {max(1, round(seconds / 60))} minute(s)"
    if seconds < DAY - 1800:
        return f"in {round(seconds / 3600)} hour(s)"
    return f"in {round(seconds / DAY)} day(s)"


# ---- the terminal -------------------------------------------------------------------------------

def ask_answer(question: Question, term: Terminal, *, seed: int | None = None) -> Any:
    """Show one question and read an answer (its type's ``ask``; the shapes are in each type's module).
    Returns ``SKIP`` when skipped. Interview answers come without a rating: see :func:`ask_rating`."""
    return question_type(question.type).ask(question, term, arrange(question, seed=seed))


def ask_rating(question: Question, term: Terminal, *, text: str, seconds: float | None = None,
               allowed_seconds: float | None = None) -> Any:
    """For a self-rated type (interview): show the model answer and rubric; read the ticks and a 0..5 rating."""
    return question_type(question.type).rate(question, term, text=text, seconds=seconds,
                                             allowed_seconds=allowed_seconds)


@dataclass
class SessionResult:
    """What a terminal session did."""
    asked: int = 0
    answered: int = 0
    score: float = 0.0
    stopped: str | None = None        # "end of input" or "quit" when the session ended early


def _header(question: Question, number: int, total: int) -> str:
    return f"[{number}/{total}] ({question.type.replace('_', '/')}, {question.difficulty}, {question.topic})"


def _show(term: Terminal, outcome: Outcome, *, model_answer_shown: bool = False) -> None:
    for line in outcome.feedback_lines():
        if not (model_answer_shown and line.startswith("Model answer:")):
            term.say(line, indent="  ")


def _answer_one(question: Question, term: Terminal, *, store: ProgressStore, seed: int | None,
                clock: Callable[[], float], monotonic: Callable[[], float],
                minutes: float | None = None) -> Outcome | None:
    """Ask, score, show and save one question. ``minutes`` set: timed (mock interview)."""
    term.say(question.prompt)
    allowed = None
    if minutes is not None:
        allowed = minutes * 60
        term.say(f"You have {minutes:g} minute(s).")
    started = monotonic()
    answer = ask_answer(question, term, seed=seed)
    if answer is SKIP:
        term.say("Skipped.")
        return None
    seconds = monotonic() - started
    kind = question_type(question.type)
    if kind.self_rated:
        answer = kind.rate(question, term, text=answer, seconds=round(seconds, 1) if allowed else None,
                           allowed_seconds=allowed)
        if answer is SKIP:
            term.say("Skipped.")
            return None
    elif allowed is not None and seconds > allowed:
        term.say(f"Over time by {int(seconds - allowed)} s.")
    outcome = kind.score(question, answer)
    _show(term, outcome, model_answer_shown=kind.self_rated)
    record_result(store, question, answer, outcome, now=clock())
    return outcome


def run_questions(questions: Sequence[Question], term: Terminal, *, store: ProgressStore, seed: int | None = None,
                  title: str = "", clock: Callable[[], float] = time.time,
                  monotonic: Callable[[], float] = time.monotonic, minutes: float | None = None,
                  timed: bool = False) -> SessionResult:
    """Ask questions one after another; stop cleanly on EOF or ``quit``. ``timed`` (mock interview)
    gives each question :func:`allowed_minutes`."""
    result = SessionResult()
    if title:
        term.say(title)
    for number, question in enumerate(questions, 1):
        term.say()
        term.say(_header(question, number, len(questions)))
        result.asked += 1
        try:
            outcome = _answer_one(question, term, store=store, seed=seed, clock=clock, monotonic=monotonic,
                                  minutes=allowed_minutes(question, minutes) if timed else None)
        except EndOfInput:
            result.stopped = "end of input"
            break
        except QuitRequested:
            result.stopped = "quit"
            break
        if outcome is not None:
            result.answered += 1
            result.score += outcome.score
    return result


def run_quiz(questions: Sequence[Question], *, store: ProgressStore, title: str = "", seed: int | None = None,
             stdin: TextIO | None = None, stdout: TextIO | None = None,
             clock: Callable[[], float] = time.time) -> SessionResult:
    """The terminal quiz (``dojo quiz BANK``): every question, feedback after each, answers saved."""
    term = Terminal(stdin, stdout)
    term.say("Type hint for a hint, skip to skip a question, quit to stop.")
    result = run_questions(questions, term, store=store, seed=seed, title=title, clock=clock)
    term.say()
    if result.stopped:
        term.say(f"Stopped ({result.stopped}).")
    term.say(f"Score: {result.score:g} / {result.answered} answered ({len(questions)} questions). "
             "Answers saved to your progress.")
    return result


def run_drill(banks: BankSet, *, store: ProgressStore, topics: str | Iterable[str] | None = None, n: int = 10,
              interviews: int = 1, minutes: float | None = None, seed: int | None = None,
              misses: bool = False, stdin: TextIO | None = None, stdout: TextIO | None = None,
              clock: Callable[[], float] = time.time,
              monotonic: Callable[[], float] = time.monotonic) -> tuple[SessionResult, SessionResult]:
    """The terminal drill (``dojo drill``): the due review cards, then a timed mock interview.

    With ``misses=True`` (``dojo drill --misses``) the review is instead every question missed in the
    last 24 hours, due or not: the night before an interview, a miss should not wait a day."""
    term = Terminal(stdin, stdout)
    now = clock()
    missed = missed_questions(banks, store, now=now, topics=topics)
    chosen = missed[:n] if misses else due_questions(banks, store, now=now, topics=topics, n=n)
    term.say("Type hint for a hint, skip to skip a question, quit to stop.")
    if chosen:
        title = (f"Review of your misses: {len(chosen)} question(s) answered wrong in the last 24 hours."
                 if misses else f"Spaced review: {len(chosen)} card(s) due.")
        review = run_questions(chosen, term, store=store, seed=seed, clock=clock, monotonic=monotonic, title=title)
    elif misses:
        review = SessionResult()
        term.say("Review of your misses: no question answered wrong in the last 24 hours.")
    else:
        review = SessionResult()
        text = "Spaced review: nothing is due (" + next_due_text(store, now=now) + ")."
        if missed:
            text += (f" You missed {len(missed)} question(s) in the last 24 hours: "
                     "`dojo drill --misses` reviews them now.")
        term.say(text)
    interview = SessionResult()
    if not review.stopped and interviews > 0:
        chosen = interview_questions(banks, store, topics=topics, n=interviews, seed=seed, now=now)
        term.say()
        if chosen:
            interview = run_questions(chosen, term, store=store, seed=seed, clock=clock, monotonic=monotonic,
                                      minutes=minutes, timed=True,
                                      title=f"Mock interview: {len(chosen)} question(s), timed.")
        else:
            term.say("Mock interview: no interview or short questions match these topics.")
    term.say()
    stopped = review.stopped or interview.stopped
    if stopped:
        term.say(f"Stopped ({stopped}).")
    term.say(f"Reviewed {review.answered} card(s), interview score {interview.score:g} / {interview.answered}; "
             + next_due_text(store, now=clock()) + ".")
    return review, interview
