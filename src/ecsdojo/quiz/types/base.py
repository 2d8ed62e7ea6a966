"""The interface every question type implements, and the schema helpers several types share.

A question type is one module in this package holding one :class:`QuestionType` subclass with:

* ``name``, ``label`` and ``fields``: what a bank writes in ``type:``, how the widget names it, and the
  fields the type adds to the common ones (``id``, ``prompt``, ...);
* :meth:`QuestionType.read`: checks those fields (schema) and returns them for :class:`Question`;
* :meth:`QuestionType.score`: scores an answer (the JSON shape the progress store keeps) to an
  :class:`Outcome`;
* ``view``: the ipywidgets control (a :class:`QuestionView` subclass);
* :meth:`QuestionType.ask`: asks for an answer on the terminal (``dojo quiz``, ``dojo drill``).

The registry (``ecsdojo.quiz.types.REGISTRY``) lists one instance of each; every other module
(bank validation, scoring, widgets, the terminal) goes through it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ecsdojo.quiz.model import Arrangement, FieldReader, Option, Question, kind_of
from ecsdojo.quiz.outcome import Outcome
from ecsdojo.quiz.terminal import Terminal
from ecsdojo.quiz.view import QuestionView


class QuestionType:
    """One question type: schema, scoring, widget and terminal prompt (see the module docstring)."""

    name: ClassVar[str]
    label: ClassVar[str]                       # shown in the widget's header: "one answer"
    fields: ClassVar[tuple[str, ...]]          # the bank fields this type adds to the common ones
    view: ClassVar[type[QuestionView]]
    self_rated: ClassVar[bool] = False         # answered first, then the learner rates it (rate())
    interview_minutes: ClassVar[float | None] = None   # offered in mock interviews, with this default time

    def read(self, r: FieldReader, raw: dict) -> dict:
        """Check this type's fields of ``raw`` (errors go to ``r``); the ``Question`` fields they give."""
        raise NotImplementedError

    def score(self, question: Question, answer: Any) -> Outcome:
        """Score an answer; raise ``AnswerInvalid`` for an answer of the wrong shape."""
        raise NotImplementedError

    def ask(self, question: Question, term: Terminal, layout: Arrangement) -> Any:
        """Show the choices on the terminal and read an answer (or ``SKIP``)."""
        raise NotImplementedError

    def rate(self, question: Question, term: Terminal, *, text: str, seconds: float | None,
             allowed_seconds: float | None) -> Any:
        """For ``self_rated`` types: show the model answer, read the learner's own rating (or ``SKIP``)."""
        raise NotImplementedError(f"{self.name} questions are not self-rated")

    def __repr__(self) -> str:
        return f"<question type {self.name}>"


def read_options(r: FieldReader, raw: dict) -> tuple[Option, ...] | None:
    """The ``options`` of a ``single`` or ``multiple`` question: a list of {text, correct, feedback}."""
    entries = r.items_list(raw.get("options"), ("options",), minimum=2)
    if entries is None:
        return None
    options = []
    for i, entry in enumerate(entries):
        path = ("options", i)
        if not isinstance(entry, dict):
            r.error(path, f"must be a mapping with text and correct, not {kind_of(entry)}")
            continue
        for key in entry:
            if key not in ("text", "correct", "feedback"):
                r.error((*path, str(key)), "is not a field of an option (text, correct, feedback)")
        text = r.text(entry.get("text"), (*path, "text"))
        correct = r.boolean(entry.get("correct"), (*path, "correct")) if "correct" in entry else None
        if "correct" not in entry:
            r.error((*path, "correct"), "missing (true or false)")
        feedback = r.text(entry.get("feedback"), (*path, "feedback"), required=False)
        if text is not None and correct is not None:
            options.append(Option(text, correct, feedback))
    if len(options) != len(entries):
        return None
    r.no_repeats([o.text for o in options], ("options",))
    return tuple(options)
