"""Who is in the class: a roster CSV, or N numbered learners, each with a first-login password.

A roster is a CSV file with a header row and a ``username`` column; an optional ``password`` column sets that
learner's password (a blank cell, or no column, gets a generated one). Usernames become Unix accounts, so they
follow Debian's safe pattern (lower-case letter first, then lower-case letters, digits, ``-`` or ``_``; at most
32 characters). Bad input names the file, the row and the field.

Example::

    learners = numbered_learners(3)                  # learner01, learner02, learner03 with fresh passwords
    learners = read_roster(Path("roster.csv"))       # username[,password]
"""

from __future__ import annotations

import csv
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Learner", "RosterError", "read_roster", "numbered_learners", "USERNAME_PATTERN"]

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Names a roster may not take: system accounts that exist on every Debian machine.
RESERVED_NAMES = frozenset({"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
                            "proxy", "www-data", "backup", "list", "irc", "nobody", "systemd-network", "docker",
                            "admin", "sshd", "messagebus"})


class RosterError(ValueError):
    """A roster that cannot be used; the message names the file, the row and the field."""


@dataclass(frozen=True)
class Learner:
    name: str
    password: str

    def __repr__(self) -> str:          # never print a password by accident
        return f"Learner(name={self.name!r})"


def _new_password() -> str:
    return secrets.token_urlsafe(9)


def _check_name(name: str, where: str) -> None:
    if not USERNAME_PATTERN.match(name):
        raise RosterError(f"{where}, field 'username': {name!r} is not a valid account name (lower-case letter "
                          f"first, then lower-case letters, digits, '-' or '_'; at most 32 characters)")
    if name in RESERVED_NAMES:
        raise RosterError(f"{where}, field 'username': {name!r} is a system account name; choose another")


def read_roster(path: Path) -> list[Learner]:
    """Learners from a CSV roster (header ``username[,password]``)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise RosterError(f"{path}: cannot read the roster ({error.strerror or error})") from error
    reader = csv.DictReader(text.splitlines())
    fields = [name.strip().lower() for name in (reader.fieldnames or [])]
    if "username" not in fields:
        raise RosterError(f"{path}, row 1 (header): no 'username' column (found: {', '.join(fields) or 'nothing'}); "
                          "the first line must name the columns, e.g. username,password")
    learners: list[Learner] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(row.values()):
            continue
        where = f"{path}, row {number}"
        name = row.get("username", "")
        _check_name(name, where)
        if name in seen:
            raise RosterError(f"{where}, field 'username': {name!r} already appears in row {seen[name]}")
        seen[name] = number
        password = row.get("password", "")
        if password and len(password) < 8:
            raise RosterError(f"{where}, field 'password': too short for {name!r} (at least 8 characters, "
                              "or leave it blank to get a generated one)")
        learners.append(Learner(name, password or _new_password()))
    if not learners:
        raise RosterError(f"{path}: the roster lists no learners")
    return learners


def numbered_learners(count: int, *, prefix: str = "learner") -> list[Learner]:
    """``count`` learners named PREFIX01, PREFIX02, ... with generated passwords."""
    if count < 1:
        raise RosterError(f"--learners must be at least 1 (got {count})")
    width = max(2, len(str(count)))
    learners = [Learner(f"{prefix}{index:0{width}d}", _new_password()) for index in range(1, count + 1)]
    for learner in learners:
        _check_name(learner.name, f"--prefix {prefix!r}")
    return learners
