"""The question types, one module each, and the one registry of them.

Each module (``single.py``, ``multiple.py``, ...) holds one type's schema, scoring, widget and terminal
prompt behind the :class:`~ecsdojo.quiz.types.base.QuestionType` interface. Bank validation
(``quiz/bank.py``), scoring (``quiz/scoring.py``), the notebook widgets (``quiz/widgets.py``) and the
terminal (``quiz/drill.py``) look a type up here and nowhere else.

Adding a type: write ``quiz/types/<name>.py`` (copy the closest existing one) and add it to ``_MODULES``
below; then document its fields in ``quizzes/README.md``.
"""

from __future__ import annotations

from ecsdojo.quiz.types import interview, matching, multiple, numeric, ordering, short, single, true_false
from ecsdojo.quiz.types.base import QuestionType

# In the order banks, error messages and `dojo quiz --list` name them.
_MODULES = (single, multiple, true_false, ordering, matching, numeric, short, interview)

REGISTRY: dict[str, QuestionType] = {module.TYPE.name: module.TYPE for module in _MODULES}
QUESTION_TYPES: tuple[str, ...] = tuple(REGISTRY)


class UnknownQuestionType(KeyError):
    """A question type that is not in the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown question type {name!r} (known: {', '.join(QUESTION_TYPES)})")


def question_type(name: str) -> QuestionType:
    """The registered type called ``name``; :class:`UnknownQuestionType` when there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownQuestionType(name) from None


def interview_types() -> tuple[str, ...]:
    """The types a mock interview asks (those with a default time)."""
    return tuple(name for name, kind in REGISTRY.items() if kind.interview_minutes is not None)


__all__ = ["REGISTRY", "QUESTION_TYPES", "QuestionType", "UnknownQuestionType", "question_type", "interview_types"]
