"""What every question type shares: the value types (:class:`Question`, :class:`Option`, :class:`Pair`),
the field reader a type's schema is checked with (:class:`FieldReader`), keyword matching, and the
shuffled :class:`Arrangement` a widget and the terminal both show.

Nothing here knows the question types; they live one module each in ``ecsdojo.quiz.types``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FieldPath = tuple[str | int, ...]

# ---- value types ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One choice of a ``single`` or ``multiple`` question."""
    text: str
    correct: bool
    feedback: str | None = None


@dataclass(frozen=True)
class Pair:
    """One pair of a ``matching`` question: ``left`` is matched to ``right``."""
    left: str
    right: str


@dataclass(frozen=True)
class Question:
    """One validated question. Fields a type does not use keep their defaults."""
    id: str
    type: str
    topic: str
    difficulty: str
    prompt: str
    explanation: str
    sources: tuple[str, ...]
    bank: str
    file: Path
    line: int
    hint: str | None = None
    options: tuple[Option, ...] = ()
    answer: Any = None                       # bool (true_false) or float (numeric)
    feedback_true: str | None = None
    feedback_false: str | None = None
    items: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()
    tolerance: float = 0.0
    unit: str | None = None
    keywords: tuple[tuple[str, ...], ...] = ()
    min_keywords: int = 0
    model_answer: str | None = None
    rubric: tuple[str, ...] = ()
    minutes: float | None = None


@dataclass(frozen=True)
class BankIssue:
    """One problem in a bank file. ``str(issue)`` is ``FILE:LINE: [ID] FIELD: MESSAGE``."""
    file: Path
    line: int | None
    question_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file.name}:{self.line}" if self.line else self.file.name
        who = f" [{self.question_id}]" if self.question_id else ""
        what = f" {self.field}:" if self.field else ""
        return f"{where}:{who}{what} {self.message}"



# ---- reading a question's fields -------------------------------------------------------------------------------

class FieldReader:
    """Reads one question's fields, recording a :class:`BankIssue` for every field that breaks the schema.

    ``document`` is the parsed bank (anything with ``line(path)`` and ``scalars``): it gives line numbers
    and the source text of unquoted scalars."""

    def __init__(self, raw: dict, index: int, document: Any, file: Path, issues: list[BankIssue]) -> None:
        self.raw = raw
        self.base: FieldPath = ("questions", index)
        self.document = document
        self.file = file
        self.issues = issues
        self.errors = 0
        ident = raw.get("id")
        self.qid = ident if isinstance(ident, str) and ident else f"question #{index + 1}"

    def error(self, field_path: Sequence[str | int], message: str) -> None:
        self.errors += 1
        line = self.document.line((*self.base, *field_path))
        self.issues.append(BankIssue(self.file, line, self.qid, field_name(field_path), message))

    def text(self, value: Any, path: Sequence[str | int], *, required: bool = True) -> str | None:
        """A text field. Unquoted scalars are taken as written (``No`` stays "No", ``80`` stays "80")."""
        if value is None:
            if required:
                self.error(path, "missing (needs text)")
            return None
        if isinstance(value, (bool, int, float)):
            value = self.document.scalars.get((*self.base, *path), str(value))
        if not isinstance(value, str):
            self.error(path, f"must be text, not {kind_of(value)}")
            return None
        if not value.strip():
            if required:
                self.error(path, "must not be empty")
            return None
        return value.strip()

    def number(self, value: Any, path: Sequence[str | int]) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, f"must be a number, not {kind_of(value)}")
            return None
        return float(value)

    def boolean(self, value: Any, path: Sequence[str | int]) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, not {kind_of(value)}")
            return None
        return value

    def items_list(self, value: Any, path: Sequence[str | int], *, minimum: int) -> list | None:
        if value is None:
            self.error(path, "missing (needs a list)")
            return None
        if not isinstance(value, list):
            self.error(path, f"must be a list, not {kind_of(value)}")
            return None
        if len(value) < minimum:
            self.error(path, f"needs at least {count_of(minimum, 'entry', 'entries')}, has {len(value)}")
            return None
        return value

    def text_list(self, value: Any, path: Sequence[str | int], *, minimum: int, unique: bool) -> tuple[str, ...] | None:
        entries = self.items_list(value, path, minimum=minimum)
        if entries is None:
            return None
        texts = [self.text(entry, (*path, i)) for i, entry in enumerate(entries)]
        if any(t is None for t in texts):
            return None
        if unique:
            self.no_repeats(texts, path)
        return tuple(texts)

    def no_repeats(self, texts: Sequence[str], path: Sequence[str | int]) -> None:
        seen: set[str] = set()
        for i, text in enumerate(texts):
            if text in seen:
                self.error((*path, i), f"repeats {text!r}")
            seen.add(text)


def field_name(path: Sequence[str | int]) -> str | None:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def count_of(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)



# ---- keyword matching (what "accepted spellings" of a short answer's keywords means) -------------

def normalize_text(text: str) -> str:
    """Lower case, punctuation and dashes turned into single spaces: "Task-Role's" -> "task role s"."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def mentions(text: str, spelling: str) -> bool:
    """Whether ``text`` mentions ``spelling`` as whole words (case, punctuation and a plural s ignored)."""
    wanted = normalize_text(spelling)
    if not wanted:
        return False
    return re.search(rf"(?<!\w){re.escape(wanted)}(?:s|es)?(?!\w)", normalize_text(text)) is not None


# ---- arranging a question on screen ----------------------------------------------------------

@dataclass(frozen=True)
class Arrangement:
    """How one question is shown: options, items and right-hand sides in their shuffled order."""
    options: tuple[Option, ...] = ()
    items: tuple[str, ...] = ()            # ordering: the starting (shuffled) order
    lefts: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()


def arrange(question: Question, *, seed: int | None = None) -> Arrangement:
    """Shuffle a question's choices, deterministically for a given seed and question id (so the
    widget and the terminal show the same order, and a re-run shows the same order again)."""
    rng = random.Random(f"{seed}:{question.id}")
    options = list(question.options)
    rng.shuffle(options)
    items = list(question.items)
    if len(items) > 1:
        rng.shuffle(items)
        if items == list(question.items):      # never start in the right order
            items = items[1:] + items[:1]
    lefts = [p.left for p in question.pairs]
    rights = [p.right for p in question.pairs]
    rng.shuffle(rights)
    return Arrangement(tuple(options), tuple(items), tuple(lefts), tuple(rights))
