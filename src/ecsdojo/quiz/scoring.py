"""Scoring answers: :func:`score_answer` hands each answer to its question type's ``score``
(``ecsdojo.quiz.types.<type>``), shared by the widgets and the terminal.

Every auto-scored question scores 1 when right and 0 otherwise; partial progress (3 of 4 options,
2 of 3 pairs, ...) is shown in the feedback, not scored. ``short`` answers pass when they mention at
least ``min_keywords`` of the concepts; ``interview`` answers score the learner's own rating / 5.

Answers are plain JSON values, the shape the progress store keeps; each type's module docstring
(``ecsdojo/quiz/types/<type>.py``) gives its shape.

Example::

    outcome = score_answer(question, "awsvpc")
    outcome.correct, outcome.score, outcome.feedback_lines()
"""

from __future__ import annotations

from typing import Any

from ecsdojo.quiz.model import Question, mentions, normalize_text  # noqa: F401 (re-exported)
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome  # noqa: F401 (re-exported)
from ecsdojo.quiz.types import question_type
from ecsdojo.quiz.types.interview import INTERVIEW_PASS_RATING  # noqa: F401 (re-exported)


def score_answer(question: Question, answer: Any) -> Outcome:
    """Score ``answer`` to ``question``. Raises :class:`AnswerInvalid` for an answer of the wrong shape."""
    return question_type(question.type).score(question, answer)
