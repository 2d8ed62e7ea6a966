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
import re
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ecsdojo.progress_store import ProgressStore, ReviewCard
from ecsdojo.quiz.bank import BankSet, Question, arrange, matching_questions
from ecsdojo.quiz.scoring import Outcome, score_answer

DAY = 86400.0
INITIAL_EASE = 2.5
MINIMUM_EASE = 1.3
PASSING_RATING = 3
INTERVIEW_TYPES = ("interview", "short")
DEFAULT_MINUTES = {"interview": 5.0, "short": 2.0}
RATING_GUIDE = ("0 = nothing useful", "1 = wrong, the model answer was news", "2 = wrong, but close",
                "3 = the main points, with effort", "4 = good, small gaps", "5 = as good as the model answer")


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
    pool = banks.questions(topic=topics, types=INTERVIEW_TYPES)
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
    return question.minutes or DEFAULT_MINUTES.get(question.type, 5.0)


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

class EndOfInput(Exception):
    """Standard input ended (EOF): the session stops, keeping what was answered."""


class QuitRequested(Exception):
    """The learner typed ``quit``."""


SKIP = object()


class Terminal:
    """Questions on a text stream. Works with piped input: the answer read is echoed when the input is
    not a terminal, so a transcript reads naturally."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None, *, width: int = 88) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.width = width
        isatty = getattr(self.stdin, "isatty", None)
        self.echo = not (isatty() if callable(isatty) else False)

    def say(self, text: str = "", *, indent: str = "") -> None:
        for paragraph in str(text).split("\n"):
            wrapped = textwrap.fill(paragraph, self.width, initial_indent=indent, subsequent_indent=indent + "  ",
                                    break_long_words=False, break_on_hyphens=False) if paragraph else ""
            print(wrapped, file=self.stdout)
        self.stdout.flush()

    def read_line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if line == "":
            self.stdout.write("\n")
            raise EndOfInput()
        line = line.rstrip("\r\n")
        if self.echo:
            self.stdout.write(line + "\n")
        return line

    def ask(self, prompt: str, question: Question, parse: Callable[[str], Any], *, usage: str) -> Any:
        """Read until ``parse`` accepts a line; ``hint``, ``skip`` and ``quit`` work at every prompt."""
        while True:
            line = self.read_line(prompt).strip()
            command = line.casefold()
            if command == "quit":
                raise QuitRequested()
            if command == "skip":
                return SKIP
            if command == "hint":
                self.say(f"Hint: {question.hint}" if question.hint else "No hint for this one.")
                continue
            try:
                value = parse(line)
            except ValueError:
                value = None
            if value is not None:
                return value
            self.say(f"Please answer with {usage} (or hint, skip, quit).")

    def read_paragraph(self, prompt: str, question: Question) -> Any:
        """Lines up to an empty line (or a line with a single dot); ``hint``, ``skip`` and ``quit``
        work as the first line."""
        self.say(prompt)
        lines: list[str] = []
        while True:
            line = self.read_line("> ")
            command = line.strip().casefold()
            if command in ("", "."):
                if lines:
                    return "\n".join(lines)
                continue
            if not lines and command == "quit":
                raise QuitRequested()
            if not lines and command == "skip":
                return SKIP
            if not lines and command == "hint":
                self.say(f"Hint: {question.hint}" if question.hint else "No hint for this one.")
                continue
            lines.append(line)


def _numbers(line: str, count: int) -> list[int] | None:
    parts = line.replace(",", " ").split()
    if not parts or not all(p.isdigit() for p in parts):
        return None
    values = [int(p) for p in parts]
    return values if all(1 <= v <= count for v in values) else None


def ask_answer(question: Question, term: Terminal, *, seed: int | None = None) -> Any:
    """Show one question and read an answer (see :mod:`ecsdojo.quiz.scoring` for the shapes).
    Returns ``SKIP`` when skipped. Interview answers come without a rating: see :func:`ask_rating`."""
    layout = arrange(question, seed=seed)
    kind = question.type
    if kind == "single":
        for i, option in enumerate(layout.options, 1):
            term.say(f"{i}) {option.text}", indent="  ")

        def one(line: str) -> str | None:
            values = _numbers(line, len(layout.options))
            return layout.options[values[0] - 1].text if values and len(values) == 1 else None
        return term.ask("Your answer (number): ", question, one, usage=f"one number from 1 to {len(layout.options)}")
    if kind == "multiple":
        for i, option in enumerate(layout.options, 1):
            term.say(f"{i}) {option.text}", indent="  ")

        def several(line: str) -> list[str] | None:
            values = _numbers(line, len(layout.options))
            if not values:
                return None
            chosen = {layout.options[v - 1].text for v in values}
            return [o.text for o in question.options if o.text in chosen]      # in bank order
        return term.ask("Your answer (all that apply, e.g. 1 3): ", question, several,
                        usage=f"numbers from 1 to {len(layout.options)}")
    if kind == "true_false":
        def truth(line: str) -> bool | None:
            return {"t": True, "true": True, "y": True, "yes": True,
                    "f": False, "false": False, "n": False, "no": False}.get(line.casefold())
        return term.ask("True or false? (t/f): ", question, truth, usage="t or f")
    if kind == "ordering":
        for i, item in enumerate(layout.items, 1):
            term.say(f"{i}) {item}", indent="  ")

        def order(line: str) -> list[str] | None:
            values = _numbers(line, len(layout.items))
            if not values or sorted(values) != list(range(1, len(layout.items) + 1)):
                return None
            return [layout.items[v - 1] for v in values]
        return term.ask("The numbers in the right order (e.g. 2 1 3): ", question, order,
                        usage=f"each number from 1 to {len(layout.items)} once")
    if kind == "matching":
        letters = "abcdefghijklmnopqrstuvwxyz"[:len(layout.rights)]
        for i, left in enumerate(layout.lefts, 1):
            term.say(f"{i}) {left}", indent="  ")
        for letter, right in zip(letters, layout.rights):
            term.say(f"{letter}) {right}", indent="  ")

        def match(line: str) -> dict | None:
            text = line.casefold()
            if any(ch.isdigit() for ch in text):
                found = re.findall(r"(\d+)\s*[-:=)]?\s*([a-z])", text)
                chosen = {int(n): c for n, c in found}
                if sorted(chosen) != list(range(1, len(layout.lefts) + 1)):
                    return None
                picks = [chosen[i] for i in range(1, len(layout.lefts) + 1)]
            else:
                picks = [c for c in text if c.isalpha()]
            if len(picks) != len(layout.lefts) or any(c not in letters for c in picks):
                return None
            return {left: layout.rights[letters.index(c)] for left, c in zip(layout.lefts, picks)}
        return term.ask("For 1, 2, ... the letter of the match (e.g. b a c): ", question, match,
                        usage=f"{len(layout.lefts)} letters from a to {letters[-1]}")
    if kind == "numeric":
        def number(line: str) -> float | None:
            found = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)", line)
            return float(found.group(1)) if found else None
        unit = f" ({question.unit})" if question.unit else ""
        return term.ask(f"Your answer{unit}: ", question, number, usage="a number")
    if kind == "short":
        return term.ask("Your answer (one line): ", question, lambda line: line or None, usage="some text")
    if kind == "interview":
        return term.read_paragraph("Your answer (end with an empty line):", question)
    raise ValueError(f"unknown question type {kind!r}")


def ask_rating(question: Question, term: Terminal, *, text: str, seconds: float | None = None,
               allowed_seconds: float | None = None) -> dict:
    """Show the model answer and rubric of an interview question; read the rubric ticks and a 0..5 rating."""
    term.say(f"Model answer: {question.model_answer}")
    term.say("Rubric:")
    for i, point in enumerate(question.rubric, 1):
        term.say(f"{i}) {point}", indent="  ")

    def ticks(line: str) -> list[int] | None:
        if line.casefold() in ("", "none", "0"):
            return []
        if line.casefold() == "all":
            return list(range(1, len(question.rubric) + 1))
        return _numbers(line, len(question.rubric))
    made = term.ask("Which points did your answer make? (e.g. 1 3, all, none): ", question, ticks,
                    usage=f"numbers from 1 to {len(question.rubric)}, all or none")
    made = [] if made is SKIP else made
    term.say("Rate your answer: " + "; ".join(RATING_GUIDE))
    rating = term.ask("Rating (0-5): ", question,
                      lambda line: int(line) if line.isdigit() and 0 <= int(line) <= 5 else None,
                      usage="a whole number from 0 to 5")
    if rating is SKIP:
        return SKIP
    return {"text": text, "rubric": [i in made for i in range(1, len(question.rubric) + 1)], "rating": rating,
            "seconds": seconds, "allowed_seconds": allowed_seconds}


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
    if question.type == "interview":
        answer = ask_rating(question, term, text=answer, seconds=round(seconds, 1) if allowed else None,
                            allowed_seconds=allowed)
        if answer is SKIP:
            term.say("Skipped.")
            return None
    elif allowed is not None and seconds > allowed:
        term.say(f"Over time by {int(seconds - allowed)} s.")
    outcome = score_answer(question, answer)
    _show(term, outcome, model_answer_shown=question.type == "interview")
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
