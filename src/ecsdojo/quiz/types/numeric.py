"""The ``numeric`` question type: a number, right within a tolerance; the answer is a number."""

from __future__ import annotations

import math
import re
from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    answer = r.number(raw.get("answer"), ("answer",))
    tolerance = 0.0
    if "tolerance" in raw:
        tolerance = r.number(raw["tolerance"], ("tolerance",))
        if tolerance is not None and tolerance < 0:
            r.error(("tolerance",), f"must be 0 or more, not {tolerance:g}")
    return {"answer": answer, "tolerance": tolerance or 0.0,
            "unit": r.text(raw.get("unit"), ("unit",), required=False)}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or math.isnan(answer):
        raise AnswerInvalid(q, answer, "a number")
    slack = 1e-9 * max(1.0, abs(q.answer))
    correct = abs(float(answer) - q.answer) <= q.tolerance + slack
    unit = f" {q.unit}" if q.unit else ""
    expected = f"{q.answer:g}{unit}" + (f" (± {q.tolerance:g})" if q.tolerance else "")
    details = (f"Expected {expected}; you answered {float(answer):g}{unit}.",)
    return Outcome(correct, float(correct), verdict(correct), details, q.explanation, partial=float(correct))


# ---- widget -------------------------------------------------------------------------------------

class NumericView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.number = widgets.FloatText(value=0.0, layout=widgets.Layout(width="160px"))
        return widgets.HBox([self.number, widgets.Label(self.question.unit or "")])

    def select(self, value: float) -> None:
        self.number.value = float(value)

    @property
    def answer(self) -> float:
        return self.number.value


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    def number(line: str) -> float | None:
        found = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)", line)
        return float(found.group(1)) if found else None
    unit = f" ({question.unit})" if question.unit else ""
    return term.ask(f"Your answer{unit}: ", question, number, usage="a number")


class Numeric(QuestionType):
    name = "numeric"
    label = "a number"
    fields = ("answer", "tolerance", "unit")
    view = NumericView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = Numeric()
