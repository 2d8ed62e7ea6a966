"""Does the dashboard read learners' progress stores correctly, read-only, without ever costing a writer a row?"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from ecsdojo.classroom.dashboard_data import CheckInfo, class_snapshot, read_store
from ecsdojo.progress_store import ProgressStore

CATALOGUE = [CheckInfo("00", "m00.a", 1, "hint a"), CheckInfo("00", "m00.b", 2, "hint b"),
             CheckInfo("01", "m01.c", 1, "hint c")]


def make_store(path, records):
    store = ProgressStore(path)
    for check_id, passed, detail in records:
        module = check_id[1:3]
        points = next(info.points for info in CATALOGUE if info.check_id == check_id)
        store.record_check(module=module, check_id=check_id, points=points if passed else 0, max_points=points,
                           passed=passed, detail=detail)
    store.close()
    return path


def test_per_learner_and_per_exercise_figures(tmp_path):
    stores = {
        "ann": make_store(tmp_path / "ann.sqlite", [("m00.a", False, "got 1"), ("m00.a", True, ""),
                                                    ("m00.b", True, ""), ("m01.c", False, "got 'x'")]),
        "bob": make_store(tmp_path / "bob.sqlite", [("m00.a", False, "got 3"), ("m00.b", False, "got 7")]),
        "cat": make_store(tmp_path / "cat.sqlite", [("m00.a", False, "got 3")]),
        "dan": tmp_path / "never-started.sqlite",
    }
    ProgressStore(stores["cat"]).record_answer(bank="services", question_id="q1", answer="a", correct=True, score=1)
    snapshot = class_snapshot(stores, CATALOGUE)
    learners = {learner["name"]: learner for learner in snapshot["learners"]}
    assert learners["ann"]["modules"]["00"] == {"passed": 2, "attempted": 2, "points": 3.0, "max_points": 3,
                                                "last_activity": learners["ann"]["modules"]["00"]["last_activity"]}
    assert learners["ann"]["checks"] == {"m00.a": "pass", "m00.b": "pass", "m01.c": "fail"}
    assert learners["bob"]["modules"]["00"]["points"] == 0 and learners["bob"]["modules"]["00"]["passed"] == 0
    assert learners["cat"]["quiz"] == {"services": {"score": 1.0, "answered": 1}}
    assert learners["dan"]["started"] is False and learners["dan"]["modules"] == {}
    exercises = {exercise["check_id"]: exercise for exercise in snapshot["exercises"]}
    assert (exercises["m00.a"]["passed"], exercises["m00.a"]["failed"]) == (1, 2)
    assert (exercises["m00.a"]["common_failure"], exercises["m00.a"]["common_failure_count"]) == ("got 3", 2)
    assert exercises["m00.b"]["hint"] == "hint b" and exercises["m01.c"]["failed"] == 1
    assert not (tmp_path / "never-started.sqlite").exists()        # reading never creates a store


def test_the_reader_cannot_write(tmp_path):
    path = make_store(tmp_path / "ann.sqlite", [("m00.a", True, "")])
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM check_attempts")
    db.close()
    assert read_store(path).checks[0][:2] == ("00", "m00.a")


def test_interview_round_results_count_answers_between_open_and_close(tmp_path):
    store = ProgressStore(tmp_path / "ann.sqlite")
    now = time.time()
    store.record_answer(bank="b", question_id="q1", answer="x", correct=True, score=0.8, at=now - 100)   # before
    store.record_answer(bank="b", question_id="q2", answer="x", correct=True, score=0.6, at=now + 10)
    store.record_answer(bank="b", question_id="q3", answer="x", correct=True, score=1.0, at=now + 1000)  # late
    store.close()
    round_ = {"id": "round-1", "opened_at": now, "closes_at": now + 600,
              "questions": [{"bank": "b", "id": "q1"}, {"bank": "b", "id": "q2"}, {"bank": "b", "id": "q3"}]}
    result = class_snapshot({"ann": tmp_path / "ann.sqlite"}, CATALOGUE, rounds=[round_])["interviews"][0]
    assert result["results"]["ann"] == {"answered": 1, "score": 0.6, "late": 1}
    assert result["questions"] == 3


def _write_many(path: str, count: int, ready) -> None:
    store = ProgressStore(path)
    ready.set()
    for number in range(count):
        store.record_check(module="00", check_id=f"m00.c{number % 50}", points=1, max_points=1,
                           passed=bool(number % 2), detail=f"try {number}")
    store.close()


def test_a_learner_writing_while_the_dashboard_reads_loses_nothing(tmp_path):
    path = tmp_path / "busy.sqlite"
    ProgressStore(path).close()
    count = 1500
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    writer = context.Process(target=_write_many, args=(str(path), count, ready))
    writer.start()
    assert ready.wait(60)
    seen, reads = [], 0
    while writer.is_alive():
        snapshot = read_store(path)
        assert snapshot.error == ""
        seen.append(sum(tries for *_, tries, _at in snapshot.checks))
        reads += 1
    writer.join(60)
    assert writer.exitcode == 0                    # the writer never failed (no "database is locked")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT detail) FROM check_attempts").fetchone() == (count, count)
    db.close()
    assert reads > 5 and seen == sorted(seen)      # every read a consistent, growing snapshot
    assert sum(tries for *_, tries, _at in read_store(path).checks) == count
