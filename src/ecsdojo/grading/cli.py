"""The grading commands: `dojo release`, `dojo grade`, `dojo progress`, `dojo bench grade`."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path


def register(commands) -> None:
    release = commands.add("release", handler=_release,
                           help="generate the learner notebooks (notebooks/) from the instructor's solutions/")
    release.add_argument("--solutions", type=Path, default=Path("solutions"), metavar="DIR",
                         help="solutions folder (default: solutions)")
    release.add_argument("--out", type=Path, default=Path("notebooks"), metavar="DIR",
                         help="release folder; holds generated notebooks only (default: notebooks)")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 when the release folder is stale")
    release.add_argument("--force", action="store_true",
                         help="overwrite generated notebooks that were edited in the release folder")

    grade = commands.add("grade", handler=_grade,
                         help="grade submitted notebooks headless; writes gradebook.csv and feedback files")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="notebook files (never modified)")
    grade.add_argument("--out", type=Path, required=True, metavar="DIR", help="where gradebook.csv and feedback go")
    grade.add_argument("--solutions", type=Path, default=None, metavar="DIR",
                       help="the instructor's solutions (default: ./solutions, else the course's)")
    grade.add_argument("--module", metavar="NN", help="the module every submission must be (else wrong-module)")
    grade.add_argument("--workers", type=int, default=None, metavar="N", help="parallel kernels (default: cores)")
    grade.add_argument("--cell-timeout", type=float, default=120, metavar="S", help="per cell (default 120)")
    grade.add_argument("--timeout", type=float, default=600, metavar="S", help="per notebook (default 600)")
    grade.add_argument("--max-output", type=int, default=2_000_000, metavar="CHARS",
                       help="output cap per notebook (default 2000000)")
    grade.add_argument("--sandbox", choices=("none", "docker"), default="none",
                       help="docker: each kernel in a container without network, with CPU/memory limits")
    grade.add_argument("--image", default="ecsdojo/app:latest", help="image for --sandbox docker")

    progress = commands.add("progress", handler=_progress, help="your points per module, from your progress store")
    progress.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                          help="released notebooks, for module titles and full points (default: the course's "
                               "notebooks/, found from any folder)")
    progress.add_argument("--module", metavar="NN")

    bench = commands.add_bench("grade", handler=_bench,
                               help="time bulk grading (serial vs parallel, overhead over plain execution)")
    bench.add_argument("--copies", type=int, default=8, metavar="N", help="submissions to grade (default 8)")
    bench.add_argument("--workers", type=int, default=None, metavar="N")
    bench.add_argument("--rounds", type=int, default=2, metavar="N", help="interleaved rounds; best kept (default 2)")


def _release(args: argparse.Namespace) -> int:
    from ecsdojo.grading.release import ReleaseRefused, apply_release, plan_release

    try:
        plan = plan_release(args.solutions, args.out)
        if not args.check:
            apply_release(plan, force=args.force)
    except ReleaseRefused as error:
        print(f"dojo release: {error}", file=sys.stderr)
        return 1
    for error in plan.errors:
        print(f"error: {error}", file=sys.stderr)
    if args.check:
        for path in plan.stale:
            print(f"stale: {path}")
        if plan.stale:
            print(f"{args.out} is out of date: run `dojo release`", file=sys.stderr)
        elif not plan.errors:
            print(f"{args.out} is up to date" if plan.unchanged else f"nothing to release from {args.solutions}")
        return 1 if plan.stale or plan.errors else 0
    for path in sorted(plan.writes):
        print(f"wrote {path}")
    for path in plan.removes:
        print(f"removed {path} (its solutions notebook is gone)")
    for path in plan.kept:
        print(f"kept {path} (not a generated notebook, or edited: yours, never touched)")
    if not plan.writes and not plan.removes and not plan.errors:
        print(f"{args.out} is up to date" if plan.unchanged else f"nothing to release from {args.solutions}")
    return 1 if plan.errors else 0


def _grade(args: argparse.Namespace) -> int:
    from ecsdojo.grading.grade import GradeOptions, NoSolutions, grade, load_keys
    from ecsdojo.grading.gradebook import write_reports
    from ecsdojo.grading.markers import MarkerError
    from ecsdojo.grading.sandbox import SandboxUnavailable

    solutions = _solutions_dir(args.solutions)
    if solutions is None:
        print("dojo grade: no solutions folder: there is no ./solutions here and the course's could not be found "
              "(looked at $DOJO_COURSE, the installed package's folder and the parents of this folder); "
              "pass --solutions DIR", file=sys.stderr)
        return 1
    args.solutions = solutions
    options = GradeOptions(solutions_dir=args.solutions, module=args.module, cell_timeout=args.cell_timeout,
                           notebook_timeout=args.timeout, max_output_chars=args.max_output, sandbox=args.sandbox,
                           image=args.image)
    lock = threading.Lock()

    def report(result) -> None:
        with lock:
            print(f"{result.status:<17} {result.points:g}/{result.max_points:g}  {result.submission}"
                  f"  ({result.seconds:.1f} s)", flush=True)

    try:
        keys = load_keys(args.solutions)
        results = grade(args.submissions, options=options, workers=args.workers, keys=keys, on_result=report)
    except (NoSolutions, MarkerError, SandboxUnavailable) as error:
        hint = " (pass --solutions DIR)" if isinstance(error, NoSolutions) else ""
        print(f"dojo grade: {error}{hint}", file=sys.stderr)
        return 1
    gradebook, feedback = write_reports(results, keys, args.out)
    print(f"wrote {gradebook} and {len(feedback)} feedback file(s) in {args.out}")
    return 0


def _solutions_dir(given: Path | None) -> Path | None:
    """--solutions, else ./solutions, else the course's solutions/ (found from any folder)."""
    from ecsdojo.locations import course_folder

    if given is not None:
        return given
    if Path("solutions").is_dir():
        return Path("solutions")
    return course_folder("solutions")


def _progress(args: argparse.Namespace) -> int:
    from ecsdojo.grading.tally import ProgressTable, default_folders, read_catalogue
    from ecsdojo.progress_store import ProgressStoreError

    folders = [args.notebooks] if args.notebooks is not None else default_folders()
    try:
        print(ProgressTable.load(notebooks=folders, module=args.module))
    except ProgressStoreError as error:
        print(f"dojo progress: {error}", file=sys.stderr)
        return 1
    if not read_catalogue(folders):
        print("note: no released notebooks found, so module titles and full points are missing; pass "
              "--notebooks DIR (the course's notebooks/) or set DOJO_COURSE to the course folder", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ecsdojo.grading.bench import run_bench

    print(json.dumps(run_bench(copies=args.copies, workers=args.workers, rounds=args.rounds)), flush=True)
    return 0
