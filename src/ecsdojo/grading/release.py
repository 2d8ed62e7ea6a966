"""`dojo release`: generate the learner notebooks in `notebooks/` from the instructor's `solutions/`.

One transformation per step, each a pure function of a cell's source:

1. ``stub_solutions``       every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes
                            ``# YOUR CODE HERE`` + ``raise NotImplementedError(...)``;
2. ``strip_hidden_checks``  hidden-check regions are removed;
3. ``seal_checks``          ``check(..., expect=3, hint=...)`` becomes ``check(..., sealed="dojo1:...")``;
4. ``clear_outputs``        outputs of exercise and check cells are cleared; exercise and check cells
                            are tagged ``raises-exception`` (nbval and "Run all" go on past a stub),
                            check cells are marked not editable/deletable. Everything else is kept.

The released notebook keeps every cell id of its source (grading restores check cells by id) and
carries ``metadata.ecsdojo`` = {module, title, source, checks: {id: points}, digest}.

Safety: a generated notebook is one whose ``metadata.ecsdojo.source`` is its own file name; only those
are written or removed. Anything else in the folder (a learner's own notebook, a JupyterLab *Duplicate*
of a generated one) is kept untouched, and the release refuses to write over one of the same name. It
refuses to overwrite a generated notebook edited since it was released unless ``--force`` is given,
never removes an edited one (even with ``--force``), and refuses to write into the solutions folder.
Running it twice changes nothing. Example::

    plan = plan_release(Path("solutions"), Path("notebooks"))
    plan.stale           # what would change; [] when notebooks/ is up to date
    apply_release(plan)
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecsdojo.grading.markers import (
    CellLocation,
    MarkerError,
    ParsedNotebook,
    find_checks,
    module_from_filename,
    read_notebook,
    scan_markers,
)
from ecsdojo.grading.seal import SealedSpec
from ecsdojo.grading.tally import METADATA_KEY

STUB_LINES = ("# YOUR CODE HERE", 'raise NotImplementedError("replace this line with your code")')
HIDDEN_PLACEHOLDER = "# Hidden checks run here when this notebook is graded."
RAISES_TAG = "raises-exception"


class ReleaseRefused(Exception):
    """The release would overwrite something that is not a generated notebook."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}; nothing was written")
        self.path = str(path)


# ---- steps (pure functions of one cell's source) --------------------------------------------------
def stub_solutions(source: str, where: CellLocation) -> str:
    """Replace each solution region by the stub, indented like its BEGIN marker."""
    markers = scan_markers(source, where)
    lines = source.splitlines()
    for begin, end in reversed(markers.solution_regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin:end + 1] = [indent + line for line in STUB_LINES]
    return "\n".join(lines)


def strip_hidden_checks(source: str, where: CellLocation, *, keep_code: bool = False) -> str:
    """Remove hidden-check regions (with ``keep_code``: only their marker lines, for grading)."""
    markers = scan_markers(source, where)
    lines = source.splitlines()
    for begin, end in reversed(markers.hidden_regions):
        if keep_code:
            del lines[end]
            del lines[begin]
        else:
            del lines[begin:end + 1]
    text = "\n".join(lines).strip("\n")
    if not text.strip() and markers.hidden_regions and not keep_code:
        return HIDDEN_PLACEHOLDER
    return text


def seal_checks(source: str, where: CellLocation, *, module: str, module_total: float | None,
                hidden_points: float = 0) -> str:
    """Rewrite every authored check() call so that it carries a sealed spec instead of its answer."""
    calls = find_checks(source, where, module=module)
    for call in sorted(calls, key=lambda c: c.start, reverse=True):
        if call.sealed is not None:
            continue
        spec = SealedSpec.build(call.check_id, expect=call.expect, has_expect=call.has_expect, how=call.how,
                                hint=call.hint, extra_hints=call.extra_hints, explain=call.explain,
                                module_total=module_total, hidden_points=hidden_points)
        line_start = source.rfind("\n", 0, call.start) + 1
        indent = " " * (call.start - line_start + len("check("))
        arguments = [call.id_source, deferred_value(call.value_source),
                     *(f"{name}={text}" for name, text in call.visible_keywords)]
        text = f"check({', '.join(arguments)},\n{indent}sealed={json.dumps(spec.encode())})"
        source = source[:call.start] + text + source[call.end:]
    return source


def deferred_value(value_source: str) -> str:
    """The value argument as the release writes it: ``lambda: <value>`` unless it is a lambda already.

    So a learner who has not done the exercise gets "Your code raised NameError: name 'x' is not
    defined" as the check's feedback (check() calls the lambda and catches), instead of a traceback
    that prints the whole cell, sealed= text and all. check() calls a callable value, and calls once
    more what that returns when it is callable (a function passed by name, e.g. a behaviour check).
    """
    text = value_source.strip()
    if text.startswith("lambda") and text[len("lambda"):][:1] in (":", " "):
        return value_source
    return f"lambda: ({text})" if "\n" in text else f"lambda: {text}"


# nbval's comment markers, as the release turns them into the cell tags nbval reads the same way
# (nbval/plugin.py: "NBVAL_IGNORE_OUTPUT" ⇔ tag "nbval-ignore-output"): learners never see test plumbing.
NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*(NBVAL_[A-Z_]+)[ \t]*$")


def nbval_markers_to_tags(cell: dict[str, Any]) -> None:
    """Move `# NBVAL_…` comment lines of a code cell into its metadata tags (a no-op without them)."""
    if cell.get("cell_type") != "code":
        return
    lines = _joined(cell.get("source", "")).split("\n")
    markers = [match.group(1) for line in lines if (match := NBVAL_MARKER.match(line))]
    if not markers:
        return
    cell["source"] = "\n".join(line for line in lines if not NBVAL_MARKER.match(line))
    for marker in markers:
        _tag(cell, marker.lower().replace("_", "-"))


def _tag(cell: dict[str, Any], tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def clear_outputs(cell: dict[str, Any]) -> None:
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None


def source_digest(cells: list[dict[str, Any]]) -> str:
    """A digest of the cells' types and sources: tells an edited notebook from an executed one."""
    text = json.dumps([[cell.get("cell_type"), _joined(cell.get("source", ""))] for cell in cells])
    return hashlib.sha256(text.encode()).hexdigest()


def _joined(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


# ---- whole notebooks ------------------------------------------------------------------------------
def released_notebook(nb: Any, parsed: ParsedNotebook, *, source_name: str) -> Any:
    """The learner's notebook for one solutions notebook (a new node; `nb` is not changed)."""
    out = copy.deepcopy(nb)
    module_total, hidden_points = parsed.total, parsed.total - parsed.visible_total
    for cell, info in zip(out.cells, parsed.cells):
        where = CellLocation(parsed.path, info.index, info.cell_id)
        if info.kind == "exercise":
            cell.source = stub_solutions(info.source, where)
            clear_outputs(cell)
            _tag(cell, RAISES_TAG)
        elif info.kind == "check":
            text = strip_hidden_checks(info.source, where)
            cell.source = seal_checks(text, where, module=parsed.module, module_total=module_total,
                                      hidden_points=hidden_points)
            clear_outputs(cell)
            _tag(cell, RAISES_TAG)
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
        nbval_markers_to_tags(cell)
    out.metadata[METADATA_KEY] = {
        "module": parsed.module,
        "title": parsed.title,
        "source": source_name,
        "checks": {call.check_id: call.points for call in parsed.visible_checks},
        "points": module_total,
        "hidden_points": hidden_points,
        "hints": _hint_specs(parsed, module_total, hidden_points),
        "digest": source_digest(out.cells),
    }
    if out.get("nbformat_minor", 0) < 5:
        out.nbformat_minor = 5
    return out


def _hint_specs(parsed: ParsedNotebook, module_total: float, hidden_points: float) -> dict[str, dict[str, Any]]:
    """Check id -> what hint() needs before the check has run (every visible check): the same sealed
    text as the check cell holds, its points and the cost of a hint."""
    specs = {}
    for call in parsed.visible_checks:
        spec = SealedSpec.build(call.check_id, expect=call.expect, has_expect=call.has_expect, how=call.how,
                                hint=call.hint, extra_hints=call.extra_hints, explain=call.explain,
                                module_total=module_total, hidden_points=hidden_points)
        cost = dict(call.visible_keywords).get("hint_cost")
        specs[call.check_id] = {"points": call.points, "hint_cost": float(ast.literal_eval(cost)) if cost else 0.5,
                                "sealed": spec.encode()}
    return specs


def graded_check_sources(parsed: ParsedNotebook) -> dict[str, str]:
    """Cell id -> the source a check cell runs with when grading: sealed, hidden checks included."""
    sources = {}
    for info in parsed.cells_of_kind("check"):
        where = CellLocation(parsed.path, info.index, info.cell_id)
        text = strip_hidden_checks(info.source, where, keep_code=True)
        sources[info.cell_id] = seal_checks(text, where, module=parsed.module, module_total=parsed.total,
                                            hidden_points=parsed.total - parsed.visible_total)
    return sources


def notebook_text(nb: Any) -> str:
    """The exact file text a notebook is written as (deterministic)."""
    import nbformat

    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


# ---- the release folder ---------------------------------------------------------------------------
@dataclass
class ReleasePlan:
    """What a release would do. `stale` is empty when the out folder is up to date."""

    solutions_dir: Path
    out_dir: Path
    writes: dict[Path, str] = field(default_factory=dict)       # target -> new text (only changed ones)
    unchanged: list[Path] = field(default_factory=list)
    removes: list[Path] = field(default_factory=list)           # generated notebooks whose source is gone
    errors: list[str] = field(default_factory=list)             # bad solutions notebooks (others go on)
    edited: list[Path] = field(default_factory=list)            # generated notebooks edited since release
    kept: list[Path] = field(default_factory=list)              # the learner's own notebooks: never touched

    @property
    def stale(self) -> list[Path]:
        return sorted([*self.writes, *self.removes])


def _released_meta(path: Path) -> dict[str, Any] | None:
    """metadata.ecsdojo of a notebook the release generated, else None.

    A generated notebook has the exact name of its source (``metadata.ecsdojo.source``). A copy of one
    (JupyterLab's *Duplicate* writes ``04_auto_healing-Copy1.ipynb`` beside it; a learner may *Save As*
    ``04_my_copy.ipynb``) carries the same metadata under another name: it is the learner's, not ours.
    """
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get(METADATA_KEY)
    except (OSError, ValueError, AttributeError):
        return None
    if not (isinstance(meta, dict) and "source" in meta and "digest" in meta):
        return None
    return meta if meta["source"] == path.name else None


def _was_edited(path: Path) -> bool:
    data = json.loads(path.read_text(encoding="utf-8"))
    return source_digest(data.get("cells", [])) != data["metadata"][METADATA_KEY]["digest"]


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def solution_notebooks(solutions_dir: Path) -> list[Path]:
    return sorted(solutions_dir.glob("*.ipynb")) if solutions_dir.is_dir() else []


def plan_release(solutions_dir: str | os.PathLike, out_dir: str | os.PathLike) -> ReleasePlan:
    """Work out the release without writing anything. Raises ReleaseRefused for an unsafe out folder."""
    solutions_dir, out_dir = Path(solutions_dir), Path(out_dir)
    plan = ReleasePlan(solutions_dir, out_dir)
    sources = solution_notebooks(solutions_dir)
    if not sources:
        return plan
    solutions_abs, out_abs = solutions_dir.resolve(), out_dir.resolve()
    if _inside(out_abs, solutions_abs) or _inside(solutions_abs, out_abs):
        raise ReleaseRefused(out_dir, f"the release folder must be apart from the solutions folder {solutions_dir}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ReleaseRefused(out_dir, "is not a folder")
    existing: dict[str, Path] = {}
    for path in sorted(out_dir.glob("*.ipynb")) if out_dir.is_dir() else []:
        if _released_meta(path) is None:
            plan.kept.append(path)             # the learner's: never written, never removed
        else:
            existing[path.name] = path
    generated_names = {source.name for source in sources}
    for path in plan.kept:
        if path.name in generated_names:
            raise ReleaseRefused(path, "is not a notebook `dojo release` generated, and the release would "
                                       "write a notebook of that name; move or rename it first")
    modules: dict[str, Path] = {}
    for source in sources:
        module = module_from_filename(source.name)
        if module in modules:
            plan.errors.append(f"{source}: module {module} already comes from {modules[module]}")
            continue
        try:
            nb, parsed = read_notebook(source)
            text = notebook_text(released_notebook(nb, parsed, source_name=source.name))
        except MarkerError as error:
            plan.errors.append(str(error))
            if module is not None:
                modules[module] = source
            continue
        if module is not None:
            modules[module] = source
        target = out_dir / source.name
        current = existing.get(source.name)
        if current is not None and current.read_text(encoding="utf-8") == text:
            plan.unchanged.append(target)
            continue
        if current is not None and _was_edited(current):
            plan.edited.append(target)
        plan.writes[target] = text
    released = {source.name for source in sources}
    for name, path in existing.items():
        if name not in released:
            if _was_edited(path):
                plan.kept.append(path)         # someone's work in it: kept, even with --force
            else:
                plan.removes.append(path)
    plan.kept.sort()
    return plan


def apply_release(plan: ReleasePlan, *, force: bool = False) -> None:
    """Write the plan. Refuses (writing nothing) when a generated notebook was edited, unless `force`."""
    if plan.edited and not force:
        names = ", ".join(str(path) for path in plan.edited)
        raise ReleaseRefused(names, "edited since it was released (someone worked in the release folder); "
                                    "save that work elsewhere, or pass --force to overwrite it")
    if plan.writes:
        plan.out_dir.mkdir(parents=True, exist_ok=True)
    for target, text in plan.writes.items():
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    for path in plan.removes:
        path.unlink(missing_ok=True)


def release(solutions_dir: str | os.PathLike = "solutions", out_dir: str | os.PathLike = "notebooks", *,
            force: bool = False) -> ReleasePlan:
    """Plan and apply a release; returns the plan (its `errors` list bad solutions notebooks).

    Example::

        release("solutions", "notebooks").writes    # {} on a second run
    """
    plan = plan_release(solutions_dir, out_dir)
    apply_release(plan, force=force)
    return plan
