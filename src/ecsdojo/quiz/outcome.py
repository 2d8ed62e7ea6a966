"""What scoring an answer gives back, shared by every question type (``ecsdojo.quiz.types``).

Every auto-scored question scores 1 when right and 0 otherwise; partial progress (3 of 4 options,
2 of 3 pairs, ...) is shown in the feedback, not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecsdojo.quiz.model import Question


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


def verdict(correct: bool, partial_note: str = "") -> str:
    if correct:
        return "Correct."
    return f"Not quite: {partial_note}" if partial_note else "Not quite."


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"
