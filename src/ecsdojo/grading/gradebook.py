"""The outputs of `dojo grade`: ``gradebook.csv`` and one Markdown feedback file per submission.

``gradebook.csv`` columns: ``submission,module,points,max_points,status`` then one column per check
(every check of every module, in notebook order; empty when the check is not in that submission's
module). Feedback files show each check's result and the notes (cells that failed, cells restored);
they never show check code, hidden or not, nor expected values.

Example::

    write_reports(results, keys, Path("grades"))   # grades/gradebook.csv, grades/<name>.feedback.md
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ecsdojo.grading.grade import GradingKey, SubmissionResult
from ecsdojo.grading.tally import module_label

BASE_COLUMNS = ("submission", "module", "points", "max_points", "status")
STATUS_TEXT = {
    "ok": "graded normally",
    "checks-restored": "check cells were edited or deleted; the original checks were used",
    "cells-missing": "exercise cells were deleted",
    "sys-exit": "a cell called sys.exit(); the rest of the notebook still ran",
    "output-too-large": "the notebook printed too much; grading stopped there",
    "timeout": "the notebook or a cell ran too long",
    "kernel-died": "the Python kernel died while running the notebook",
    "grader-error": "the grader failed on this submission (tell your instructor)",
    "tampered": "the submission changed, or tried to change, how it is graded; see the notes (review it by hand)",
    "wrong-module": "this is not the notebook of the module being graded",
    "not-gradable-here": "this module cannot be graded correctly with these options (see the notes); not run",
    "environment-error": "a cell failed because of the grading environment, not the answer; points may be too low",
    "invalid-notebook": "the file is not a readable notebook",
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def check_columns(keys: Mapping[str, GradingKey]) -> list[str]:
    return [call.check_id for module in sorted(keys) for call in keys[module].checks]


def write_gradebook(results: Sequence[SubmissionResult], keys: Mapping[str, GradingKey], path: Path) -> Path:
    columns = check_columns(keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow([*BASE_COLUMNS, *columns, "status_detail"])
        for result in results:
            row = [result.submission, result.module, _fmt(result.points), _fmt(result.max_points), result.status]
            row += [_fmt(result.checks[column].points) if column in result.checks else "" for column in columns]
            row.append(" | ".join(result.status_notes()))
            writer.writerow(row)
    return path


def feedback_names(submissions: Sequence[str]) -> list[str]:
    """A distinct, readable file name per submission: its path below their common folder."""
    paths = [Path(os.path.abspath(s)) for s in submissions]
    common = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path()
    names: list[str] = []
    for path in paths:
        try:
            parts = path.relative_to(common).parts
        except ValueError:
            parts = (path.name,)
        stem = "__".join(parts)
        stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else stem
        name, n = f"{stem}.feedback.md", 2
        while name in names:
            name, n = f"{stem}-{n}.feedback.md", n + 1
        names.append(name)
    return names


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def feedback_markdown(result: SubmissionResult, key: GradingKey | None) -> str:
    title = f" — {key.parsed.title}" if key is not None else ""
    module = module_label(result.module) if result.module else "Unknown module"
    lines = [f"# Feedback: {result.submission}", "",
             f"**{module}{title}**: {_fmt(result.points)}/{_fmt(result.max_points)} points.  ",
             f"Status: `{result.status}` ({STATUS_TEXT.get(result.status, result.status)}).", ""]
    if result.checks:
        lines += ["| Check | Result | Points |", "|---|---|---|"]
        hidden_number = 0
        for score in result.checks.values():
            if score.hidden:
                hidden_number += 1
                name = f"hidden check {hidden_number} ({score.check_id})"
                outcome = "passed" if score.passed else "not passed"
            else:
                name = score.check_id
                outcome = "passed" if score.passed else f"not yet: {score.reason}"
            lines.append(f"| {_cell(name)} | {_cell(outcome)} | {_fmt(score.points)}/{_fmt(score.max_points)} |")
        lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {_cell(note)}" for note in result.notes] + [""]
    return "\n".join(lines)


def write_reports(results: Sequence[SubmissionResult], keys: Mapping[str, GradingKey],
                  out_dir: str | os.PathLike) -> tuple[Path, list[Path]]:
    """Write ``gradebook.csv`` and the feedback files; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gradebook = write_gradebook(results, keys, out_dir / "gradebook.csv")
    written = []
    for result, name in zip(results, feedback_names([r.submission for r in results])):
        path = out_dir / name
        path.write_text(feedback_markdown(result, keys.get(result.module)), encoding="utf-8")
        written.append(path)
    return gradebook, written
