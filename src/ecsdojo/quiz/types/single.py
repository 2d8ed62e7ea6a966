"""The ``single`` question type: one correct option of several; the answer is the chosen option's text."""

from __future__ import annotations

from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal, numbers
from ecsdojo.quiz.types.base import QuestionType, read_options
from ecsdojo.quiz.view import QuestionView, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    options = read_options(r, raw)
    if options is not None:
        right = sum(o.correct for o in options)
        if right != 1:
            r.error(("options",), f"exactly one option must be correct, found {right}")
    return {"options": options or ()}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
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
    return Outcome(chosen.correct, float(chosen.correct), verdict(chosen.correct), tuple(details),
                   q.explanation, partial=float(chosen.correct))


# ---- widget -------------------------------------------------------------------------------------

class SingleView(QuestionView):
    def _build_control(self) -> widgets.Widget:
        self.choice = widgets.RadioButtons(options=[o.text for o in self.arrangement.options], value=None,
                                           layout=widgets.Layout(width="auto"))
        return self.choice

    def select(self, value: str) -> None:
        self.choice.value = value

    @property
    def answer(self) -> str | None:
        return self.choice.value


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    for i, option in enumerate(layout.options, 1):
        term.say(f"{i}) {option.text}", indent="  ")

    def one(line: str) -> str | None:
        values = numbers(line, len(layout.options))
        return layout.options[values[0] - 1].text if values and len(values) == 1 else None
    return term.ask("Your answer (number): ", question, one, usage=f"one number from 1 to {len(layout.options)}")


class Single(QuestionType):
    name = "single"
    label = "one answer"
    fields = ("options",)
    view = SingleView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = Single()
