"""The ``ordering`` question type: items to put in order (the bank lists them in the right order); the answer is the list of items in the learner's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal, numbers
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, as_html, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    return {"items": r.text_list(raw.get("items"), ("items",), minimum=2, unique=True) or ()}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
    if not isinstance(answer, (list, tuple)) or sorted(answer) != sorted(q.items):
        raise AnswerInvalid(q, answer, f"the items {list(q.items)} in some order")
    in_place = sum(a == b for a, b in zip(answer, q.items))
    correct = in_place == len(q.items)
    details = () if correct else ("The right order:", *(f"  {i}. {item}" for i, item in enumerate(q.items, 1)))
    note = f"{in_place} of {len(q.items)} items are in the right place."
    return Outcome(correct, float(correct), verdict(correct, note), tuple(details), q.explanation,
                   partial=in_place / len(q.items))


# ---- widget -------------------------------------------------------------------------------------

class OrderingView(QuestionView):
    """Items with ↑ / ↓ buttons; the order on screen is the answer."""

    def _build_control(self) -> widgets.Widget:
        self.order = list(self.arrangement.items)
        self.rows = widgets.VBox()
        self._render()
        return self.rows

    def move(self, index: int, step: int) -> None:
        """Move the item at ``index`` up (-1) or down (+1)."""
        target = index + step
        if 0 <= target < len(self.order):
            self.order[index], self.order[target] = self.order[target], self.order[index]
            self._render()

    def _render(self) -> None:
        rows = []
        for i, item in enumerate(self.order):
            up = widgets.Button(icon="arrow-up", tooltip="move up", layout=widgets.Layout(width="36px"),
                                disabled=i == 0)
            down = widgets.Button(icon="arrow-down", tooltip="move down", layout=widgets.Layout(width="36px"),
                                  disabled=i == len(self.order) - 1)
            up.on_click(lambda _b, i=i: self.move(i, -1))
            down.on_click(lambda _b, i=i: self.move(i, +1))
            rows.append(widgets.HBox([up, down, widgets.HTML(f"<b>{i + 1}.</b> {as_html(item)}")]))
        self.rows.children = rows

    def select(self, value: Sequence[str]) -> None:
        if sorted(value) != sorted(self.order):
            raise ValueError(f"not the items of {self.question.id}: {list(value)}")
        self.order = list(value)
        self._render()

    @property
    def answer(self) -> list[str]:
        return list(self.order)


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    for i, item in enumerate(layout.items, 1):
        term.say(f"{i}) {item}", indent="  ")

    def order(line: str) -> list[str] | None:
        values = numbers(line, len(layout.items))
        if not values or sorted(values) != list(range(1, len(layout.items) + 1)):
            return None
        return [layout.items[v - 1] for v in values]
    return term.ask("The numbers in the right order (e.g. 2 1 3): ", question, order,
                    usage=f"each number from 1 to {len(layout.items)} once")


class Ordering(QuestionType):
    name = "ordering"
    label = "put in order"
    fields = ("items",)
    view = OrderingView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = Ordering()
