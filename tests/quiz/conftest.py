"""Factories for the quiz tests: raw questions, bank files, loaded questions, a fresh progress store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ecsdojo.progress_store import ProgressStore
from ecsdojo.quiz.bank import Question, load_bank

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD_BANKS = FIXTURES / "good"
BAD_BANKS = FIXTURES / "bad"

_TYPE_FIELDS = {
    "single": {"options": [{"text": "right", "correct": True, "feedback": "Well done."},
                           {"text": "wrong", "correct": False, "feedback": "That one is wrong."},
                           {"text": "also wrong", "correct": False}]},
    "multiple": {"options": [{"text": "a", "correct": True}, {"text": "b", "correct": True},
                             {"text": "c", "correct": False, "feedback": "c is a trap."},
                             {"text": "d", "correct": False}]},
    "true_false": {"answer": True, "feedback_true": "Yes.", "feedback_false": "No, it is true."},
    "ordering": {"items": ["first", "second", "third"]},
    "matching": {"pairs": [{"left": "task", "right": "pod"}, {"left": "service", "right": "deployment"},
                           {"left": "cluster", "right": "cluster"}]},
    "numeric": {"answer": 30, "tolerance": 2, "unit": "seconds"},
    "short": {"keywords": [["task role", "taskRoleArn"], ["execution role"], ["secrets"]], "min_keywords": 2,
              "model_answer": "The task role and the execution role."},
    "interview": {"model_answer": "A model answer.", "rubric": ["point one", "point two"], "minutes": 2},
}


def raw_question(qtype: str, **overrides) -> dict:
    """A valid raw question of a type, as a bank author would write it, with overrides."""
    raw = {"id": f"q-{qtype.replace('_', '-')}", "type": qtype, "topic": "testing", "difficulty": "easy",
           "prompt": f"A {qtype} question?", "explanation": "Because the docs say so.",
           "sources": ["https://docs.aws.amazon.com/AmazonECS/latest/developerguide/Welcome.html"],
           **_TYPE_FIELDS[qtype]}
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


def write_bank(directory: Path, name: str, questions: list[dict], *, title: str = "A test bank") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"title": title, "questions": questions}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def bank_writer(tmp_path):
    """write(name, questions) -> path, in a fresh folder (``bank_writer.directory``)."""
    directory = tmp_path / "banks"
    directory.mkdir()

    def write(name: str, questions: list[dict], **kwargs) -> Path:
        return write_bank(directory, name, questions, **kwargs)
    write.directory = directory
    return write


@pytest.fixture
def make_question(tmp_path):
    """make(qtype, **overrides) -> a validated Question, loaded from a bank file."""
    counter = iter(range(10**6))

    def make(qtype: str, **overrides) -> Question:
        path = write_bank(tmp_path / f"made-{next(counter)}", "made", [raw_question(qtype, **overrides)])
        bank = load_bank(path)
        assert not bank.issues, [str(i) for i in bank.issues]
        return bank.questions[0]
    return make


@pytest.fixture
def store(tmp_path):
    store = ProgressStore(tmp_path / "progress.sqlite")
    yield store
    store.close()
