"""The ``true_false`` question type: a statement that is true or false; the answer is true or false."""

from __future__ import annotations

from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    answer = r.boolean(raw.get("answer"), ("answer",)) if "answer" in raw else None
    if "answer" not in raw:
        r.error(("answer",), "missing (true or false)")
    return {"answer": answer,
            "feedback_true": r.text(raw.get("feedback_true"), ("feedback_true",), required=False),
            "feedback_false": r.text(raw.get("feedback_false"), ("feedback_false",), required=False)}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, bool):
        raise AnswerInvalid(q, answer, "true or false")
    correct = answer == q.answer
    feedback = q.feedback_true if answer else q.feedback_false
    details = [feedback] if feedback else []
    if not correct:
        details.append(f"The statement is {'true' if q.answer else 'false'}.")
    return Outcome(correct, float(correct), verdict(correct), tuple(details), q.explanation, partial=float(correct))


# ---- widget -------------------------------------------------------------------------------------

class TrueFalseView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.choice = widgets.ToggleButtons(options=[("True", True), ("False", False)], value=None)
        return self.choice

    def select(self, value: bool) -> None:
        self.choice.value = bool(value)

    @property
    def answer(self) -> bool | None:
        return self.choice.value


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    def truth(line: str) -> bool | None:
        return {"t": True, "true": True, "y": True, "yes": True,
                "f": False, "false": False, "n": False, "no": False}.get(line.casefold())
    return term.ask("True or false? (t/f): ", question, truth, usage="t or f")


class TrueFalse(QuestionType):
    name = "true_false"
    label = "true or false"
    fields = ("answer", "feedback_true", "feedback_false")
    view = TrueFalseView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = TrueFalse()
