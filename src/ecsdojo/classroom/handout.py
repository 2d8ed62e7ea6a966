"""Handing out and updating the course with nbgitpuller, never overwriting a learner's edits.

The instructor's side keeps a local git repository of the released notebooks (``notebooks/``, made by
``dojo release``); :func:`publish_course` commits the current release into it. Each learner's side is a clone in
``~/ecs-dojo`` made and updated by **nbgitpuller** (https://nbgitpuller.readthedocs.io), run as the learner: the
first pull clones; later pulls merge the instructor's new commits while a learner's own edits win, and a file the
learner deleted comes back (nbgitpuller's documented merge behaviour). No network: the repository is a local path.

Example::

    commit = publish_course(Path("notebooks"), Path("/var/lib/ecsdojo-classroom/course"))
    pull_course(account, repository=Path("/var/lib/ecsdojo-classroom/course"), python=Path(".../venv/bin/python"))
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ecsdojo.classroom.accounts import Account

__all__ = ["publish_course", "pull_course", "trust_repository", "HandoutError", "COURSE_FOLDER", "BRANCH"]

COURSE_FOLDER = "ecs-dojo"
BRANCH = "main"
_GIT_IDENTITY = ["-c", "user.name=ECS Dojo instructor", "-c", "user.email=instructor@ecsdojo.invalid"]


class HandoutError(RuntimeError):
    """The course could not be published or pulled; the message says where and why."""


def _git(repository: Path, *words: str) -> str:
    done = subprocess.run(["git", "-C", str(repository), *_GIT_IDENTITY, *words], capture_output=True, text=True)
    if done.returncode != 0:
        raise HandoutError(f"git {' '.join(words[:2])} in {repository} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def publish_course(source: Path, repository: Path) -> str:
    """Commit the released notebooks in ``source`` into ``repository`` (made when missing); returns the commit."""
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise HandoutError(f"{source} holds no notebooks: run `dojo release` first")
    if not (repository / ".git").exists():
        repository.mkdir(parents=True, exist_ok=True)
        _git(repository, "init", "--quiet", f"--initial-branch={BRANCH}")
    wanted = {path.name for path in notebooks}
    for existing in repository.glob("*.ipynb"):
        if existing.name not in wanted:
            existing.unlink()
    for notebook in notebooks:
        shutil.copyfile(notebook, repository / notebook.name)
    _git(repository, "add", "--all")
    if _git(repository, "status", "--porcelain"):
        _git(repository, "commit", "--quiet", "-m", f"Course release from {source}")
    for folder, directories, files in os.walk(repository):       # every learner reads it
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    trust_repository(repository)
    return _git(repository, "rev-parse", "HEAD")


def trust_repository(repository: Path) -> None:
    """Let learners read the root-owned repository: git refuses another owner's repository ("dubious ownership")
    unless ``safe.directory`` names it in the system or global configuration (command-line and environment
    settings do not count, see git-config(1)). Adds exactly this repository (and its .git) to the system
    configuration, once."""
    listed = subprocess.run(["git", "config", "--system", "--get-all", "safe.directory"], capture_output=True,
                            text=True).stdout.split()
    for path in (str((repository / ".git").resolve()), str(repository.resolve())):
        if path in listed:
            continue
        done = subprocess.run(["git", "config", "--system", "--add", "safe.directory", path], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise HandoutError(f"cannot mark {path} as safe in git's system configuration: {done.stderr.strip()}")


def pull_course(account: Account, *, repository: Path, python: Path, timeout: float = 120) -> str:
    """nbgitpuller, as the learner: clone into ~/ecs-dojo the first time, merge updates later. Returns its log."""
    environment = {"HOME": str(account.home), "USER": account.name, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(python), "-m", "nbgitpuller.pull", str(repository), BRANCH, COURSE_FOLDER],
                          user=account.uid, group=account.gid, extra_groups=[], env=environment, cwd=account.home,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise HandoutError(f"nbgitpuller for {account.name} failed: {(done.stderr or done.stdout).strip()[-1500:]}")
    return done.stdout
