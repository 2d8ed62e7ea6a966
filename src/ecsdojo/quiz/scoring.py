"""Scoring answers: one pure function per question type, shared by the widgets and the terminal.

Every auto-scored question scores 1 when right and 0 otherwise; partial progress (3 of 4 options,
2 of 3 pairs, ...) is shown in the feedback, not scored. ``short`` answers pass when they mention at
least ``min_keywords`` of the concepts; ``interview`` answers score the learner's own rating / 5.

Answers are plain JSON values, the shape the progress store keeps:

==============  ==========================================================
single          the chosen option's text
multiple        a list of the chosen options' texts
true_false      true or false
ordering        the list of items in the learner's order
matching        a mapping left -> right
numeric         a number
short           the text of the answer
interview       {"text": ..., "rubric": [bool per point], "rating": 0..5,
                "seconds": time taken or null, "allowed_seconds": time allowed or null}
==============  ==========================================================

Example::

    outcome = score_answer(question, "awsvpc")
    outcome.correct, outcome.score, outcome.feedback_lines()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ecsdojo.quiz.bank import Question, mentions, normalize_text  # noqa: F401 (re-exported)

INTERVIEW_PASS_RATING = 3      # a self-rating of 3 or more counts as a correct interview answer


@dataclass(frozen=True)
class Outcome:
    """The result of scoring one answer."""
    correct: bool
    score: float                        # 0..1, what the progress store sums
    verdict: str                        # one line: "Correct." / "Not quite: 2 of 3 pairs are right."
    details: tuple[str, ...] = ()       # per-option or per-part lines
    explanation: str = ""
    model_answer: str | None = None
    partial: float = 0.0                # fraction of parts right (shown, and used for the review rating)
    rating: int | None = None           # interview self-rating 0..5

    def feedback_lines(self) -> list[str]:
        """The feedback as plain-text lines: verdict, details, explanation, model answer."""
        lines = [self.verdict, *self.details]
        if self.explanation:
            lines.append(f"Why: {self.explanation}")
        if self.model_answer:
            lines.append(f"Model answer: {self.model_answer}")
        return lines


class AnswerInvalid(ValueError):
    """An answer does not have the shape its question type needs."""

    def __init__(self, question: Question, answer: Any, expected: str) -> None:
        super().__init__(f"answer {answer!r} to {question.id} ({question.type}) must be {expected}")


def score_answer(question: Question, answer: Any) -> Outcome:
    """Score ``answer`` to ``question``. Raises :class:`AnswerInvalid` for an answer of the wrong shape."""
    return _SCORERS[question.type](question, answer)


def _verdict(correct: bool, partial_note: str = "") -> str:
    if correct:
        return "Correct."
    return f"Not quite: {partial_note}" if partial_note else "Not quite."


def _score_single(q: Question, answer: Any) -> Outcome:
    texts = [o.text for o in q.options]
    if answer not in texts:
        raise AnswerInvalid(q, answer, f"one of the option texts {texts}")
    chosen = next(o for o in q.options if o.text == answer)
    right = next(o for o in q.options if o.correct)
    details = []
    if chosen.feedback:
        details.append(f"Your choice: {chosen.feedback}")
    if not chosen.correct:
        details.append(f"The right answer: {right.text}" + (f" ({right.feedback})" if right.feedback else ""))
    return Outcome(chosen.correct, float(chosen.correct), _verdict(chosen.correct), tuple(details),
                   q.explanation, partial=float(chosen.correct))


def _score_multiple(q: Question, answer: Any) -> Outcome:
    texts = [o.text for o in q.options]
    if not isinstance(answer, (list, tuple)) or any(a not in texts for a in answer):
        raise AnswerInvalid(q, answer, f"a list of option texts from {texts}")
    chosen = set(answer)
    details = []
    right_calls = 0
    for option in q.options:
        picked = option.text in chosen
        ok = picked == option.correct
        right_calls += ok
        if option.correct:
            mark = "chosen, right" if picked else "missed: this one is correct"
        else:
            mark = "chosen, but this one is wrong" if picked else "left out, right"
        line = f"{'✓' if ok else '✗'} {option.text} — {mark}"
        if option.feedback and (picked or option.correct):
            line += f". {option.feedback}"
        details.append(line)
    correct = right_calls == len(q.options)
    note = f"{right_calls} of {len(q.options)} options called right (all must be right to score)."
    return Outcome(correct, float(correct), _verdict(correct, note), tuple(details), q.explanation,
                   partial=right_calls / len(q.options))


def _score_true_false(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, bool):
        raise AnswerInvalid(q, answer, "true or false")
    correct = answer == q.answer
    feedback = q.feedback_true if answer else q.feedback_false
    details = [feedback] if feedback else []
    if not correct:
        details.append(f"The statement is {'true' if q.answer else 'false'}.")
    return Outcome(correct, float(correct), _verdict(correct), tuple(details), q.explanation, partial=float(correct))


def _score_ordering(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, (list, tuple)) or sorted(answer) != sorted(q.items):
        raise AnswerInvalid(q, answer, f"the items {list(q.items)} in some order")
    in_place = sum(a == b for a, b in zip(answer, q.items))
    correct = in_place == len(q.items)
    details = () if correct else ("The right order:", *(f"  {i}. {item}" for i, item in enumerate(q.items, 1)))
    note = f"{in_place} of {len(q.items)} items are in the right place."
    return Outcome(correct, float(correct), _verdict(correct, note), tuple(details), q.explanation,
                   partial=in_place / len(q.items))


def _score_matching(q: Question, answer: Any) -> Outcome:
    lefts = [p.left for p in q.pairs]
    rights = {p.right for p in q.pairs}
    if (not isinstance(answer, dict) or set(answer) != set(lefts)
            or any(v is not None and v not in rights for v in answer.values())):
        raise AnswerInvalid(q, answer, f"a mapping from every left side {lefts} to a right side")
    details = []
    right_pairs = 0
    for pair in q.pairs:
        given = answer.get(pair.left)
        ok = given == pair.right
        right_pairs += ok
        details.append(f"{'✓' if ok else '✗'} {pair.left} → {pair.right}"
                       + ("" if ok else f" (you chose {given if given is not None else 'nothing'})"))
    correct = right_pairs == len(q.pairs)
    note = f"{right_pairs} of {len(q.pairs)} pairs are right."
    return Outcome(correct, float(correct), _verdict(correct, note), tuple(details), q.explanation,
                   partial=right_pairs / len(q.pairs))


def _score_numeric(q: Question, answer: Any) -> Outcome:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or math.isnan(answer):
        raise AnswerInvalid(q, answer, "a number")
    slack = 1e-9 * max(1.0, abs(q.answer))
    correct = abs(float(answer) - q.answer) <= q.tolerance + slack
    unit = f" {q.unit}" if q.unit else ""
    expected = f"{q.answer:g}{unit}" + (f" (± {q.tolerance:g})" if q.tolerance else "")
    details = (f"Expected {expected}; you answered {float(answer):g}{unit}.",)
    return Outcome(correct, float(correct), _verdict(correct), details, q.explanation, partial=float(correct))


def _score_short(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, str):
        raise AnswerInvalid(q, answer, "text")
    found, missing = [], []
    for concept in q.keywords:
        (found if any(mentions(answer, s) for s in concept) else missing).append(concept[0])
    correct = len(found) >= q.min_keywords
    details = []
    if found:
        details.append("You mentioned: " + ", ".join(found))
    if missing:
        details.append("Not mentioned: " + ", ".join(missing))
    need = "all" if q.min_keywords == len(q.keywords) else str(q.min_keywords)
    note = f"{len(found)} of {len(q.keywords)} key concepts found ({need} needed)."
    verdict = f"Correct: {note}" if correct else _verdict(False, note)
    return Outcome(correct, float(correct), verdict, tuple(details), q.explanation, q.model_answer,
                   partial=len(found) / len(q.keywords))


def _score_interview(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, dict) or not isinstance(answer.get("text", ""), str):
        raise AnswerInvalid(q, answer, '{"text": ..., "rubric": [bool, ...], "rating": 0..5}')
    rating = answer.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
        raise AnswerInvalid(q, answer, "a self-rating from 0 to 5 under 'rating'")
    ticks = list(answer.get("rubric") or [])
    ticks = [bool(t) for t in ticks[:len(q.rubric)]] + [False] * (len(q.rubric) - len(ticks))
    details = [f"{'✓' if tick else '✗'} {point}" for point, tick in zip(q.rubric, ticks)]
    seconds = answer.get("seconds")
    allowed = answer.get("allowed_seconds") or (q.minutes * 60 if q.minutes else None)
    if isinstance(seconds, (int, float)) and isinstance(allowed, (int, float)):
        timing = f"Time: {_clock(seconds)} of {_clock(allowed)}"
        details.append(timing + (f" (over by {_clock(seconds - allowed)})." if seconds > allowed else "."))
    correct = rating >= INTERVIEW_PASS_RATING
    verdict = f"You rated your answer {rating}/5 and made {sum(ticks)} of {len(q.rubric)} rubric points."
    return Outcome(correct, rating / 5, verdict, tuple(details), q.explanation, q.model_answer,
                   partial=sum(ticks) / len(q.rubric), rating=rating)


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


_SCORERS = {
    "single": _score_single, "multiple": _score_multiple, "true_false": _score_true_false,
    "ordering": _score_ordering, "matching": _score_matching, "numeric": _score_numeric,
    "short": _score_short, "interview": _score_interview,
}
