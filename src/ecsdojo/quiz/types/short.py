"""The ``short`` question type: a short text that must mention enough key concepts; the answer is the text."""

from __future__ import annotations

from typing import Any

from ecsdojo.quiz.model import Arrangement, FieldReader, Question, kind_of, mentions, normalize_text
from ecsdojo.quiz.outcome import AnswerInvalid, Outcome, verdict
from ecsdojo.quiz.terminal import Terminal
from ecsdojo.quiz.types.base import QuestionType
from ecsdojo.quiz.view import QuestionView, widgets


# ---- schema -------------------------------------------------------------------------------------

def read(r: FieldReader, raw: dict) -> dict:
    entries = r.items_list(raw.get("keywords"), ("keywords",), minimum=1)
    concepts: list[tuple[str, ...]] = []
    if entries is not None:
        for i, entry in enumerate(entries):
            if isinstance(entry, list):
                spellings = r.text_list(entry, ("keywords", i), minimum=1, unique=False)
            else:   # a single spelling is a concept with one accepted spelling
                spelling = r.text(entry, ("keywords", i))
                spellings = (spelling,) if spelling is not None else None
            if spellings is not None:
                concepts.append(spellings)
    minimum = len(concepts)
    if "min_keywords" in raw:
        value = raw["min_keywords"]
        if isinstance(value, bool) or not isinstance(value, int):
            r.error(("min_keywords",), f"must be a whole number, not {kind_of(value)}")
        elif entries is not None and not 1 <= value <= len(entries):
            r.error(("min_keywords",), f"must be between 1 and the number of keywords ({len(entries)}), not {value}")
        else:
            minimum = value
    for i, concept in enumerate(concepts):
        for spelling in concept:
            if not normalize_text(spelling):
                r.error(("keywords", i), f"{spelling!r} has no letters or digits to match")
    model_answer = r.text(raw.get("model_answer"), ("model_answer",))
    if model_answer and concepts and not r.errors:
        missing = [concept[0] for concept in concepts if not any(mentions(model_answer, s) for s in concept)]
        if len(concepts) - len(missing) < minimum:
            r.error(("model_answer",), f"mentions only {len(concepts) - len(missing)} of the keywords "
                    f"({minimum} needed to pass), so it would fail its own scoring; missing: {', '.join(missing)}")
    return {"keywords": tuple(concepts), "min_keywords": minimum, "model_answer": model_answer}


# ---- scoring ------------------------------------------------------------------------------------

def score(q: Question, answer: Any) -> Outcome:
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
    summary = f"Correct: {note}" if correct else verdict(False, note)
    return Outcome(correct, float(correct), summary, tuple(details), q.explanation, q.model_answer,
                   partial=len(found) / len(q.keywords))


# ---- widget -------------------------------------------------------------------------------------

class ShortView(QuestionView):
    _missing_message = "Write an answer first."

    def _build_control(self) -> widgets.Widget:
        self.text = widgets.Textarea(placeholder="Your answer", rows=3, layout=widgets.Layout(width="95%"))
        return self.text

    def select(self, value: str) -> None:
        self.text.value = value

    @property
    def answer(self) -> str | None:
        return self.text.value.strip() or None


# ---- terminal -----------------------------------------------------------------------------------

def ask(question: Question, term: Terminal, layout: Arrangement) -> Any:
    return term.ask("Your answer (one line): ", question, lambda line: line or None, usage="some text")


class Short(QuestionType):
    name = "short"
    label = "short answer"
    fields = ("keywords", "min_keywords", "model_answer")
    view = ShortView
    read = staticmethod(read)
    score = staticmethod(score)
    ask = staticmethod(ask)
    interview_minutes = 2.0


TYPE = Short()
