"""The ``matching`` question type: left sides to match with right sides; the answer is a mapping left -> right."""

from __future__ import annotations

import re
from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Pair, Question, kind_of
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, as_html, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    entries = r.items_list(raw.get("pairs"), ("pairs",), minimum=2)
    if entries is None:
        return {}
    pairs = []
    for i, entry in enumerate(entries):
        path = ("pairs", i)
        if not isinstance(entry, dict):
            r.error(path, f"must be a mapping with left and right, not {kind_of(entry)}")
            continue
        for key in entry:
            if key not in ("left", "right"):
                r.error((*path, str(key)), "is not a field of a pair (left, right)")
        left = r.text(entry.get("left"), (*path, "left"))
        right = r.text(entry.get("right"), (*path, "right"))
        if left is not None and right is not None:
            pairs.append(Pair(left, right))
    if len(pairs) == len(entries):
        r.no_repeats([p.left for p in pairs], ("pairs",))
        r.no_repeats([p.right for p in pairs], ("pairs",))
    return {"pairs": tuple(pairs)}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
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
    return Outcome(correct, float(correct), verdict(correct, note), tuple(details), q.explanation,
                   partial=right_pairs / len(q.pairs))


# ---- widget -------------------------------------------------------------------------------------

class MatchingView(QuestionView):
    _missing_message = "Match every item first."

    def _build_control(self) -> widgets.Widget:
        options = [("choose…", None)] + [(right, right) for right in self.arrangement.rights]
        self.dropdowns = {left: widgets.Dropdown(options=options, value=None, layout=widgets.Layout(width="auto"))
                          for left in self.arrangement.lefts}
        return widgets.VBox([widgets.HBox([widgets.HTML(as_html(left), layout=widgets.Layout(width="40%")), menu])
                             for left, menu in self.dropdowns.items()])

    def select(self, value: dict[str, str]) -> None:
        for left, menu in self.dropdowns.items():
            menu.value = value.get(left)

    @property
    def answer(self) -> dict[str, str] | None:
        chosen = {left: menu.value for left, menu in self.dropdowns.items()}
        return chosen if all(v is not None for v in chosen.values()) else None


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
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


class Matching(QuestionType):
    name = "matching"
    label = "match the pairs"
    fields = ("pairs",)
    view = MatchingView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)


TYPE = Matching()
