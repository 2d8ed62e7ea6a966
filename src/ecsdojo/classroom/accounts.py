"""One Unix account per learner: own home (mode 0700), own runtime folder, own subordinate id range.

Accounts are made with Debian's ``useradd`` (``shadow``), which also gives each new account a range in
``/etc/subuid`` and ``/etc/subgid`` — what a rootless Docker engine maps its containers' users to. Every learner
account is a member of the group ``ecsdojo-learners``; an existing account outside that group is never touched
(a roster cannot take over ``alice`` the administrator). Learners are **not** in the ``docker`` group, so the
root engine's socket (``/var/run/docker.sock``, ``root:docker`` mode 0660) stays closed to them.

Needs root. Example::

    account = ensure_account(Learner("learner01", "s3cret-pass"))
    account.home                      # Path("/home/learner01"), mode 0700
    account.runtime_dir               # Path("/run/user/1001"), where the learner's engine socket lives
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ecsdojo.classroom.roster import Learner

__all__ = ["Account", "AccountError", "LEARNER_GROUP", "ensure_account", "find_account", "learner_names",
           "remove_account", "set_password", "require_root", "ensure_instructor", "remove_instructor",
           "INSTRUCTOR_GROUP"]

LEARNER_GROUP = "ecsdojo-learners"
INSTRUCTOR_GROUP = "ecsdojo-instructors"
SUBORDINATE_IDS = 65536


class AccountError(RuntimeError):
    """A learner account cannot be made or used; the message says which and why."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path

    @property
    def runtime_dir(self) -> Path:
        """XDG_RUNTIME_DIR: the learner's engine socket and pid files live here (mode 0700)."""
        return Path("/run/user") / str(self.uid)

    @property
    def docker_host(self) -> str:
        return f"unix://{self.runtime_dir / 'docker.sock'}"


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise AccountError(f"{action} needs root (it creates Unix accounts and starts engines as them): "
                           "run it with sudo")


def _run(command: list[str], *, input_text: str | None = None) -> None:
    done = subprocess.run(command, input=input_text, capture_output=True, text=True)
    if done.returncode != 0:
        raise AccountError(f"`{' '.join(command[:2])} …` failed: {done.stderr.strip() or done.stdout.strip()}")


def _members(group: str) -> set[str]:
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(entry.gr_mem)


def learner_names() -> list[str]:
    """The accounts in the learner group, sorted."""
    return sorted(_members(LEARNER_GROUP))


def find_account(name: str) -> Account:
    """The learner account ``name``; AccountError when it does not exist or is not a learner's."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError as error:
        raise AccountError(f"no account named {name!r}: run `dojo classroom up` with a roster naming it") from error
    if name not in _members(LEARNER_GROUP):
        raise AccountError(f"the account {name!r} exists but is not in the group {LEARNER_GROUP}: it was not made "
                           "by `dojo classroom`, so it is left alone (rename the learner in the roster)")
    return Account(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))


def _subordinate_ranges(path: Path) -> dict[str, tuple[int, int]]:
    ranges = {}
    try:
        for line in path.read_text().splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                ranges[parts[0]] = (int(parts[1]), int(parts[2]))
    except FileNotFoundError:
        pass
    return ranges


def _ensure_subordinate_ids(name: str) -> None:
    """A subuid and subgid range for ``name`` (useradd usually adds them; older accounts may lack them)."""
    for path, option in ((Path("/etc/subuid"), "--add-subuids"), (Path("/etc/subgid"), "--add-subgids")):
        ranges = _subordinate_ranges(path)
        if name in ranges:
            continue
        start = max((begin + count for begin, count in ranges.values()), default=100000)
        _run(["usermod", option, f"{start}-{start + SUBORDINATE_IDS - 1}", name])


def set_password(name: str, password: str) -> None:
    _run(["chpasswd"], input_text=f"{name}:{password}\n")


def ensure_account(learner: Learner, *, set_initial_password: bool = True) -> Account:
    """The learner's account, made when missing (idempotent). Existing homes are never emptied."""
    require_root("making learner accounts")
    try:
        grp.getgrnam(LEARNER_GROUP)
    except KeyError:
        _run(["groupadd", "--system", LEARNER_GROUP])
    try:
        pwd.getpwnam(learner.name)
        created = False
    except KeyError:
        _run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", LEARNER_GROUP,
              learner.name])
        created = True
    account = find_account(learner.name)
    os.chmod(account.home, 0o700)
    _ensure_subordinate_ids(learner.name)
    if created or set_initial_password:
        set_password(learner.name, learner.password)
    ensure_runtime_dir(account)
    return account


def ensure_runtime_dir(account: Account) -> Path:
    """/run/user/UID owned by the learner, mode 0700 (systemd-logind makes it at login; no login happens here)."""
    directory = account.runtime_dir
    directory.mkdir(parents=True, exist_ok=True)
    os.chown(directory, account.uid, account.gid)
    os.chmod(directory, 0o700)
    return directory


def remove_account(name: str) -> None:
    """Delete a learner account and its home (used by tests and `dojo classroom remove`); others are refused."""
    require_root("removing learner accounts")
    account = find_account(name)
    _run(["userdel", "--remove", name])
    subprocess.run(["rm", "-rf", str(account.runtime_dir)], check=False)


def ensure_instructor(person: Learner) -> bool:
    """An instructor's hub login: an existing Unix account is used as it is (its password unchanged); a new one
    is made in the group ``ecsdojo-instructors`` (not a learner: never collected, graded or spawned an engine).
    Returns True when the account was made now."""
    require_root("making instructor accounts")
    try:
        pwd.getpwnam(person.name)
        return False
    except KeyError:
        pass
    try:
        grp.getgrnam(INSTRUCTOR_GROUP)
    except KeyError:
        _run(["groupadd", "--system", INSTRUCTOR_GROUP])
    _run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", "--groups", INSTRUCTOR_GROUP,
          person.name])
    os.chmod(pwd.getpwnam(person.name).pw_dir, 0o700)
    set_password(person.name, person.password)
    return True


def remove_instructor(name: str) -> None:
    """Delete an instructor account made by :func:`ensure_instructor` (tests); any other account is refused."""
    require_root("removing instructor accounts")
    if name not in _members(INSTRUCTOR_GROUP):
        raise AccountError(f"{name!r} is not in {INSTRUCTOR_GROUP}: not removed")
    _run(["userdel", "--remove", name])
