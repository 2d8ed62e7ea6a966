"""The Python every learner process runs: one shared virtual environment that all learner accounts can execute.

The project's own ``.venv`` is often made from an interpreter under ``/root`` (pyenv) that other accounts cannot
run, so the classroom makes its own environment from a world-readable interpreter (default ``/usr/bin/python3``)
with ECS Dojo installed editable from this source tree plus the ``classroom`` extra. It is made once per machine
(about a minute with a warm pip cache) and reused while the project's ``pyproject.toml`` is unchanged.

Example::

    python = ensure_learner_python(Path("/var/lib/ecsdojo-classroom/venv"), source=Path("/srv/ecs-dojo"))
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

__all__ = ["ensure_learner_python", "LearnerPythonError", "DEFAULT_INTERPRETER"]

DEFAULT_INTERPRETER = Path("/usr/bin/python3")
STAMP = "ecsdojo-classroom.stamp"


class LearnerPythonError(RuntimeError):
    """The shared learner environment could not be made; the message says why."""


def _world_readable(path: Path) -> Path | None:
    """The first folder on the way to ``path`` that other accounts cannot enter, or None."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        mode = folder.stat().st_mode
        if folder.is_dir() and not mode & 0o001:
            return folder
    return None


def ensure_learner_python(venv: Path, *, source: Path, interpreter: Path = DEFAULT_INTERPRETER,
                          progress=print) -> Path:
    """The shared environment's python (made or refreshed when needed)."""
    blocked = _world_readable(source)
    if blocked is not None:
        raise LearnerPythonError(f"learners cannot read the course source at {source}: {blocked} is closed to other "
                                 f"accounts (chmod o+rx {blocked}, or install the course under /opt or /srv)")
    if not interpreter.exists():
        raise LearnerPythonError(f"{interpreter} is missing (Debian: apt-get install python3 python3-venv), "
                                 "or pass --python with an interpreter every account may run")
    wanted = hashlib.sha256((source / "pyproject.toml").read_bytes() + str(source.resolve()).encode()
                            + str(interpreter).encode()).hexdigest()[:16]
    python = venv / "bin" / "python"
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    progress(f"  making the shared learner environment {venv} from {interpreter} (about a minute, once)")
    if not python.exists():
        done = subprocess.run([str(interpreter), "-m", "venv", str(venv)], capture_output=True, text=True)
        if done.returncode != 0:
            raise LearnerPythonError(f"{interpreter} -m venv {venv} failed: {done.stderr.strip()}")
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{source}[classroom]"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise LearnerPythonError(f"installing ECS Dojo into {venv} failed:\n{done.stderr.strip()[-2000:]}")
    stamp.write_text(wanted + "\n")
    for folder, _, files in os.walk(venv):          # pip honours umask; make sure every learner can read it
        os.chmod(folder, os.stat(folder).st_mode | 0o555)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return python
