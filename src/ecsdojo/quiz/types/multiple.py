"""The ``multiple`` question type: one or more correct options; the answer is the list of chosen options' texts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal, numbers
from ecsdojo.quiz.types.base import QuestionType, read_options
from ecsdojo.quiz.view import QuestionView, as_html, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    options = read_options(r, raw)
    if options is not None and not any(o.correct for o in options):
        r.error(("options",), "at least one option must be correct, found none")
    return {"options": options or ()}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
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
    return Outcome(correct, float(correct), verdict(correct, note), tuple(details), q.explanation,
                   partial=right_calls / len(q.options))


# ---- widget -------------------------------------------------------------------------------------

class MultipleView(QuestionView):
    _missing_message = "Tick at least one option first."

    def _build_control(self) -> widgets.Widget:
        self.boxes = {o.text: widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="30px"))
                      for o in self.arrangement.options}
        return widgets.VBox([widgets.HBox([box, widgets.HTML(as_html(text))]) for text, box in self.boxes.items()])

    def select(self, value: Iterable[str]) -> None:
        chosen = set(value)
        unknown = chosen - set(self.boxes)
        if unknown:
            raise ValueError(f"not options of {self.question.id}: {sorted(unknown)}")
        for text, box in self.boxes.items():
            box.value = text in chosen

    @property
    def answer(self) -> list[str] | None:
        chosen = [o.text for o in self.question.options if self.boxes[o.text].value]    # in bank order
        return chosen or None


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    for i, option in enumerate(layout.options, 1):
        term.say(f"{i}) {option.text}", indent="  ")

    def several(line: str) -> list[str] | None:
        values = numbers(line, len(layout.options))
        if not values:
            return None
        chosen = {layout.options[v - 1].text for v in values}
        return [o.text for o in question.options if o.text in chosen]      # in bank order
    return term.ask("Your answer (all that apply, e.g. 1 3): ", question, several,
                    usage=f"numbers from 1 to {len(layout.options)}")


class Multiple(QuestionType):
    name = "multiple"
    label = "all that apply"
    fields = ("options",)
    view = MultipleView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = Multiple()
