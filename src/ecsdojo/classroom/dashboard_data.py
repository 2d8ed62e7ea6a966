"""What the class dashboard shows, read from the learners' progress stores without ever writing them.

Each store is opened with a read-only SQLite URI (``file:PATH?mode=ro``, https://www.sqlite.org/uri.html) and read
in one transaction, a consistent snapshot. The stores are in WAL mode (``ProgressStore`` sets it): readers and the
writer do not block each other (https://www.sqlite.org/wal.html, "readers do not block writers and a writer does
not block readers"), and a read-only connection never checkpoints or rewrites the database. When the dashboard
(root) has to create a store's ``-shm`` file, SQLite gives it the database file's owner, so the learner's own
writer can still open it (observed in SQLite's unix VFS, ``robustFchown`` for processes running as root; the tests
check the owner).

``class_snapshot`` returns plain JSON-ready dicts:

- ``learners``: per learner, per module: checks passed / attempted, points / max, last activity; quiz scores per
  bank; the state of every check (``pass``, ``fail`` or missing = not tried) for the heat map;
- ``exercises``: per check: how many learners passed it, how many tried and failed, the most common failure
  (the ``detail`` the check recorded) and the check's hint (from the solutions);
- ``interviews``: per open or closed round (:mod:`ecsdojo.classroom.interview`), per learner: answered, score.

Example::

    snapshot = class_snapshot({"learner01": Path("/home/learner01/.ecsdojo/progress.sqlite")}, catalogue)
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CheckInfo", "read_store", "class_snapshot", "load_catalogue", "StoreSnapshot"]


@dataclass(frozen=True)
class CheckInfo:
    module: str
    check_id: str
    points: float
    hint: str


@dataclass(frozen=True)
class StoreSnapshot:
    checks: list[tuple[str, str, float, float, bool, int, float]]   # module, id, best points, max, passed, tries, at
    failures: dict[str, str]                                        # check id → detail of its latest failing try
    answers: list[tuple[str, str, float, float]]                   # bank, question id, latest score, at
    last_activity: float | None
    error: str = ""


def load_catalogue(solutions_dir: Path) -> list[CheckInfo]:
    """The visible checks of every module (what learners' notebooks record), in notebook order."""
    from ecsdojo.grading.grade import load_keys

    return [CheckInfo(module, call.check_id, call.points, call.hint)
            for module, key in sorted(load_keys(solutions_dir).items()) for call in key.checks if not call.hidden]


def read_store(path: Path) -> StoreSnapshot | None:
    """One learner's store, read-only in one transaction; None when the learner has no store yet."""
    if not path.exists():
        return None
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
    except sqlite3.Error as error:
        return StoreSnapshot([], {}, [], None, f"{path}: {error}")
    try:
        db.execute("BEGIN")                    # one snapshot for all the queries below
        checks = db.execute(
            "SELECT module, check_id, MAX(points), MAX(max_points), MAX(passed), COUNT(*), MAX(at)"
            " FROM check_attempts GROUP BY module, check_id").fetchall()
        failures = dict(db.execute(
            "SELECT check_id, detail FROM check_attempts WHERE id IN"
            " (SELECT MAX(id) FROM check_attempts WHERE passed = 0 GROUP BY module, check_id)").fetchall())
        answers = db.execute(
            "SELECT bank, question_id, score, at FROM quiz_answers WHERE id IN"
            " (SELECT MAX(id) FROM quiz_answers GROUP BY bank, question_id)").fetchall()
        last = db.execute("SELECT MAX(at) FROM (SELECT MAX(at) AS at FROM check_attempts UNION ALL"
                          " SELECT MAX(at) FROM quiz_answers)").fetchone()[0]
        db.execute("COMMIT")
    except sqlite3.Error as error:        # a store of another schema, or a damaged file: shown, not fatal
        return StoreSnapshot([], {}, [], None, f"{path}: {error}")
    finally:
        db.close()
    return StoreSnapshot([(m, c, float(p), float(mp), bool(ok), int(n), float(at)) for m, c, p, mp, ok, n, at
                          in checks], failures, [(b, q, float(s), float(at)) for b, q, s, at in answers], last)


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def class_snapshot(stores: Mapping[str, Path], catalogue: Sequence[CheckInfo], *,
                   rounds: Sequence[dict] = ()) -> dict:
    """Everything the dashboard shows, as JSON-ready data (see the module's docstring)."""
    started = time.monotonic()
    known = {info.check_id: info for info in catalogue}
    learners = []
    passed_by: Counter[str] = Counter()
    failed_by: Counter[str] = Counter()
    failure_details: dict[str, Counter[str]] = {}
    snapshots: dict[str, StoreSnapshot | None] = {}
    for name in sorted(stores):
        snapshot = snapshots[name] = read_store(stores[name])
        modules: dict[str, dict] = {}
        states: dict[str, str] = {}
        quiz: dict[str, dict] = {}
        if snapshot is not None:
            for module, check_id, points, max_points, passed, tries, at in snapshot.checks:
                entry = modules.setdefault(module, {"passed": 0, "attempted": 0, "points": 0.0, "max_points": 0.0,
                                                    "last_activity": 0.0})
                entry["attempted"] += 1
                entry["passed"] += int(passed)
                entry["points"] += points
                entry["last_activity"] = max(entry["last_activity"], at)
                states[check_id] = "pass" if passed else "fail"
                if passed:
                    passed_by[check_id] += 1
                else:
                    failed_by[check_id] += 1
                    failure_details.setdefault(check_id, Counter())[snapshot.failures.get(check_id, "")] += 1
            for bank, _question, score, _at in snapshot.answers:
                totals = quiz.setdefault(bank, {"score": 0.0, "answered": 0})
                totals["score"] += score
                totals["answered"] += 1
        for module, entry in modules.items():
            entry["max_points"] = sum(info.points for info in catalogue if info.module == module) or entry["points"]
            entry["last_activity"] = _iso(entry["last_activity"])
        learners.append({"name": name, "started": snapshot is not None, "modules": modules, "checks": states,
                         "quiz": quiz, "last_activity": _iso(snapshot.last_activity if snapshot else None),
                         "error": snapshot.error if snapshot else ""})
    extra = sorted({check for learner in learners for check in learner["checks"]} - set(known))
    exercises = []
    for info in [*catalogue, *(CheckInfo(check.split(".")[0].lstrip("m"), check, 0, "") for check in extra)]:
        details = failure_details.get(info.check_id, Counter())
        common = details.most_common(1)[0] if details else None
        exercises.append({"module": info.module, "check_id": info.check_id, "passed": passed_by[info.check_id],
                          "failed": failed_by[info.check_id], "hint": info.hint,
                          "common_failure": common[0] if common else "",
                          "common_failure_count": common[1] if common else 0})
    return {"learners": learners, "exercises": exercises,
            "interviews": [_round_results(round_, snapshots) for round_ in rounds],
            "generated_at": _iso(time.time()), "read_s": round(time.monotonic() - started, 4)}


def _round_results(round_: dict, snapshots: Mapping[str, StoreSnapshot | None]) -> dict:
    """Per learner: the round's questions answered between its opening and its close (later answers: late)."""
    wanted = {(question["bank"], question["id"]) for question in round_["questions"]}
    results = {}
    for name, snapshot in snapshots.items():
        answered = late = 0
        score = 0.0
        for bank, question, value, at in (snapshot.answers if snapshot else []):
            if (bank, question) not in wanted or at < round_["opened_at"]:
                continue
            if at <= round_["closes_at"]:
                answered += 1
                score += value
            else:
                late += 1
        results[name] = {"answered": answered, "score": round(score, 2), "late": late}
    return {"id": round_["id"], "title": round_.get("title", round_["id"]), "questions": len(wanted),
            "opened_at": _iso(round_["opened_at"]), "closes_at": _iso(round_["closes_at"]),
            "open": time.time() < round_["closes_at"], "results": results}
