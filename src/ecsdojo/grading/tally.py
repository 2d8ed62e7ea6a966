"""The learner's per-module progress table, read from the progress store.

The full points of each module come from the released notebooks' metadata (``metadata.ecsdojo``,
written by `dojo release`), so a module shows ``2/10`` even before every check has been tried. A
module's points are those of all its checks, hidden ones included — the same number the README, the
check cells' tally and the gradebook show; the table says how many are in hidden checks (they run
only when the notebook is graded). The released notebooks are found wherever the command runs
(``ecsdojo.locations``).

Example::

    progress()                 # in a notebook: an HTML table; in a terminal: text
    progress(widget=True)      # an ipywidgets box with a Refresh button
    print(ProgressTable.load(notebooks=["notebooks"]))
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METADATA_KEY = "ecsdojo"


def module_label(module: str) -> str:
    """``"04"`` -> ``"Module 4"``."""
    return f"Module {_number(module)}"


@dataclass(frozen=True)
class ModuleInfo:
    """What a released notebook says about its module."""

    module: str
    title: str
    checks: Mapping[str, float] = field(default_factory=dict)   # visible check id -> points
    hidden_points: float = 0.0                                   # points of the hidden checks
    hints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)   # check id -> sealed hint spec

    @property
    def total(self) -> float:
        return float(sum(self.checks.values())) + self.hidden_points


def read_catalogue(folders: Iterable[str | os.PathLike]) -> dict[str, ModuleInfo]:
    """Module infos from the ``metadata.ecsdojo`` of every released notebook in `folders`."""
    catalogue: dict[str, ModuleInfo] = {}
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.ipynb")):
            try:
                meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get(METADATA_KEY)
            except (OSError, ValueError, AttributeError):
                continue
            if not isinstance(meta, dict) or "module" not in meta:
                continue
            try:
                checks = {str(k): float(v) for k, v in dict(meta.get("checks", {})).items()}
                hidden = float(meta.get("hidden_points", 0) or 0)
                hints = {str(k): dict(v) for k, v in dict(meta.get("hints", {})).items() if isinstance(v, dict)}
            except (TypeError, ValueError):
                continue
            catalogue.setdefault(str(meta["module"]), ModuleInfo(str(meta["module"]), str(meta.get("title", "")),
                                                                 checks, hidden, hints))
    return catalogue


def default_folders() -> list[Path]:
    """Where the released notebooks are looked for: the course's notebooks/ (found wherever the
    command runs), then the working folder and its notebooks/."""
    from ecsdojo.locations import course_folder

    folders = [Path.cwd(), Path.cwd() / "notebooks"]
    course = course_folder("notebooks")
    return [course, *folders] if course is not None else folders


@dataclass(frozen=True)
class ModuleRow:
    module: str
    title: str
    points: float
    max_points: float
    passed: int
    checks: int
    hidden_points: float = 0.0


def _fmt(value: float) -> str:
    return f"{value:g}"


def _number(module: str) -> str:
    """``"04"`` -> ``"4"``."""
    return str(int(module)) if module.isdigit() else module


@dataclass(frozen=True)
class ProgressTable:
    """Per-module points; renders as HTML in Jupyter and as text in a terminal."""

    rows: tuple[ModuleRow, ...]

    @classmethod
    def from_results(cls, results: Iterable[Any], catalogue: Mapping[str, ModuleInfo] | None = None,
                     session_totals: Mapping[str, float] | None = None) -> ProgressTable:
        """Build from ProgressStore.check_results() (best attempt per check) and the catalogue."""
        catalogue = catalogue or {}
        session_totals = session_totals or {}
        by_module: dict[str, dict[str, Any]] = {}
        for result in results:
            by_module.setdefault(result.module, {})[result.check_id] = result
        rows = []
        for module in sorted(set(by_module) | set(catalogue)):
            attempted = by_module.get(module, {})
            info = catalogue.get(module)
            if info is not None and info.checks:
                counted = [attempted[c] for c in info.checks if c in attempted]
                rows.append(ModuleRow(module, info.title, sum(r.points for r in counted), info.total,
                                      sum(1 for r in counted if r.passed), len(info.checks), info.hidden_points))
            else:
                total = session_totals.get(module, sum(r.max_points for r in attempted.values()))
                rows.append(ModuleRow(module, info.title if info else "", sum(r.points for r in attempted.values()),
                                      total, sum(1 for r in attempted.values() if r.passed), len(attempted)))
        return cls(tuple(rows))

    @classmethod
    def load(cls, *, store: Any = None, notebooks: Iterable[str | os.PathLike] | None = None,
             module: str | None = None, session_totals: Mapping[str, float] | None = None) -> ProgressTable:
        """Read the learner's store (default: $DOJO_HOME) and the released notebooks' catalogue."""
        if store is None:
            from ecsdojo.progress_store import ProgressStore

            store = ProgressStore()
        folders = list(notebooks) if notebooks is not None else default_folders()
        table = cls.from_results(store.check_results(module), read_catalogue(folders), session_totals)
        if module is not None:
            table = cls(tuple(row for row in table.rows if row.module == module))
        return table

    @property
    def points(self) -> float:
        return sum(row.points for row in self.rows)

    @property
    def max_points(self) -> float:
        return sum(row.max_points for row in self.rows)

    @property
    def hidden_points(self) -> float:
        return sum(row.hidden_points for row in self.rows)

    def hidden_note(self) -> str:
        """The sentence about hidden checks ('' when no module has any)."""
        if not self.hidden_points:
            return ""
        modules = ", ".join(f"{_number(r.module)}: {_fmt(r.hidden_points)}" for r in self.rows if r.hidden_points)
        return (f"{_fmt(self.hidden_points)} of the points are in hidden checks, which run only when your "
                f"notebook is graded (module {modules}).")

    def __str__(self) -> str:
        if not self.rows:
            return "No checks recorded yet: run a notebook's check cells."
        header = ("Module", "Title", "Points", "Checks passed")
        body = [(_number(r.module), r.title, f"{_fmt(r.points)}/{_fmt(r.max_points)}", f"{r.passed}/{r.checks}")
                for r in self.rows]
        body.append(("Total", "", f"{_fmt(self.points)}/{_fmt(self.max_points)}", ""))
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
        text = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                         for row in [header, *body])
        return text + ("\n" + self.hidden_note() if self.hidden_note() else "")

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        e = html.escape
        if not self.rows:
            return f"<p>{e(str(self))}</p>"
        left = ' style="text-align:left"'        # JupyterLab right-aligns table cells by default
        lines = ['<table class="ecsdojo-progress">',
                 f"<thead><tr><th{left}>Module</th><th{left}>Title</th><th{left}>Points</th>"
                 f"<th{left}>Checks passed</th><th></th></tr></thead>",
                 "<tbody>"]
        for r in self.rows:
            share = 0 if not r.max_points else min(100, round(100 * r.points / r.max_points))
            bar = (f'<div style="width:120px;background:#eee"><div style="width:{share}%;background:#1a7f37;'
                   f'height:8px"></div></div>')
            lines.append(f"<tr><td{left}>{e(_number(r.module))}</td><td{left}>{e(r.title)}</td>"
                         f"<td{left}>{_fmt(r.points)}/{_fmt(r.max_points)}</td><td{left}>{r.passed}/{r.checks}</td>"
                         f"<td>{bar}</td></tr>")
        lines.append(f"<tr><th{left}>Total</th><td></td><th{left}>{_fmt(self.points)}/{_fmt(self.max_points)}</th>"
                     f"<td></td><td></td></tr>")
        lines.append("</tbody></table>")
        if self.hidden_note():
            lines.append(f"<p>{e(self.hidden_note())}</p>")
        return "".join(lines)


def progress(*, module: str | None = None, widget: bool = False,
             notebooks: Iterable[str | os.PathLike] | None = None,
             session_totals: Callable[[], dict[str, float]] = dict) -> Any:
    """The learner's per-module table from the progress store.

    Returns a ProgressTable (shown as HTML in Jupyter, text elsewhere), or with ``widget=True`` an
    ipywidgets box whose Refresh button re-reads the store. ``session_totals`` gives the module totals known
    from checks run in this kernel (``checks.progress`` passes ``checks.session_totals``; tally does not
    import checks, which imports tally).

    Example::

        progress()
        progress(module="04")
    """
    def table() -> ProgressTable:
        return ProgressTable.load(notebooks=notebooks, module=module, session_totals=session_totals())

    if not widget:
        return table()
    import ipywidgets

    view = ipywidgets.HTML(table()._repr_html_())
    button = ipywidgets.Button(description="Refresh", icon="refresh")

    def refresh(_button: Any) -> None:
        view.value = table()._repr_html_()

    button.on_click(refresh)
    return ipywidgets.VBox([view, button])
