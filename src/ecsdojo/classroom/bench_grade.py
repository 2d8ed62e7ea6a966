"""`dojo bench classroom-grade`: grading a class's collected module 00 and refreshing the dashboard, one JSON line.

- ``grade_wall_s``: :func:`ecsdojo.classroom.classgrade.grade_class` over ``submissions`` (default 30) collected
  copies of module 00 — the answer key, laid out exactly as ``dojo classroom collect`` lays them out (read-only
  copies with a manifest) in a temporary state folder — with ``workers`` parallel kernels (default: one per core).
  Module 00 runs real containers, so this needs a Docker engine.
- ``grade_serial_s`` / ``grade_speedup``: the same with one worker (``--serial-sample N`` grades only N of them
  serially and scales the time by ``submissions / N``; the JSON then says ``serial_extrapolated: true``).
- ``dashboard_refresh_s``: the median time of :func:`class_snapshot` (what one dashboard refresh computes) over
  ``learners`` (default 100) simulated progress stores, each with module 00's checks at random states, some quiz
  answers and an interview round; ``dashboard_refresh_max_s`` the slowest of the rounds. Goal: < 1 s for 100.

No learner accounts are made and nothing is delivered to homes (``deliver=False``); the gradebook is written in the
temporary folder. Example::

    dojo bench classroom-grade --submissions 30 --learners 100
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run_bench", "register"]


def _fake_collection(state_dir: Path, notebook: bytes, count: int) -> list[str]:
    from ecsdojo.classroom.collect import MANIFEST

    names = []
    for number in range(count):
        name = f"bench{number:03d}"
        folder = state_dir / "submissions" / name / "20260101T000000Z"
        folder.mkdir(parents=True)
        (folder / "00_start_here.ipynb").write_bytes(notebook)
        os.chmod(folder / "00_start_here.ipynb", 0o444)
        (folder / MANIFEST).write_text(json.dumps({"learner": name, "collected_at": "2026-01-01T00:00:00Z",
                                                   "notebooks": {"00": {"file": "00_start_here.ipynb",
                                                                        "source": "bench",
                                                                        "sha256": hashlib.sha256(notebook)
                                                                        .hexdigest()}}}))
        names.append(name)
    return names


def _simulated_stores(folder: Path, count: int, catalogue, rng: random.Random) -> dict[str, Path]:
    from ecsdojo.progress_store import ProgressStore

    stores = {}
    for number in range(count):
        path = folder / f"learner{number:03d}" / "progress.sqlite"
        store = ProgressStore(path)
        for info in catalogue:
            for _ in range(rng.randint(0, 3)):
                passed = rng.random() < 0.5
                store.record_check(module=info.module, check_id=info.check_id, points=info.points if passed else 0,
                                   max_points=info.points, passed=passed, detail="" if passed else
                                   rng.choice(["expected 2, got 3", "expected 'moto', got 'aws'", "raised KeyError"]))
        for question in range(rng.randint(0, 8)):
            store.record_answer(bank="ecs-concepts", question_id=f"q{question}", answer="x",
                                correct=rng.random() < 0.6, score=rng.random())
        store.close()
        stores[f"learner{number:03d}"] = path
    return stores


def run_bench(*, submissions: int = 30, learners: int = 100, workers: int | None = None,
              serial_sample: int | None = None, rounds: int = 5, skip_grading: bool = False) -> dict[str, Any]:
    import nbformat

    from ecsdojo.classroom.classgrade import grade_class
    from ecsdojo.classroom.dashboard_data import class_snapshot, load_catalogue
    from ecsdojo.classroom.room import SOURCE_TREE
    from ecsdojo.grading.grade import answer_key, default_workers

    solutions = SOURCE_TREE / "solutions"
    workers = workers or default_workers()
    result: dict[str, Any] = {"bench": "classroom-grade", "submissions": submissions, "workers": workers}
    with tempfile.TemporaryDirectory(prefix="dojo-bench-class-") as temporary:
        root = Path(temporary)
        if not skip_grading:
            notebook = nbformat.writes(answer_key(solutions / "00_start_here.ipynb")).encode()
            parallel_state = root / "parallel"
            names = _fake_collection(parallel_state, notebook, submissions)
            started = time.monotonic()
            graded = grade_class(parallel_state, module="00", solutions_dir=solutions, workers=workers,
                                 deliver=False, learners=names)
            result["grade_wall_s"] = round(time.monotonic() - started, 2)
            result["all_full_marks"] = all(row["status"] == "ok" and row["points"] == row["max_points"]
                                           for row in graded.rows)
            sample = min(submissions, serial_sample or submissions)
            serial_state = root / "serial"
            names = _fake_collection(serial_state, notebook, sample)
            started = time.monotonic()
            grade_class(serial_state, module="00", solutions_dir=solutions, workers=1, deliver=False, learners=names)
            serial = (time.monotonic() - started) * submissions / sample
            result["grade_serial_s"] = round(serial, 2)
            result["serial_extrapolated"] = sample != submissions
            result["grade_speedup"] = round(serial / result["grade_wall_s"], 2)
        rng = random.Random(17)
        catalogue = load_catalogue(solutions)
        stores = _simulated_stores(root / "stores", learners, catalogue, rng)
        now = time.time()
        interview = [{"id": "round-bench", "opened_at": now - 60, "closes_at": now + 600,
                      "questions": [{"bank": "ecs-concepts", "id": f"q{n}"} for n in range(3)]}]
        class_snapshot(stores, catalogue, rounds=interview)                   # warm the page cache
        timings = []
        for _ in range(max(1, rounds)):
            started = time.monotonic()
            class_snapshot(stores, catalogue, rounds=interview)
            timings.append(time.monotonic() - started)
    result.update({"dashboard_learners": learners, "dashboard_refresh_s": round(statistics.median(timings), 4),
                   "dashboard_refresh_max_s": round(max(timings), 4),
                   "load_average_1m": round(os.getloadavg()[0], 2)})
    return result


def _bench(args) -> int:
    print(json.dumps(run_bench(submissions=args.submissions, learners=args.learners, workers=args.workers,
                               serial_sample=args.serial_sample, rounds=args.rounds,
                               skip_grading=args.dashboard_only)), flush=True)
    return 0


def register(commands) -> None:
    bench = commands.add_bench("classroom-grade", help="grade a class's module 00 (wall time, speed-up) and the "
                                                       "dashboard's refresh time for many learners (JSON)")
    bench.add_argument("--submissions", type=int, default=30, help="collected module 00 copies (default 30)")
    bench.add_argument("--learners", type=int, default=100, help="simulated stores for the dashboard (default 100)")
    bench.add_argument("--workers", type=int, help="parallel kernels (default: one per core)")
    bench.add_argument("--serial-sample", type=int, metavar="N",
                       help="grade only N serially and scale (default: all, serially)")
    bench.add_argument("--rounds", type=int, default=5, help="dashboard refreshes timed (median kept)")
    bench.add_argument("--dashboard-only", action="store_true", help="skip grading (no Docker needed)")
    bench.set_defaults(handler=_bench)
