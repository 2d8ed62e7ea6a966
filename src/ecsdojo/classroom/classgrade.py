"""Grading a class: the parallel grader over collected submissions → one gradebook, feedback in each learner's home.

``grade_class`` grades the newest collected copy of each learner's notebook (``dojo classroom collect`` made them)
with :func:`ecsdojo.grading.grade.grade` — the same headless, parallel grader as ``dojo grade`` — and writes:

- ``STATE/grades/gradebook.csv``, one row per learner × module, for a learning-management system's import
  (columns in :data:`GRADEBOOK_COLUMNS`, documented in labs/INSTRUCTOR.md). A learner with no collected notebook
  gets a row with status ``missing`` and 0 points, so the import covers the whole class;
- ``STATE/grades/feedback/LEARNER/NN_title.feedback.md`` (the instructor's copy) and the same file in the learner's
  home, ``~/feedback/``, written **as the learner** (a process with their uid and gid and no other groups: it is
  theirs, and it can only go where they can write). A file there that is not exactly what we wrote last time (the
  learner edited or made it; ledger: ``STATE/grades/feedback-ledger.json``) is never replaced: the new feedback goes
  beside it as ``NN_title.feedback-2.md`` (and so on).

Re-grading (after fixing a check in solutions/) is the same command: it reads the same read-only submissions and
rewrites only the gradebook and our feedback files.

Example::

    outcome = grade_class(Path("/var/lib/ecsdojo-classroom"), module="00", workers=2)
    outcome.gradebook          # Path(".../grades/gradebook.csv")
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ecsdojo.classroom.accounts import AccountError, find_account, learner_names
from ecsdojo.classroom.collect import Submission, latest_submissions
from ecsdojo.grading.gradebook import feedback_markdown

__all__ = ["grade_class", "ClassGrades", "GRADEBOOK_COLUMNS", "grades_dir", "read_gradebook", "deliver_feedback"]

GRADEBOOK_COLUMNS = ("username", "module", "points", "max_points", "percent", "status", "collected_at",
                     "graded_at", "submission", "status_detail")
FEEDBACK_FOLDER = "feedback"


@dataclass
class ClassGrades:
    gradebook: Path
    rows: list[dict[str, str]]
    delivered: dict[str, list[Path]] = field(default_factory=dict)     # learner → files in their home
    not_delivered: dict[str, str] = field(default_factory=dict)        # learner → why


def grades_dir(state_dir: Path) -> Path:
    return state_dir / "grades"


def _fmt(value: float) -> str:
    return f"{value:g}"


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def read_gradebook(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.chmod(partial, mode)
    os.replace(partial, path)


def _ledger_path(state_dir: Path) -> Path:
    return grades_dir(state_dir) / "feedback-ledger.json"


def _existing_digest(path: Path) -> str | None:
    """sha256 of a regular file at ``path`` (not following a symlink); '' for anything else; None when absent."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return ""                         # a symlink, a folder, a fifo: the learner's, never written over
    try:
        if not os.path.isfile(f"/proc/self/fd/{descriptor}"):
            return ""
        digest = hashlib.sha256()
        while chunk := os.read(descriptor, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(descriptor)


def deliver_feedback(name: str, filename: str, text: str, ledger: dict[str, dict[str, str]]) -> Path:
    """Write ``~name/feedback/filename`` as the learner, never over a file they wrote; returns the path used."""
    account = find_account(name)
    folder = account.home / FEEDBACK_FOLDER
    ours = ledger.setdefault(name, {})
    stem, suffix = filename[: -len(".md")], ".md"
    target, number = folder / filename, 2
    while True:
        digest = _existing_digest(target)
        if digest is None or digest == ours.get(target.name):
            break                         # free, or exactly what we wrote last time
        target, number = folder / f"{stem}-{number}{suffix}", number + 1
    data = text.encode()
    done = subprocess.run(
        ["/bin/sh", "-c", 'umask 077 && mkdir -p -- "$1" && cat > "$2.partial" && mv -f -- "$2.partial" "$2"',
         "deliver-feedback", str(folder), str(target)],
        input=data, capture_output=True, user=account.uid, group=account.gid, extra_groups=[], cwd=account.home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(account.home)}, timeout=30)
    if done.returncode != 0:
        raise OSError(f"writing {target} as {name} failed: {done.stderr.decode(errors='replace').strip()}")
    ours[target.name] = hashlib.sha256(data).hexdigest()
    return target


def grade_class(state_dir: Path, *, module: str | None = None, solutions_dir: Path, workers: int | None = None,
                sandbox: str = "none", cell_timeout: float = 120, notebook_timeout: float = 600,
                deliver: bool = True, learners: list[str] | None = None, on_result: Callable[[str], None] | None = None) -> ClassGrades:
    """Grade the newest collection of every learner; write the gradebook and feedback (needs root to deliver)."""
    from ecsdojo.grading.grade import GradeOptions, grade, load_keys

    keys = load_keys(solutions_dir)
    names = learners if learners is not None else learner_names()
    submissions = [s for s in latest_submissions(state_dir, module=module) if s.learner in names]
    by_path: dict[str, Submission] = {str(s.path): s for s in submissions}
    options = GradeOptions(solutions_dir=solutions_dir, cell_timeout=cell_timeout,
                           notebook_timeout=notebook_timeout, sandbox=sandbox)

    def report(result) -> None:
        if on_result is not None:
            submission = by_path[result.submission]
            on_result(f"{submission.learner:16} {submission.module}  {result.status:<17} "
                      f"{result.points:g}/{result.max_points:g}  ({result.seconds:.1f} s)")

    # each result is graded against its own module (the collected file's name says which; a notebook claiming
    # another module is flagged wrong-module by the grader, as in `dojo grade --module`)
    results = []
    for number in sorted({s.module for s in submissions}):
        group = [s for s in submissions if s.module == number]
        module_options = GradeOptions(**{**options.__dict__, "module": number})
        results += grade([str(s.path) for s in group], options=module_options, workers=workers, keys=keys,
                         on_result=report)
    graded_at = _iso(time.time())
    out = grades_dir(state_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    rows: list[dict[str, str]] = []
    feedback: list[tuple[str, str, str]] = []           # learner, file name, text
    for result in results:
        submission = by_path[result.submission]
        percent = 100 * result.points / result.max_points if result.max_points else 0.0
        rows.append({"username": submission.learner, "module": submission.module, "points": _fmt(result.points),
                     "max_points": _fmt(result.max_points), "percent": f"{percent:.1f}", "status": result.status,
                     "collected_at": submission.collected_at, "graded_at": graded_at,
                     "submission": str(submission.path), "status_detail": " | ".join(result.status_notes())})
        text = feedback_markdown(result, keys.get(result.module))
        feedback.append((submission.learner, submission.path.name[: -len(".ipynb")] + ".feedback.md", text))
    modules = [module] if module is not None else sorted({s.module for s in submissions})
    have = {(s.learner, s.module) for s in submissions}
    for name in names:
        for number in modules:
            if (name, number) not in have:
                total = keys[number].parsed.total if number in keys else 0
                rows.append({"username": name, "module": number, "points": "0", "max_points": _fmt(total),
                             "percent": "0.0", "status": "missing", "collected_at": "", "graded_at": graded_at,
                             "submission": "", "status_detail": "no notebook collected for this learner"})
    rows.sort(key=lambda row: (row["username"], row["module"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=GRADEBOOK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    gradebook = out / "gradebook.csv"
    _write_atomically(gradebook, buffer.getvalue())
    outcome = ClassGrades(gradebook, rows)
    ledger_path = _ledger_path(state_dir)
    try:
        ledger = json.loads(ledger_path.read_text())
    except (OSError, ValueError):
        ledger = {}
    for name, filename, text in feedback:
        copy = out / "feedback" / name / filename
        copy.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(copy, text)
        if not deliver:
            continue
        try:
            outcome.delivered.setdefault(name, []).append(deliver_feedback(name, filename, text, ledger))
        except (AccountError, OSError, subprocess.SubprocessError) as error:
            outcome.not_delivered[name] = str(error)
    _write_atomically(ledger_path, json.dumps(ledger, indent=1))
    return outcome
