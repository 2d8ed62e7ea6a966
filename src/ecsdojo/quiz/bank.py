"""Question banks: the schema, loading with line numbers, and validation.

A bank is one YAML file in ``quizzes/`` (schema: ``quizzes/README.md``). Loading never stops at the
first problem: every issue is collected as a :class:`BankIssue` naming the file, the line, the question
id and the field, invalid questions are left out, and the valid ones load.

Example::

    banks = load_banks()                      # every bank in the quizzes folder
    for issue in banks.issues:
        print(issue)                          # ecs-basics.yaml:14: [task-role-1] options: exactly one ...
    questions = banks.questions(topic="networking")
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

QUESTION_TYPES = ("single", "multiple", "true_false", "ordering", "matching", "numeric", "short", "interview")
DIFFICULTIES = ("easy", "medium", "hard")

# Hosts whose pages count as official documentation (a host matches itself and its subdomains).
OFFICIAL_DOC_HOSTS = (
    "docs.aws.amazon.com",
    "aws.amazon.com",
    "docs.docker.com",
    "kubernetes.io",
)

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

COMMON_FIELDS = ("id", "type", "topic", "difficulty", "prompt", "explanation", "sources", "hint")
TYPE_FIELDS = {
    "single": ("options",),
    "multiple": ("options",),
    "true_false": ("answer", "feedback_true", "feedback_false"),
    "ordering": ("items",),
    "matching": ("pairs",),
    "numeric": ("answer", "tolerance", "unit"),
    "short": ("keywords", "min_keywords", "model_answer"),
    "interview": ("model_answer", "rubric", "minutes"),
}
BANK_FIELDS = ("title", "questions")
BANK_SUFFIXES = (".yaml", ".yml")


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


@dataclass(frozen=True)
class Bank:
    """A loaded bank: its valid questions, in file order, and the issues found in the file."""
    name: str
    title: str
    path: Path
    questions: tuple[Question, ...]
    issues: tuple[BankIssue, ...] = ()


@dataclass(frozen=True)
class BankSet:
    """Every bank of a folder, plus the issues of all files (including ids repeated across banks)."""
    directory: Path
    banks: tuple[Bank, ...]
    issues: tuple[BankIssue, ...] = ()

    def bank(self, name: str) -> Bank:
        for bank in self.banks:
            if bank.name == name:
                return bank
        raise BankNotFound(name, self.directory, [b.name for b in self.banks])

    def questions(self, **filters: Any) -> list[Question]:
        """All questions of all banks, filtered as by :func:`matching_questions`."""
        return matching_questions([q for bank in self.banks for q in bank.questions], **filters)

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for bank in self.banks for q in bank.questions}


# ---- errors -----------------------------------------------------------------------------------

class BankNotFound(LookupError):
    """No bank file has the requested name."""

    def __init__(self, name: str, directory: Path, available: Sequence[str]) -> None:
        names = ", ".join(available) or "none"
        super().__init__(f"no question bank named {name!r} in {directory} (banks there: {names})")
        self.name = name


class BanksFolderNotFound(FileNotFoundError):
    """The quizzes folder cannot be found."""

    def __init__(self, looked_in: Sequence[Path]) -> None:
        places = ", ".join(str(p) for p in looked_in)
        super().__init__(f"no quizzes folder found (looked in: {places}); set DOJO_QUIZZES or pass banks_dir=")


# ---- where the banks are ----------------------------------------------------------------------

def default_banks_dir() -> Path:
    """The quizzes folder: ``$DOJO_QUIZZES``, else the repository's ``quizzes/`` beside ``src/``,
    else a ``quizzes/`` folder in the working directory or one of its parents (notebooks run in
    ``notebooks/``)."""
    env = os.environ.get("DOJO_QUIZZES")
    if env:
        return Path(env)
    candidates = [Path(__file__).resolve().parents[3] / "quizzes"]
    cwd = Path.cwd().resolve()
    candidates += [folder / "quizzes" for folder in (cwd, *cwd.parents)]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise BanksFolderNotFound(candidates[:3])


def bank_files(directory: Path) -> list[Path]:
    """The bank files of a folder, sorted by name (hidden files and files starting with ``_`` skipped)."""
    return sorted(p for p in Path(directory).iterdir()
                  if p.is_file() and p.suffix in BANK_SUFFIXES and not p.name.startswith((".", "_")))


# ---- reading YAML with line numbers -----------------------------------------------------------

FieldPath = tuple[str | int, ...]


@dataclass
class _Document:
    """A parsed YAML file: the Python value, and for every path inside it the line and source text."""
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)
    scalars: dict[FieldPath, str] = field(default_factory=dict)   # the source text of plain scalars
    duplicates: list[tuple[FieldPath, int]] = field(default_factory=list)

    def line(self, path: FieldPath) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


MAX_EXPANDED_NODES = 200_000    # far above any real bank (the largest has ~10,000 nodes)


class BankTooLarge(ValueError):
    """A bank whose YAML aliases expand to too many nodes (an "alias bomb") or refer to themselves."""


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded, counted without expanding.

    PyYAML shares an aliased node rather than copying it, so a "billion laughs" file parses into a
    small graph; it is walking that graph as a tree (our line index, the validator) that explodes.
    Sizes are memoised per node, so this costs one visit per distinct node.
    """
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise BankTooLarge(f"a YAML alias at line {node.start_mark.line + 1} refers to itself")
        visiting.add(key)
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                break
        visiting.discard(key)
        sizes[key] = total
        return total

    total = size(root)
    if total > MAX_EXPANDED_NODES:
        raise BankTooLarge(f"its YAML aliases (*name) expand to more than {MAX_EXPANDED_NODES:,} values "
                           f"(an alias bomb?); refused without expanding them")
    return total


def _parse(text: str) -> _Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    document = _Document(data)
    if node is not None:
        _index(node, (), document)
    return document


def _index(node: yaml.Node, path: FieldPath, document: _Document) -> None:
    document.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            child = (*path, key)
            if key in seen:
                document.duplicates.append((child, key_node.start_mark.line + 1))
                continue
            seen.add(key)
            document.lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), document)
    elif isinstance(node, yaml.ScalarNode):
        document.scalars[path] = node.value


# ---- validation -------------------------------------------------------------------------------

class _QuestionReader:
    """Reads one question's fields, recording an issue for every field that breaks the schema."""

    def __init__(self, raw: dict, index: int, document: _Document, file: Path, issues: list[BankIssue]) -> None:
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
        self.issues.append(BankIssue(self.file, line, self.qid, _field_name(field_path), message))

    def text(self, value: Any, path: Sequence[str | int], *, required: bool = True) -> str | None:
        """A text field. Unquoted scalars are taken as written (``No`` stays "No", ``80`` stays "80")."""
        if value is None:
            if required:
                self.error(path, "missing (needs text)")
            return None
        if isinstance(value, (bool, int, float)):
            value = self.document.scalars.get((*self.base, *path), str(value))
        if not isinstance(value, str):
            self.error(path, f"must be text, not {_kind(value)}")
            return None
        if not value.strip():
            if required:
                self.error(path, "must not be empty")
            return None
        return value.strip()

    def number(self, value: Any, path: Sequence[str | int]) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, f"must be a number, not {_kind(value)}")
            return None
        return float(value)

    def boolean(self, value: Any, path: Sequence[str | int]) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, not {_kind(value)}")
            return None
        return value

    def items_list(self, value: Any, path: Sequence[str | int], *, minimum: int) -> list | None:
        if value is None:
            self.error(path, "missing (needs a list)")
            return None
        if not isinstance(value, list):
            self.error(path, f"must be a list, not {_kind(value)}")
            return None
        if len(value) < minimum:
            self.error(path, f"needs at least {_count(minimum, 'entry', 'entries')}, has {len(value)}")
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


def _field_name(path: Sequence[str | int]) -> str | None:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def is_official_doc(url: str) -> bool:
    """Whether a URL points at official AWS, Docker or Kubernetes documentation (see OFFICIAL_DOC_HOSTS)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in OFFICIAL_DOC_HOSTS)


def _read_question(raw: Any, index: int, *, bank: str, file: Path, document: _Document,
                   issues: list[BankIssue]) -> Question | None:
    if not isinstance(raw, dict):
        line = document.line(("questions", index))
        issues.append(BankIssue(file, line, f"question #{index + 1}", None,
                                f"must be a mapping of fields, not {_kind(raw)}"))
        return None
    r = _QuestionReader(raw, index, document, file, issues)

    ident = raw.get("id")
    if ident is None:
        r.error(("id",), "missing")
    elif not isinstance(ident, str) or not ID_PATTERN.match(ident):
        r.error(("id",), f"{ident!r} must be lowercase letters, digits and dashes (e.g. task-role-1)")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        r.error(("type",), f"{qtype!r} is not one of {', '.join(QUESTION_TYPES)}"
                if qtype is not None else "missing")
        qtype = None
    topic = r.text(raw.get("topic"), ("topic",))
    difficulty = raw.get("difficulty")
    if difficulty not in DIFFICULTIES:
        r.error(("difficulty",), f"{difficulty!r} is not one of {', '.join(DIFFICULTIES)}"
                if difficulty is not None else "missing")
    prompt = r.text(raw.get("prompt"), ("prompt",))
    explanation = r.text(raw.get("explanation"), ("explanation",))
    hint = r.text(raw.get("hint"), ("hint",), required=False)
    sources = _read_sources(r, raw.get("sources"))

    for key_path, line in document.duplicates:
        if key_path[:2] == r.base:
            r.error(key_path[2:], f"appears more than once (line {line}); YAML keeps only the last")

    known = set(COMMON_FIELDS) | (set(TYPE_FIELDS[qtype]) if qtype else set().union(*TYPE_FIELDS.values()))
    for key in raw:
        if key not in known:
            used_by = [t for t, fields in TYPE_FIELDS.items() if key in fields]
            detail = (f"is not used by type {qtype} (it belongs to {', '.join(used_by)})" if used_by
                      else "is not a field of the schema (see quizzes/README.md)")
            r.error((str(key),), detail)

    specific: dict[str, Any] = {}
    if qtype:
        specific = _TYPE_READERS[qtype](r, raw)
    if r.errors:
        return None
    return Question(id=ident, type=qtype, topic=topic, difficulty=difficulty, prompt=prompt,
                    explanation=explanation, sources=sources, hint=hint, bank=bank, file=file,
                    line=document.line(("questions", index)) or 0, **specific)


def _read_sources(r: _QuestionReader, value: Any) -> tuple[str, ...]:
    urls = r.text_list(value, ("sources",), minimum=1, unique=False)
    if urls is None:
        return ()
    for i, url in enumerate(urls):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            r.error(("sources", i), f"{url!r} is not a web address (http:// or https://)")
    if not any(is_official_doc(url) for url in urls):
        r.error(("sources",), "needs at least one official documentation URL (hosts: "
                f"{', '.join(OFFICIAL_DOC_HOSTS)})")
    return urls


def _read_options(r: _QuestionReader, raw: dict) -> tuple[Option, ...] | None:
    entries = r.items_list(raw.get("options"), ("options",), minimum=2)
    if entries is None:
        return None
    options = []
    for i, entry in enumerate(entries):
        path = ("options", i)
        if not isinstance(entry, dict):
            r.error(path, f"must be a mapping with text and correct, not {_kind(entry)}")
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


def _read_single(r: _QuestionReader, raw: dict) -> dict:
    options = _read_options(r, raw)
    if options is not None:
        right = sum(o.correct for o in options)
        if right != 1:
            r.error(("options",), f"exactly one option must be correct, found {right}")
    return {"options": options or ()}


def _read_multiple(r: _QuestionReader, raw: dict) -> dict:
    options = _read_options(r, raw)
    if options is not None and not any(o.correct for o in options):
        r.error(("options",), "at least one option must be correct, found none")
    return {"options": options or ()}


def _read_true_false(r: _QuestionReader, raw: dict) -> dict:
    answer = r.boolean(raw.get("answer"), ("answer",)) if "answer" in raw else None
    if "answer" not in raw:
        r.error(("answer",), "missing (true or false)")
    return {"answer": answer,
            "feedback_true": r.text(raw.get("feedback_true"), ("feedback_true",), required=False),
            "feedback_false": r.text(raw.get("feedback_false"), ("feedback_false",), required=False)}


def _read_ordering(r: _QuestionReader, raw: dict) -> dict:
    return {"items": r.text_list(raw.get("items"), ("items",), minimum=2, unique=True) or ()}


def _read_matching(r: _QuestionReader, raw: dict) -> dict:
    entries = r.items_list(raw.get("pairs"), ("pairs",), minimum=2)
    if entries is None:
        return {}
    pairs = []
    for i, entry in enumerate(entries):
        path = ("pairs", i)
        if not isinstance(entry, dict):
            r.error(path, f"must be a mapping with left and right, not {_kind(entry)}")
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


def _read_numeric(r: _QuestionReader, raw: dict) -> dict:
    answer = r.number(raw.get("answer"), ("answer",))
    tolerance = 0.0
    if "tolerance" in raw:
        tolerance = r.number(raw["tolerance"], ("tolerance",))
        if tolerance is not None and tolerance < 0:
            r.error(("tolerance",), f"must be 0 or more, not {tolerance:g}")
    return {"answer": answer, "tolerance": tolerance or 0.0,
            "unit": r.text(raw.get("unit"), ("unit",), required=False)}


def _read_short(r: _QuestionReader, raw: dict) -> dict:
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
            r.error(("min_keywords",), f"must be a whole number, not {_kind(value)}")
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


def _read_interview(r: _QuestionReader, raw: dict) -> dict:
    minutes = None
    if "minutes" in raw:
        minutes = r.number(raw["minutes"], ("minutes",))
        if minutes is not None and minutes <= 0:
            r.error(("minutes",), f"must be more than 0, not {minutes:g}")
    return {"model_answer": r.text(raw.get("model_answer"), ("model_answer",)),
            "rubric": r.text_list(raw.get("rubric"), ("rubric",), minimum=1, unique=True) or (),
            "minutes": minutes}


_TYPE_READERS = {
    "single": _read_single, "multiple": _read_multiple, "true_false": _read_true_false,
    "ordering": _read_ordering, "matching": _read_matching, "numeric": _read_numeric,
    "short": _read_short, "interview": _read_interview,
}


# ---- loading ----------------------------------------------------------------------------------

def load_bank(path: str | os.PathLike) -> Bank:
    """Load and validate one bank file. Never raises for bad content: see ``Bank.issues``."""
    path = Path(path)
    issues: list[BankIssue] = []
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return Bank(name, name, path, (), (BankIssue(path, None, None, None, f"cannot be read: {error}"),))
    try:
        document = _parse(text)
    except BankTooLarge as error:
        return Bank(name, name, path, (), (BankIssue(path, None, None, None, f"is refused: {error}"),))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} at line {context_mark.line + 1})"
        return Bank(name, name, path, (), (BankIssue(path, mark.line + 1 if mark else None, None, None,
                                                     f"is not valid YAML: {problem}"),))
    data = document.data
    if not isinstance(data, dict):
        problem = f"must be a mapping with title and questions, not {_kind(data)}"
        return Bank(name, name, path, (), (BankIssue(path, 1, None, None, problem),))
    for key_path, line in document.duplicates:
        if len(key_path) == 1:
            issues.append(BankIssue(path, line, None, str(key_path[0]), "appears more than once"))
    for key in data:
        if key not in BANK_FIELDS:
            issues.append(BankIssue(path, document.line((key,)), None, str(key),
                                    "is not a bank field (title, questions)"))
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        issues.append(BankIssue(path, document.line(("title",)) or 1, None, "title",
                                "missing (needs text)" if title is None else "must be non-empty text"))
        title = name
    raw_questions = data.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        issues.append(BankIssue(path, document.line(("questions",)) or 1, None, "questions",
                                "missing or empty (needs a list of questions)"))
        raw_questions = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_questions):
        question = _read_question(raw, index, bank=name, file=path, document=document, issues=issues)
        if question is None:
            continue
        if question.id in seen:
            issues.append(BankIssue(path, question.line, question.id, "id",
                                    f"is used twice in this bank (first at line {seen[question.id]})"))
            continue
        seen[question.id] = question.line
        questions.append(question)
    issues.sort(key=lambda issue: issue.line or 0)
    return Bank(name, title.strip(), path, tuple(questions), tuple(issues))


def load_banks(directory: str | os.PathLike | None = None) -> BankSet:
    """Load every bank of a folder (default :func:`default_banks_dir`). Bad banks and bad questions
    are reported in ``issues`` and left out; the rest loads. Ids must be unique across banks: a
    repeat is reported and the later file's question is left out."""
    directory = Path(directory) if directory is not None else default_banks_dir()
    if not directory.is_dir():
        raise BanksFolderNotFound([directory])
    banks: list[Bank] = []
    issues: list[BankIssue] = []
    first: dict[str, Question] = {}
    for path in bank_files(directory):
        bank = load_bank(path)
        issues.extend(bank.issues)
        kept = []
        for question in bank.questions:
            earlier = first.get(question.id)
            if earlier is not None:
                issues.append(BankIssue(path, question.line, question.id, "id",
                                        f"is already used in {earlier.file.name}:{earlier.line}; ids must be "
                                        "unique across all banks"))
                continue
            first[question.id] = question
            kept.append(question)
        if len(kept) != len(bank.questions):
            bank = Bank(bank.name, bank.title, bank.path, tuple(kept), bank.issues)
        banks.append(bank)
    return BankSet(directory, tuple(banks), tuple(issues))


def find_bank(name: str, directory: str | os.PathLike | None = None) -> Bank:
    """Load one bank by name (the file stem) from the quizzes folder."""
    directory = Path(directory) if directory is not None else default_banks_dir()
    for suffix in BANK_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.is_file():
            return load_bank(path)
    available = [p.stem for p in bank_files(directory)] if directory.is_dir() else []
    raise BankNotFound(name, directory, available)


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


# ---- choosing and arranging questions ---------------------------------------------------------

def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    return {v.casefold() for v in values}


def matching_questions(questions: Sequence[Question], *, topic: str | Iterable[str] | None = None,
                       difficulty: str | Iterable[str] | None = None, types: str | Iterable[str] | None = None,
                       n: int | None = None, seed: int | None = None) -> list[Question]:
    """Filter questions, then order and cut them.

    ``topic`` matches a question's topic or its bank name (case-insensitive; one or several).
    With ``seed=None`` questions keep bank order and ``n`` takes the first ``n``; with a seed they are
    shuffled by it first (the same seed gives the same quiz).
    """
    topics, levels, kinds = _as_set(topic), _as_set(difficulty), _as_set(types)
    chosen = [q for q in questions
              if (topics is None or q.topic.casefold() in topics or q.bank.casefold() in topics)
              and (levels is None or q.difficulty in levels)
              and (kinds is None or q.type in kinds)]
    if seed is not None:
        random.Random(seed).shuffle(chosen)
    return chosen[:n] if n is not None else chosen


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
