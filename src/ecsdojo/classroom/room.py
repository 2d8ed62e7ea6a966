"""Preparing a classroom on one server: accounts, the shared learner environment, the demo image, the course.

Idempotent: run it again with a longer roster and only the new learners are added; nothing in an existing home
is changed. Credentials are kept in ``STATE/credentials.csv`` (mode 0600, root only) so that a restart can print
them again; a learner's password changes only when the roster gives a new one.

Example::

    room = prepare_classroom(numbered_learners(3), state_dir=Path("/var/lib/ecsdojo-classroom"))
    room.learner_python, room.accounts
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecsdojo import images
from ecsdojo.classroom.accounts import Account, ensure_account, require_root
from ecsdojo.classroom.engine import EngineError, ImageArchive, rootless_prerequisites, save_image_archive
from ecsdojo.classroom.handout import publish_course
from ecsdojo.classroom.learner_python import ensure_learner_python
from ecsdojo.classroom.roster import Learner

__all__ = ["Classroom", "prepare_classroom", "read_credentials", "DEFAULT_STATE_DIR", "SOURCE_TREE"]

DEFAULT_STATE_DIR = Path("/var/lib/ecsdojo-classroom")
SOURCE_TREE = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Classroom:
    state_dir: Path
    learner_python: Path
    accounts: tuple[Account, ...]
    archive: ImageArchive
    course_commit: str
    credentials: dict[str, str]


def read_credentials(state_dir: Path) -> dict[str, str]:
    try:
        return {row["username"]: row["password"]
                for row in csv.DictReader(io.StringIO((state_dir / "credentials.csv").read_text()))}
    except OSError:
        return {}


def _write_credentials(state_dir: Path, credentials: dict[str, str]) -> None:
    path = state_dir / "credentials.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["username", "password"])
    writer.writerows(sorted(credentials.items()))
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text(buffer.getvalue())


def _exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def prepare_classroom(learners: list[Learner], *, state_dir: Path = DEFAULT_STATE_DIR, venv: Path | None = None,
                      roster_sets_passwords: bool = True, progress: Callable[[str], None] = print) -> Classroom:
    """Everything the hub needs before it starts (needs root)."""
    require_root("dojo classroom")
    missing = rootless_prerequisites()
    if missing:
        raise EngineError("per-learner Docker engines need: " + "; ".join(missing))
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o755)          # learners read the course repository and the image archive below it
    python = ensure_learner_python(venv or state_dir / "venv", source=SOURCE_TREE, progress=progress)
    progress(f"  learner environment: {python}")
    archive = save_image_archive(state_dir, tags=(images.APP_IMAGE, images.APP_IMAGE_LATEST))
    progress(f"  demo image saved once for every learner engine: {archive.path} ({archive.image_id[:19]})")
    commit = publish_course(SOURCE_TREE / "notebooks", state_dir / "course")
    progress(f"  course published for nbgitpuller: {state_dir / 'course'} @ {commit[:10]}")
    credentials = read_credentials(state_dir)
    accounts = []
    for learner in learners:
        keep_old = not roster_sets_passwords and learner.name in credentials and _exists(learner.name)
        account = ensure_account(learner, set_initial_password=not keep_old)
        if not keep_old:
            credentials[learner.name] = learner.password
        accounts.append(account)
    _write_credentials(state_dir, credentials)
    progress(f"  {len(accounts)} learner account(s) ready (home mode 0700, not in the docker group)")
    return Classroom(state_dir, python, tuple(accounts), archive, commit,
                     {account.name: credentials[account.name] for account in accounts})
