"""The one parser for the authoring markers in `solutions/` notebooks (see docs/authoring.md).

A solutions notebook is named ``NN_title.ipynb``; ``NN`` is its module id (``04``). Its code cells are:

- **exercise cells**: hold one or more regions between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- **check cells**: call ``check("mNN.some-id", value, expect=..., points=...)``; calls between
  ``### BEGIN HIDDEN CHECKS`` and ``### END HIDDEN CHECKS`` are hidden checks (run only when grading);
- **plain cells**: everything else (set-up, demos), kept as they are.

Malformed markers fail loudly, naming the notebook, the cell (position and id) and the line.

Example::

    nb, parsed = read_notebook("solutions/04_auto_healing.ipynb")
    parsed.module                       # "04"
    [c.check_id for c in parsed.checks] # ["m04.heal-count", "m04.heal-count-hidden"]
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecsdojo.grading.seal import Normalisation

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN CHECKS"
END_HIDDEN = "### END HIDDEN CHECKS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)

NOTEBOOK_NAME = re.compile(r"^(\d{2})[_-]([A-Za-z0-9][\w-]*)\.ipynb$")
CHECK_ID = re.compile(r"^m(\d{2})\.[a-z0-9][a-z0-9._-]*$")
_MARKER_LIKE = re.compile(r"^#+\s*(begin|end)\b.*\b(solution|hidden)", re.IGNORECASE)
_CHECK_CALL = re.compile(r"(?<![\w.])check\s*\(")

# Keywords an author may give check(); `sealed` is written by `dojo release` only.
CHECK_KEYWORDS = {"points", "expect", "hint", "extra_hints", "hint_cost", "explain", "ignore_case", "ignore_order",
                  "digits", "within"}
# Keywords that stay readable in a released notebook; the rest go into sealed=.
VISIBLE_KEYWORDS = ("points", "hint_cost", "within")


@dataclass(frozen=True)
class CellLocation:
    notebook: str
    index: int
    cell_id: str

    def __str__(self) -> str:
        return f"{self.notebook}, cell {self.index + 1} (id {self.cell_id!r})"


class MarkerError(Exception):
    """Base class: a solutions notebook that cannot be released or graded."""


class UnreadableNotebook(MarkerError):
    """The file is not a notebook (bad JSON or not nbformat 4)."""

    def __init__(self, notebook: str, reason: str) -> None:
        super().__init__(f"{notebook}: not a readable notebook ({reason})")
        self.notebook = notebook


class BadNotebookName(MarkerError):
    """A solutions notebook not named NN_title.ipynb."""

    def __init__(self, notebook: str) -> None:
        super().__init__(f"{notebook}: solutions notebooks are named NN_title.ipynb (NN = two-digit module id), "
                         f"e.g. 04_auto_healing.ipynb")
        self.notebook = notebook


class _CellError(MarkerError):
    """An error located in one cell (and maybe one line) of a notebook."""

    problem = "problem"

    def __init__(self, where: CellLocation, detail: str = "", *, line: int | None = None) -> None:
        place = f"{where}" + (f", line {line + 1}" if line is not None else "")
        super().__init__(f"{place}: {self.problem}" + (f": {detail}" if detail else ""))
        self.where = where
        self.line = line
        self.detail = detail


class MissingCellId(_CellError):
    """Cells need stable ids (nbformat 4.5) so grading can restore checks by id."""

    problem = "cell has no id (save the notebook with Jupyter >= 3 / nbformat 4.5, which adds cell ids)"


class DuplicateCellId(_CellError):
    problem = "cell id is used twice"


class MalformedMarker(_CellError):
    problem = "malformed marker; the markers are " + ", ".join(f"`{m}`" for m in MARKERS)


class UnbalancedMarker(_CellError):
    problem = "unbalanced marker"


class MarkerOutsideCode(_CellError):
    problem = "markers only work in code cells"


class MixedCell(_CellError):
    problem = "a cell is either an exercise (BEGIN SOLUTION) or a check cell (check() calls), not both"


class BadCheck(_CellError):
    problem = "bad check() call"


class DuplicateCheck(_CellError):
    problem = "check id used twice in this notebook"


@dataclass(frozen=True)
class CheckCall:
    """One authored ``check(...)`` call, as the parser found it in a cell's source."""

    check_id: str
    points: float
    hidden: bool
    has_expect: bool
    expect: Any
    how: Normalisation
    hint: str
    extra_hints: tuple[str, ...]
    explain: str
    start: int                       # character offsets of the whole call in the cell source
    end: int
    id_source: str
    value_source: str
    visible_keywords: tuple[tuple[str, str], ...]   # (name, source) kept readable after release
    sealed: str | None = None        # set when the call is already sealed (a released notebook)


@dataclass(frozen=True)
class CellMarkers:
    solution_regions: tuple[tuple[int, int], ...]   # (BEGIN line, END line), 0-based, inclusive
    hidden_regions: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ParsedCell:
    index: int
    cell_id: str
    cell_type: str
    kind: str                        # "exercise" | "check" | "plain"
    source: str
    markers: CellMarkers
    checks: tuple[CheckCall, ...]


@dataclass(frozen=True)
class ParsedNotebook:
    path: str
    module: str
    title: str
    cells: tuple[ParsedCell, ...]

    @property
    def checks(self) -> tuple[CheckCall, ...]:
        return tuple(call for cell in self.cells for call in cell.checks)

    @property
    def visible_checks(self) -> tuple[CheckCall, ...]:
        return tuple(call for call in self.checks if not call.hidden)

    @property
    def visible_total(self) -> float:
        return sum(call.points for call in self.visible_checks)

    @property
    def total(self) -> float:
        return sum(call.points for call in self.checks)

    def cells_of_kind(self, kind: str) -> tuple[ParsedCell, ...]:
        return tuple(cell for cell in self.cells if cell.kind == kind)


def module_from_filename(name: str | os.PathLike) -> str | None:
    """``04_auto_healing.ipynb`` -> ``"04"``; None when the name has no NN_ prefix."""
    match = NOTEBOOK_NAME.match(Path(name).name)
    return match.group(1) if match else None


_MODULE_PREFIX = re.compile(r"^Module\s+\d+\s*(?:[—–:-]\s*)?", re.IGNORECASE)


def title_from_notebook(nb: Mapping, name: str) -> str:
    """The first markdown ``# heading``, else the file name without its prefix.

    A leading "Module 05 — " is dropped: tables and feedback show the module number beside the title,
    so every module's title reads the same way whether or not its heading repeats the number.
    """
    for cell in nb.get("cells", ()):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    return _MODULE_PREFIX.sub("", title, count=1) or title
    match = NOTEBOOK_NAME.match(Path(name).name)
    stem = match.group(2) if match else Path(name).stem
    return stem.replace("_", " ").replace("-", " ").strip().capitalize()


def _source(cell: Mapping) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def scan_markers(source: str, where: CellLocation) -> CellMarkers:
    """Find the marker regions of one cell; raise on anything malformed or unbalanced."""
    solution: list[tuple[int, int]] = []
    hidden: list[tuple[int, int]] = []
    open_marker: tuple[str, int] | None = None
    for number, line in enumerate(source.splitlines()):
        text = line.strip()
        if text not in MARKERS:
            if _MARKER_LIKE.match(text):
                raise MalformedMarker(where, f"`{text}`", line=number)
            continue
        if text in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if open_marker is not None:
                raise UnbalancedMarker(where, f"`{text}` inside `{open_marker[0]}` (line {open_marker[1] + 1})",
                                       line=number)
            open_marker = (text, number)
            continue
        expected = BEGIN_SOLUTION if text == END_SOLUTION else BEGIN_HIDDEN
        if open_marker is None or open_marker[0] != expected:
            raise UnbalancedMarker(where, f"`{text}` without `{expected}` before it", line=number)
        (solution if text == END_SOLUTION else hidden).append((open_marker[1], number))
        open_marker = None
    if open_marker is not None:
        end = END_SOLUTION if open_marker[0] == BEGIN_SOLUTION else END_HIDDEN
        raise UnbalancedMarker(where, f"`{open_marker[0]}` is never closed by `{end}`", line=open_marker[1])
    if solution and hidden:
        raise MixedCell(where, "it has both BEGIN SOLUTION and BEGIN HIDDEN CHECKS")
    return CellMarkers(tuple(solution), tuple(hidden))


def has_check_call(source: str) -> bool:
    return bool(_CHECK_CALL.search(source))


def _offsets(source: str) -> list[int]:
    starts, total = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    starts.append(total)
    return starts


def _char_offset(source_lines: list[str], line_starts: list[int], lineno: int, col_bytes: int) -> int:
    line = source_lines[lineno - 1]
    return line_starts[lineno - 1] + len(line.encode()[:col_bytes].decode(errors="ignore"))


def find_checks(source: str, where: CellLocation, *, module: str | None,
                markers: CellMarkers | None = None) -> tuple[CheckCall, ...]:
    """Every ``check(...)`` call in a cell, validated; hidden when inside a hidden region."""
    markers = markers or scan_markers(source, where)
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise BadCheck(where, f"a check cell must be plain Python ({error.msg})",
                       line=(error.lineno or 1) - 1) from None
    lines = source.splitlines(keepends=True) or [""]
    starts = _offsets(source)
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name) and node.func.id == "check"),
                   key=lambda node: (node.lineno, node.col_offset))
    found = []
    for node in calls:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        for begin, end in markers.solution_regions:
            if begin <= first <= end:
                raise BadCheck(where, "check() calls go in check cells, not inside a solution", line=first)
        inside = [begin <= first <= end for begin, end in markers.hidden_regions]
        if any(inside) != any(begin <= last <= end for begin, end in markers.hidden_regions):
            raise BadCheck(where, "a check() call crosses a hidden-checks marker", line=first)
        found.append(_check_call(node, source, lines, starts, where, module=module, hidden=any(inside)))
    return tuple(found)


def _literal(node: ast.expr, name: str, where: CellLocation, line: int) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise BadCheck(where, f"{name}= must be a literal value (it is sealed at release, not run)",
                       line=line) from None


def _check_call(node: ast.Call, source: str, lines: list[str], starts: list[int], where: CellLocation, *,
                module: str | None, hidden: bool) -> CheckCall:
    line = node.lineno - 1
    if len(node.args) != 2 or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise BadCheck(where, "write check(\"mNN.id\", value_or_callable, ...keywords)", line=line)
    id_node = node.args[0]
    if not (isinstance(id_node, ast.Constant) and isinstance(id_node.value, str)):
        raise BadCheck(where, "the check id must be a string literal", line=line)
    check_id = id_node.value
    match = CHECK_ID.match(check_id)
    if not match:
        raise BadCheck(where, f"check id {check_id!r} must look like 'm04.heal-count' "
                              f"(m + module + '.' + lower-case name)", line=line)
    if module is not None and match.group(1) != module:
        raise BadCheck(where, f"check id {check_id!r} belongs to module {match.group(1)}, "
                              f"but this notebook is module {module}", line=line)
    values: dict[str, Any] = {}
    visible: list[tuple[str, str]] = []
    sealed = None
    for keyword in node.keywords:
        if keyword.arg is None:
            raise BadCheck(where, f"{check_id}: **keywords are not allowed", line=line)
        if keyword.arg == "sealed":
            sealed = _literal(keyword.value, "sealed", where, line)
            continue
        if keyword.arg not in CHECK_KEYWORDS:
            raise BadCheck(where, f"{check_id}: unknown keyword {keyword.arg}= "
                                  f"(known: {', '.join(sorted(CHECK_KEYWORDS))})", line=line)
        values[keyword.arg] = _literal(keyword.value, keyword.arg, where, line)
        if keyword.arg in VISIBLE_KEYWORDS:
            visible.append((keyword.arg, ast.get_source_segment(source, keyword.value) or repr(values[keyword.arg])))
    points = values.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise BadCheck(where, f"{check_id}: points= must be a positive number, not {points!r}", line=line)
    for name in ("hint", "explain"):
        if not isinstance(values.get(name, ""), str):
            raise BadCheck(where, f"{check_id}: {name}= must be text", line=line)
    extra = values.get("extra_hints", ())
    if not isinstance(extra, (list, tuple)) or not all(isinstance(item, str) for item in extra):
        raise BadCheck(where, f"{check_id}: extra_hints= must be a list of texts", line=line)
    for name in ("hint_cost", "within"):
        number = values.get(name, 0)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise BadCheck(where, f"{check_id}: {name}= must be a number >= 0", line=line)
    digits = values.get("digits", 6)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 15:
        raise BadCheck(where, f"{check_id}: digits= must be an integer 0..15", line=line)
    how = Normalisation(bool(values.get("ignore_case", False)), bool(values.get("ignore_order", False)), digits)
    if "expect" in values:
        from ecsdojo.grading.seal import UnsupportedValue, normalise
        try:
            normalise(values["expect"], how)
        except UnsupportedValue as error:
            raise BadCheck(where, f"{check_id}: expect= {error}", line=line) from None
    start = _char_offset(lines, starts, node.lineno, node.col_offset)
    end = _char_offset(lines, starts, node.end_lineno or node.lineno, node.end_col_offset or 0)
    return CheckCall(
        check_id=check_id, points=float(points), hidden=hidden, has_expect="expect" in values,
        expect=values.get("expect"), how=how, hint=values.get("hint", ""), extra_hints=tuple(extra),
        explain=values.get("explain", ""), start=start, end=end,
        id_source=ast.get_source_segment(source, id_node) or repr(check_id),
        value_source=ast.get_source_segment(source, node.args[1]) or "None",
        visible_keywords=tuple(visible), sealed=sealed)


def parse_cell(cell: Mapping, index: int, *, notebook: str, module: str | None) -> ParsedCell:
    """Classify one cell and validate its markers and check() calls."""
    cell_id = cell.get("id")
    where = CellLocation(notebook, index, str(cell_id or "?"))
    if not cell_id:
        raise MissingCellId(where)
    source = _source(cell)
    cell_type = cell.get("cell_type", "")
    if cell_type != "code":
        for number, line in enumerate(source.splitlines()):
            if line.strip() in MARKERS or _MARKER_LIKE.match(line.strip()):
                raise MarkerOutsideCode(where, f"`{line.strip()}` in a {cell_type} cell", line=number)
        return ParsedCell(index, str(cell_id), cell_type, "plain", source, CellMarkers((), ()), ())
    markers = scan_markers(source, where)
    checks = find_checks(source, where, module=module, markers=markers) if has_check_call(source) else ()
    if markers.solution_regions and checks:
        raise MixedCell(where, "it has BEGIN SOLUTION and check() calls")
    if markers.hidden_regions and not any(call.hidden for call in checks):
        raise BadCheck(where, "the hidden-checks region has no check() call")
    if markers.solution_regions:
        kind = "exercise"
    elif checks:
        kind = "check"
    else:
        kind = "plain"
    return ParsedCell(index, str(cell_id), cell_type, kind, source, markers, checks)


def parse_notebook(nb: Mapping, *, path: str | os.PathLike, module: str | None = None) -> ParsedNotebook:
    """Parse a solutions notebook (a dict or nbformat node). The module comes from the file name."""
    name = str(path)
    module = module or module_from_filename(name)
    if module is None:
        raise BadNotebookName(name)
    cells = []
    seen_cells: dict[str, int] = {}
    seen_checks: dict[str, CellLocation] = {}
    for index, cell in enumerate(nb.get("cells", ())):
        parsed = parse_cell(cell, index, notebook=name, module=module)
        where = CellLocation(name, index, parsed.cell_id)
        if parsed.cell_id in seen_cells:
            raise DuplicateCellId(where, f"also cell {seen_cells[parsed.cell_id] + 1}")
        seen_cells[parsed.cell_id] = index
        for call in parsed.checks:
            if call.check_id in seen_checks:
                raise DuplicateCheck(where, f"{call.check_id} (first in {seen_checks[call.check_id]})")
            seen_checks[call.check_id] = where
        cells.append(parsed)
    return ParsedNotebook(name, module, title_from_notebook(nb, name), tuple(cells))


def read_notebook(path: str | os.PathLike):
    """Read and parse a solutions notebook: returns ``(nbformat node, ParsedNotebook)``."""
    import nbformat

    name = str(path)
    try:
        nb = nbformat.read(name, as_version=4)
    except Exception as error:  # noqa: BLE001 - every failure means "not a readable notebook"
        raise UnreadableNotebook(name, f"{type(error).__name__}: {error}") from None
    return nb, parse_notebook(nb, path=name)
