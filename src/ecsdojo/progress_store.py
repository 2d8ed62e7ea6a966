"""The learner's progress store: one SQLite file per learner, the only place learner results are written.

Checks (graded exercises), quiz answers and spaced-repetition cards all live here. Every write is a
transaction; nothing is ever deleted except by `reset()`, which a learner asks for explicitly.

Where: ``$DOJO_HOME/progress.sqlite`` (default ``~/.ecsdojo/progress.sqlite``).

Example::

    store = ProgressStore()
    store.record_check(module="04", check_id="m04.heal-count", points=2, max_points=2, passed=True)
    store.module_totals()   # [ModuleTotal(module="04", points=2, max_points=2, checks=1, passed=1)]
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per attempt at a check; the best attempt counts.
CREATE TABLE IF NOT EXISTS check_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    module TEXT NOT NULL,
    check_id TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    passed INTEGER NOT NULL,
    hints_used INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS check_attempts_by_check ON check_attempts (module, check_id);
-- One row per answer to a quiz question; the latest is shown again when the quiz is re-rendered.
CREATE TABLE IF NOT EXISTS quiz_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answer TEXT NOT NULL,          -- JSON
    correct INTEGER NOT NULL,
    score REAL NOT NULL,           -- 0..1
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS quiz_answers_by_question ON quiz_answers (bank, question_id);
-- Spaced repetition: one card per question id.
CREATE TABLE IF NOT EXISTS review_cards (
    question_id TEXT PRIMARY KEY,
    bank TEXT NOT NULL,
    box INTEGER NOT NULL DEFAULT 1,        -- Leitner box
    ease REAL NOT NULL DEFAULT 2.5,        -- SM-2 ease factor
    interval_days REAL NOT NULL DEFAULT 0,
    repetitions INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL,
    last_rating INTEGER,
    updated_at REAL NOT NULL
);
"""


def default_home() -> Path:
    return Path(os.environ.get("DOJO_HOME") or Path.home() / ".ecsdojo")


def default_path() -> Path:
    return default_home() / "progress.sqlite"


@dataclass(frozen=True)
class CheckResult:
    module: str
    check_id: str
    points: float
    max_points: float
    passed: bool
    hints_used: int
    attempts: int


@dataclass(frozen=True)
class ModuleTotal:
    module: str
    points: float
    max_points: float
    checks: int
    passed: int


@dataclass(frozen=True)
class QuizAnswer:
    bank: str
    question_id: str
    answer: Any
    correct: bool
    score: float
    at: float


@dataclass(frozen=True)
class ReviewCard:
    question_id: str
    bank: str
    box: int
    ease: float
    interval_days: float
    repetitions: int
    due_at: float
    last_rating: int | None


class ProgressStoreError(Exception):
    """The progress file cannot be opened or is not a progress store."""


class ProgressStore:
    """One learner's results. Thread-safe; every write is a transaction."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as error:
            raise ProgressStoreError(f"{self.path}: not a usable progress store ({error}); "
                                     f"move it aside and a new one will be created") from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- checks -------------------------------------------------------------------------------
    def record_check(self, *, module: str, check_id: str, points: float, max_points: float, passed: bool,
                     hints_used: int = 0, detail: str = "") -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO check_attempts (module, check_id, points, max_points, passed, hints_used,"
                       " detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (module, check_id, float(points), float(max_points), int(bool(passed)), int(hints_used),
                        detail, time.time()))

    def check_results(self, module: str | None = None) -> list[CheckResult]:
        """The best attempt of every check (optionally of one module), with the attempt count."""
        sql = ("SELECT module, check_id, MAX(points), MAX(max_points), MAX(passed), MAX(hints_used), COUNT(*)"
               " FROM check_attempts {where} GROUP BY module, check_id ORDER BY module, check_id")
        rows = (self._query(sql.format(where="WHERE module = ?"), (module,)) if module is not None
                else self._query(sql.format(where="")))
        return [CheckResult(m, c, p, mp, bool(ok), h, n) for m, c, p, mp, ok, h, n in rows]

    def module_totals(self) -> list[ModuleTotal]:
        totals: dict[str, list[float]] = {}
        for result in self.check_results():
            entry = totals.setdefault(result.module, [0.0, 0.0, 0, 0])
            entry[0] += result.points
            entry[1] += result.max_points
            entry[2] += 1
            entry[3] += int(result.passed)
        return [ModuleTotal(m, p, mp, int(c), int(ok)) for m, (p, mp, c, ok) in sorted(totals.items())]

    # ---- quizzes ------------------------------------------------------------------------------
    def record_answer(self, *, bank: str, question_id: str, answer: Any, correct: bool, score: float,
                      at: float | None = None) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO quiz_answers (bank, question_id, answer, correct, score, at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (bank, question_id, json.dumps(answer), int(bool(correct)), float(score),
                        time.time() if at is None else float(at)))

    def missed_since(self, since: float) -> list[tuple[str, str]]:
        """(bank, question id) of the questions whose latest answer is wrong and was given at or after
        `since`, oldest miss first."""
        rows = self._query("SELECT bank, question_id FROM quiz_answers WHERE id IN"
                           " (SELECT MAX(id) FROM quiz_answers GROUP BY bank, question_id)"
                           " AND correct = 0 AND at >= ? ORDER BY at, id", (float(since),))
        return [(bank, question_id) for bank, question_id in rows]

    def latest_answer(self, bank: str, question_id: str) -> QuizAnswer | None:
        rows = self._query("SELECT bank, question_id, answer, correct, score, at FROM quiz_answers"
                           " WHERE bank = ? AND question_id = ? ORDER BY id DESC LIMIT 1", (bank, question_id))
        if not rows:
            return None
        b, q, answer, correct, score, at = rows[0]
        return QuizAnswer(b, q, json.loads(answer), bool(correct), score, at)

    def quiz_totals(self) -> dict[str, tuple[float, int]]:
        """Per bank: (sum of the latest scores, questions answered)."""
        rows = self._query("SELECT bank, SUM(score), COUNT(*) FROM quiz_answers WHERE id IN"
                           " (SELECT MAX(id) FROM quiz_answers GROUP BY bank, question_id) GROUP BY bank"
                           " ORDER BY bank")
        return {bank: (float(total), int(count)) for bank, total, count in rows}

    # ---- spaced repetition --------------------------------------------------------------------
    def card(self, question_id: str) -> ReviewCard | None:
        rows = self._query("SELECT question_id, bank, box, ease, interval_days, repetitions, due_at, last_rating"
                           " FROM review_cards WHERE question_id = ?", (question_id,))
        return ReviewCard(*rows[0]) if rows else None

    def save_card(self, card: ReviewCard) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO review_cards (question_id, bank, box, ease, interval_days, repetitions, due_at,"
                       " last_rating, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT(question_id) DO UPDATE SET bank=excluded.bank, box=excluded.box,"
                       " ease=excluded.ease, interval_days=excluded.interval_days,"
                       " repetitions=excluded.repetitions, due_at=excluded.due_at,"
                       " last_rating=excluded.last_rating, updated_at=excluded.updated_at",
                       (card.question_id, card.bank, card.box, card.ease, card.interval_days, card.repetitions,
                        card.due_at, card.last_rating, time.time()))

    def due_cards(self, now: float | None = None) -> list[ReviewCard]:
        now = time.time() if now is None else now
        rows = self._query("SELECT question_id, bank, box, ease, interval_days, repetitions, due_at, last_rating"
                           " FROM review_cards WHERE due_at <= ? ORDER BY due_at", (now,))
        return [ReviewCard(*row) for row in rows]

    # ---- reset --------------------------------------------------------------------------------
    def reset(self, *, module: str | None = None) -> None:
        """Forget results (of one module's checks, or everything). Only on the learner's explicit request."""
        with self._transaction() as db:
            if module is not None:
                db.execute("DELETE FROM check_attempts WHERE module = ?", (module,))
            else:
                for table in ("check_attempts", "quiz_answers", "review_cards"):
                    db.execute(f"DELETE FROM {table}")
