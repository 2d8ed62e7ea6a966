"""Interview practice for a whole class: one round, the same questions for everyone, a time limit.

The instructor opens a round (``dojo classroom interview open --topic ecs-vs-kubernetes --questions 3 --minutes 15``):
the questions are chosen once from the quiz banks (interview and short questions) and written to
``STATE/interviews/ROUND.json`` (world-readable, like the course; ``current.json`` names the newest round). Each
learner takes it in a notebook with ``interview_round()``: the course's own timed mock interview
(:func:`ecsdojo.quiz.widgets.Quiz`) on exactly those questions, answers going to their own progress store as every
quiz answer does. The dashboard counts, per learner, the round's questions answered between its opening and its
close (answers after the close are shown as late); nothing is written anywhere else.

Example (learner, in a notebook on the classroom hub)::

    from ecsdojo.classroom.interview import interview_round
    interview_round()
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

__all__ = ["open_round", "close_round", "read_rounds", "current_round", "interview_round", "InterviewError",
           "rounds_dir"]

ROUND_TYPES = ("interview", "short")


class InterviewError(RuntimeError):
    """A round cannot be opened or found; the message says why."""


def rounds_dir(state_dir: Path) -> Path:
    return state_dir / "interviews"


def _write_public(path: Path, data: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=1))
    os.chmod(partial, 0o644)
    os.replace(partial, path)


def open_round(state_dir: Path, *, minutes: float, questions: int = 3, topics: list[str] | None = None,
               seed: int | None = None, title: str = "", banks_dir: Path | None = None,
               now: float | None = None) -> dict:
    """Choose the questions, write the round; returns it."""
    from ecsdojo.quiz.bank import load_banks, matching_questions

    if minutes <= 0 or questions <= 0:
        raise InterviewError(f"--minutes and --questions must be positive (got {minutes:g} and {questions})")
    banks = load_banks(banks_dir)
    pool = [question for bank in banks.banks for question in bank.questions]
    chosen = matching_questions(pool, topic=topics or None, types=ROUND_TYPES, n=questions,
                                seed=seed if seed is not None else int(time.time()))
    if not chosen:
        raise InterviewError(f"no interview or short questions match the topics {topics or 'any'}")
    now = time.time() if now is None else now
    round_id = time.strftime("round-%Y%m%dT%H%M%SZ", time.gmtime(now))
    folder = rounds_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    record = {"id": round_id, "title": title or f"Mock interview {time.strftime('%H:%M', time.gmtime(now))} UTC",
              "opened_at": now, "closes_at": now + minutes * 60, "minutes": minutes,
              "minutes_per_question": minutes / len(chosen),
              "questions": [{"bank": q.bank, "id": q.id} for q in chosen]}
    _write_public(folder / f"{round_id}.json", record)
    _write_public(folder / "current.json", {"id": round_id})
    return record


def read_rounds(state_dir: Path) -> list[dict]:
    """Every round, oldest first (a damaged file is skipped: the dashboard keeps working)."""
    rounds = []
    for path in sorted(rounds_dir(state_dir).glob("round-*.json")):
        try:
            rounds.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return rounds


def current_round(state_dir: Path) -> dict:
    try:
        round_id = json.loads((rounds_dir(state_dir) / "current.json").read_text())["id"]
        if not re.fullmatch(r"round-[\dTZ-]+", round_id):
            raise ValueError(round_id)
        return json.loads((rounds_dir(state_dir) / f"{round_id}.json").read_text())
    except (OSError, ValueError, KeyError) as error:
        raise InterviewError(f"no interview round is open in {rounds_dir(state_dir)} (the instructor opens one "
                             f"with `dojo classroom interview open`)") from error


def close_round(state_dir: Path, *, now: float | None = None) -> dict:
    """End the current round now (answers after this count as late)."""
    record = current_round(state_dir)
    record["closes_at"] = min(record["closes_at"], time.time() if now is None else now)
    _write_public(rounds_dir(state_dir) / f"{record['id']}.json", record)
    return record


def interview_round(*, state_dir: str | os.PathLike | None = None, store=None):
    """The learner's side: the open round as a timed mock interview (answers go to their progress store)."""
    from ecsdojo.progress_store import ProgressStore
    from ecsdojo.quiz.bank import load_banks
    from ecsdojo.quiz.widgets import Quiz, _show

    folder = Path(state_dir or os.environ.get("DOJO_CLASSROOM_STATE") or "/var/lib/ecsdojo-classroom")
    record = current_round(folder)
    banks = load_banks()
    by_key = {(q.bank, q.id): q for bank in banks.banks for q in bank.questions}
    chosen = [by_key[(item["bank"], item["id"])] for item in record["questions"] if (item["bank"], item["id"])
              in by_key]
    left = max(0.0, (record["closes_at"] - time.time()) / 60)
    note = (f"{record['title']}: the same {len(chosen)} question(s) for the whole class; "
            f"{left:.0f} of {record['minutes']:g} minutes left. Your answers appear on the instructor's dashboard.")
    return _show(Quiz(chosen, title=record["title"], store=store or ProgressStore(), note=note, prefill=False,
                      timed=True, minutes=record["minutes_per_question"]))
