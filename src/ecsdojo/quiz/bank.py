"""Question banks: the common schema, loading with line numbers, and validation.

Each question type's own fields are read by its module in ``ecsdojo.quiz.types`` (the one registry).

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

from ecsdojo.quiz.model import (Arrangement, BankIssue, FieldPath, FieldReader, Option, Pair, Question,  # noqa: F401
                                arrange, kind_of, mentions, normalize_text)
from ecsdojo.quiz.types import QUESTION_TYPES, REGISTRY  # noqa: F401 (QUESTION_TYPES re-exported)

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
# The fields each type adds to the common ones, as the type registry (ecsdojo.quiz.types) says;
# validation reads the registry itself, this is for callers that want the table.
TYPE_FIELDS = {name: kind.fields for name, kind in REGISTRY.items()}
BANK_FIELDS = ("title", "questions")
BANK_SUFFIXES = (".yaml", ".yml")


# ---- value types ------------------------------------------------------------------------------

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

def is_official_doc(url: str) -> bool:
    """Whether a URL points at official AWS, Docker or Kubernetes documentation (see OFFICIAL_DOC_HOSTS)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in OFFICIAL_DOC_HOSTS)


def _read_question(raw: Any, index: int, *, bank: str, file: Path, document: _Document,
                   issues: list[BankIssue]) -> Question | None:
    if not isinstance(raw, dict):
        line = document.line(("questions", index))
        issues.append(BankIssue(file, line, f"question #{index + 1}", None,
                                f"must be a mapping of fields, not {kind_of(raw)}"))
        return None
    r = FieldReader(raw, index, document, file, issues)

    ident = raw.get("id")
    if ident is None:
        r.error(("id",), "missing")
    elif not isinstance(ident, str) or not ID_PATTERN.match(ident):
        r.error(("id",), f"{ident!r} must be lowercase letters, digits and dashes (e.g. task-role-1)")
    qtype = raw.get("type")
    if qtype not in REGISTRY:
        r.error(("type",), f"{qtype!r} is not one of {', '.join(REGISTRY)}"
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

    type_fields = {name: kind.fields for name, kind in REGISTRY.items()}
    known = set(COMMON_FIELDS) | (set(type_fields[qtype]) if qtype else set().union(*type_fields.values()))
    for key in raw:
        if key not in known:
            used_by = [t for t, fields in type_fields.items() if key in fields]
            detail = (f"is not used by type {qtype} (it belongs to {', '.join(used_by)})" if used_by
                      else "is not a field of the schema (see quizzes/README.md)")
            r.error((str(key),), detail)

    specific: dict[str, Any] = {}
    if qtype:
        specific = REGISTRY[qtype].read(r, raw)
    if r.errors:
        return None
    return Question(id=ident, type=qtype, topic=topic, difficulty=difficulty, prompt=prompt,
                    explanation=explanation, sources=sources, hint=hint, bank=bank, file=file,
                    line=document.line(("questions", index)) or 0, **specific)


def _read_sources(r: FieldReader, value: Any) -> tuple[str, ...]:
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
        problem = f"must be a mapping with title and questions, not {kind_of(data)}"
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
