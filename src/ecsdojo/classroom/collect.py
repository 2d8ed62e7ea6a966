"""Collecting learners' notebooks: a read-only copy per learner and time, the learner's own files never touched.

``collect`` reads ``~LEARNER/ecs-dojo/NN_*.ipynb`` (one module, or all) and copies each into
``STATE/submissions/LEARNER/YYYYmmddTHHMMSSZ/`` with a ``collected.json`` manifest (source path, size, sha256, the
learner's last modification time, the collection time). The copies are made read-only (files 0444, the time folder
0555; ``submissions/`` itself is 0700: other learners cannot read each other's work). A learner's file is only ever
opened for reading, with ``O_NOFOLLOW``: a symlink or anything but a regular file owned by the learner is refused
(named in the report), so a learner cannot make the instructor collect ``/etc/shadow``. A learner who has no copy of
the notebook (never started a server, or deleted it) is listed as missing, not an error.

Example::

    report = collect(Path("/var/lib/ecsdojo-classroom"), module="00")
    report.collected["learner01"]        # [Path(".../submissions/learner01/20261202T130000Z/00_start_here.ipynb")]
    report.missing                       # {"learner03": ["00"]}
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from ecsdojo.classroom.accounts import Account, AccountError, find_account, learner_names
from ecsdojo.classroom.handout import COURSE_FOLDER

__all__ = ["collect", "CollectReport", "Submission", "latest_submissions", "submissions_dir", "MANIFEST",
           "module_notebooks", "CollectError"]

MANIFEST = "collected.json"
NOTEBOOK = re.compile(r"^(\d\d)_[\w-]+\.ipynb$")
STAMP = "%Y%m%dT%H%M%SZ"


class CollectError(RuntimeError):
    """The collection cannot start (e.g. an unknown module); the message says which."""


@dataclass(frozen=True)
class Submission:
    """One collected notebook."""

    learner: str
    module: str
    path: Path                  # the read-only copy
    collected_at: str           # ISO 8601, UTC
    source: str                 # the learner's file it was copied from
    sha256: str


@dataclass
class CollectReport:
    folder: Path                                                    # STATE/submissions
    collected: dict[str, list[Path]] = field(default_factory=dict)   # learner → copies made now
    missing: dict[str, list[str]] = field(default_factory=dict)      # learner → modules without a notebook
    refused: dict[str, list[str]] = field(default_factory=dict)      # learner → why a file was not copied


def submissions_dir(state_dir: Path) -> Path:
    return state_dir / "submissions"


def module_notebooks(course: Path, module: str | None) -> dict[str, str]:
    """module → notebook file name in the released course (the names learners have)."""
    names = {}
    for path in sorted(course.glob("*.ipynb")):
        match = NOTEBOOK.match(path.name)
        if match and (module is None or match.group(1) == module):
            names[match.group(1)] = path.name
    if not names:
        raise CollectError(f"{course}: no released notebook for module {module!r}" if module
                           else f"{course}: no released notebooks (run `dojo classroom up` or `push` first)")
    return names


def _read_learner_file(account: Account, path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of the learner's file, opened read-only without following symlinks; ValueError when refused."""
    folder = account.home / COURSE_FOLDER
    if not folder.exists() and not folder.is_symlink():
        raise FileNotFoundError(folder)              # never started a server: missing, not refused
    if folder.is_symlink() or not folder.is_dir():
        raise ValueError(f"{folder} is not a folder (a symlink or a file); nothing collected from it")
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if info.st_uid != account.uid:
            raise ValueError(f"{path} is owned by uid {info.st_uid}, not by {account.name}")
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), info
    finally:
        os.close(descriptor)


def _new_time_folder(learner_dir: Path, now: float) -> tuple[Path, str]:
    stamp = time.strftime(STAMP, time.gmtime(now))
    folder, number = learner_dir / stamp, 2
    while folder.exists():                     # two collections in the same second never share a folder
        folder, number = learner_dir / f"{stamp}-{number}", number + 1
    return folder, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def collect(state_dir: Path, *, module: str | None = None, learners: list[str] | None = None,
            now: float | None = None) -> CollectReport:
    """Copy each learner's notebooks (of ``module``, or all) into STATE/submissions/LEARNER/TIME/ (needs root)."""
    wanted = module_notebooks(state_dir / "course", module)
    root = submissions_dir(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    report = CollectReport(root)
    now = time.time() if now is None else now
    for name in learners if learners is not None else learner_names():
        try:
            account = find_account(name)
        except AccountError as error:
            report.refused.setdefault(name, []).append(str(error))
            continue
        copies: dict[str, tuple[bytes, os.stat_result, Path]] = {}
        for number, filename in wanted.items():
            source = account.home / COURSE_FOLDER / filename
            try:
                data, info = _read_learner_file(account, source)
            except FileNotFoundError:
                report.missing.setdefault(name, []).append(number)
                continue
            except (OSError, ValueError) as error:
                report.refused.setdefault(name, []).append(f"{source}: {error}")
                continue
            copies[number] = (data, info, source)
        if not copies:
            continue
        learner_dir = root / name
        learner_dir.mkdir(exist_ok=True)
        folder, collected_at = _new_time_folder(learner_dir, now)
        folder.mkdir()
        manifest = {"learner": name, "collected_at": collected_at, "notebooks": {}}
        for number, (data, info, source) in sorted(copies.items()):
            target = folder / source.name
            target.write_bytes(data)
            os.chmod(target, 0o444)
            manifest["notebooks"][number] = {
                "file": source.name, "source": str(source), "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "modified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.st_mtime))}
            report.collected.setdefault(name, []).append(target)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
        os.chmod(folder / MANIFEST, 0o444)
        os.chmod(folder, 0o555)
    return report


def latest_submissions(state_dir: Path, *, module: str | None = None) -> list[Submission]:
    """The newest collected copy of each learner's notebook per module, sorted by learner then module."""
    found: dict[tuple[str, str], Submission] = {}
    root = submissions_dir(state_dir)
    for manifest_path in sorted(root.glob(f"*/*/{MANIFEST}")):      # time folders sort chronologically
        try:
            manifest = json.loads(manifest_path.read_text())
            notebooks = manifest["notebooks"]
        except (OSError, ValueError, KeyError) as error:
            raise CollectError(f"{manifest_path}: unreadable collection manifest ({error})") from error
        for number, entry in notebooks.items():
            if module is not None and number != module:
                continue
            found[(manifest["learner"], number)] = Submission(
                manifest["learner"], number, manifest_path.parent / entry["file"], manifest["collected_at"],
                entry["source"], entry["sha256"])
    return [found[key] for key in sorted(found)]
