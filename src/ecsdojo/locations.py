"""Where the course's folders are, wherever a command is run from.

`dojo progress` run from ``labs/terminal`` or ``$HOME`` must still find the released notebooks (module
titles, full points), and `dojo grade` the solutions. The course is, in order:

1. ``$DOJO_COURSE`` (a folder holding ``notebooks/``, ``solutions/`` or ``quizzes/``);
2. the folder the installed package comes from (``pip install -e .`` of a clone: ``src/ecsdojo`` →
   the clone's root);
3. the working folder or one of its parents that holds ``notebooks/`` or ``solutions/``.

Example::

    course_root()                 # Path('/home/me/ecs-dojo') or None
    course_folder("notebooks")    # Path('/home/me/ecs-dojo/notebooks') or None
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["course_root", "course_folder", "COURSE_FOLDERS"]

COURSE_FOLDERS = ("notebooks", "solutions", "quizzes")


def _is_course(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in COURSE_FOLDERS)


def course_root(*, cwd: str | os.PathLike | None = None) -> Path | None:
    """The course's root folder (see the module docstring), or None when there is none."""
    env = os.environ.get("DOJO_COURSE")
    if env:
        return Path(env)
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "src" / "ecsdojo").is_dir() and _is_course(package_root):
        return package_root
    here = Path(cwd if cwd is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() or (folder / "solutions").is_dir():
            return folder
    return None


def course_folder(name: str, *, cwd: str | os.PathLike | None = None) -> Path | None:
    """``notebooks``, ``solutions`` or ``quizzes`` of the course, or None when it has none."""
    root = course_root(cwd=cwd)
    folder = root / name if root is not None else None
    return folder if folder is not None and folder.is_dir() else None
