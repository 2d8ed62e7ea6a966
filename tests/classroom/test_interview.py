"""Does an interview round give every learner the same questions and a time limit, and only count answers in it?"""

from __future__ import annotations

import json
import subprocess
import sys

from ecsdojo.classroom.dashboard_data import class_snapshot
from ecsdojo.classroom.interview import close_round, current_round, interview_round, open_round, read_rounds
from ecsdojo.progress_store import ProgressStore
from tests.conftest import ROOT


def test_a_round_is_written_once_for_everyone_and_readable_by_learners(tmp_path):
    record = open_round(tmp_path, minutes=10, questions=2, topics=["ecs-vs-kubernetes"], seed=3, now=1000.0)
    assert record["closes_at"] == 1600.0 and len(record["questions"]) == 2
    assert all(q["bank"] == "ecs-vs-kubernetes" for q in record["questions"])
    assert current_round(tmp_path) == record == read_rounds(tmp_path)[0]
    assert (tmp_path / "interviews" / f"{record['id']}.json").stat().st_mode & 0o777 == 0o644
    closed = close_round(tmp_path, now=1200.0)
    assert closed["closes_at"] == 1200.0 and current_round(tmp_path)["closes_at"] == 1200.0


def test_the_learner_side_asks_exactly_the_rounds_questions_and_records_them(tmp_path):
    record = open_round(tmp_path / "state", minutes=6, questions=2, topics=["ecs-vs-kubernetes"], seed=5)
    store = ProgressStore(tmp_path / "progress.sqlite")
    quiz = interview_round(state_dir=tmp_path / "state", store=store)
    assert [(v.question.bank, v.question.id) for v in quiz.views] == [(q["bank"], q["id"]) for q in
                                                                       record["questions"]]
    view = quiz.views[0]
    store.record_answer(bank=view.question.bank, question_id=view.question.id, answer="my answer", correct=True,
                        score=0.8)
    snapshot = class_snapshot({"ann": tmp_path / "progress.sqlite"}, [], rounds=read_rounds(tmp_path / "state"))
    assert snapshot["interviews"][0]["results"]["ann"] == {"answered": 1, "score": 0.8, "late": 0}


def test_the_cli_opens_and_lists_rounds(tmp_path):
    def dojo(*words):
        return subprocess.run([sys.executable, "-m", "ecsdojo", "classroom", "interview", *words, "--state-dir",
                               str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)

    opened = dojo("open", "--minutes", "5", "--questions", "1", "--seed", "1")
    assert opened.returncode == 0, opened.stderr
    round_id = json.loads((tmp_path / "interviews" / "current.json").read_text())["id"]
    assert round_id in opened.stdout and round_id in dojo("list").stdout
    refused = dojo("open", "--minutes", "0")
    assert refused.returncode == 1 and "--minutes" in refused.stderr
