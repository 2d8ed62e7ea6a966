"""`dojo bench grade`: how fast bulk grading is, as one JSON line.

Builds a small synthetic course in a temporary folder (one module: some computation, value checks,
a behaviour check and a hidden check), makes `copies` perfect submissions, then times:

- ``plain_s``    executing every submission serially with plain nbclient (same interpreter);
- ``serial_s``   grading them with one worker;
- ``parallel_s`` grading them with `workers` workers (default: one per core);

each over `rounds` interleaved rounds, keeping the best.

``overhead_per_submission_s = (serial_s - plain_s) / submissions``: what grading adds (reading,
rebuilding, restoring checks, scoring, writing reports) over just running the notebook.

Example::

    dojo bench grade            # {"bench": "grade", "submissions": 8, "workers": 2, ...}
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_CELLS = (
    ("markdown", "intro", "# Bench\n\nA synthetic module for `dojo bench grade`."),
    ("code", "setup", "from ecsdojo import check"),
    ("code", "ex-primes",
     "def primes_below(n):\n    ### BEGIN SOLUTION\n    sieve = bytearray([1]) * n\n    sieve[:2] = b'\\x00\\x00'\n"
     "    for i in range(2, int(n ** 0.5) + 1):\n        if sieve[i]:\n"
     "            sieve[i * i::i] = bytearray(len(sieve[i * i::i]))\n    return [i for i, p in enumerate(sieve) if p]\n"
     "    ### END SOLUTION"),
    ("code", "ck-primes",
     'check("m01.prime-count", lambda: len(primes_below(2_000_000)), expect=148933, points=2, hint="A sieve.")\n'
     "### BEGIN HIDDEN CHECKS\n"
     'check("m01.small-primes", lambda: primes_below(20), expect=[2, 3, 5, 7, 11, 13, 17, 19], points=1)\n'
     "### END HIDDEN CHECKS"),
    ("code", "ex-total", "### BEGIN SOLUTION\ntotal = sum(i * i for i in range(300_000))\n### END SOLUTION"),
    ("code", "ck-total", 'check("m01.total", total, expect=8999955000050000, points=1)'),
    ("code", "state", 'tasks = {"desired": 3, "running": []}'),
    ("code", "ex-run", '### BEGIN SOLUTION\ntasks["running"] = ["RUNNING"] * tasks["desired"]\n### END SOLUTION'),
    ("code", "ck-run", 'check("m01.running", lambda: len(tasks["running"]) == tasks["desired"], points=2)'),
)


def write_bench_course(folder: Path) -> Path:
    """Write the synthetic solutions notebook; returns the solutions folder."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [new_markdown_cell(source, id=cell_id) if kind == "markdown" else new_code_cell(source, id=cell_id)
             for kind, cell_id, source in BENCH_CELLS]
    solutions = folder / "solutions"
    solutions.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), solutions / "01_bench.ipynb")
    return solutions


def _plain_execute(path: Path, workdir: Path) -> None:
    """Run a notebook the ordinary way: nbclient with default settings and this interpreter's ipykernel
    (over IPC sockets like grading, so that both avoid TCP port races)."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class Specs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="python3", language="python")

    nb = nbformat.read(path, as_version=4)
    sockets = Path(tempfile.mkdtemp(prefix="k", dir=workdir))        # IPC: no TCP port race with other kernels
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=Specs(), transport="ipc",
                            ip=str(sockets / "k"), connection_file=str(sockets / "kernel.json"))
    client = NotebookClient(nb, km=km, timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    env = {**os.environ, "DOJO_HOME": str(workdir / "home")}
    asyncio.run(client.async_execute(cleanup_kc=True, env=env))


def run_bench(*, copies: int = 8, workers: int | None = None, rounds: int = 2) -> dict[str, Any]:
    """Time plain execution, serial grading and parallel grading of `copies` submissions.

    The three are measured in interleaved rounds and the best round of each is reported (as timeit
    does), so that other load on the machine distorts the figures less.
    """
    import nbformat

    from ecsdojo.grading.grade import GradeOptions, answer_key, default_workers, grade, load_keys
    from ecsdojo.grading.gradebook import write_reports

    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="dojo-bench-") as temporary:
        root = Path(temporary)
        solutions = write_bench_course(root)
        perfect = answer_key(solutions / "01_bench.ipynb")
        submissions = []
        for number in range(copies):
            path = root / "submissions" / f"learner{number:02d}" / "01_bench.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(perfect, path)
            submissions.append(str(path))
        keys = load_keys(solutions)
        options = GradeOptions(solutions_dir=solutions)
        _plain_execute(Path(submissions[0]), root)                      # warm the disk cache

        def plain() -> float:
            started = time.monotonic()
            for path in submissions:
                _plain_execute(Path(path), root)
            return time.monotonic() - started

        full = True

        def graded(worker_count: int) -> float:
            nonlocal full
            started = time.monotonic()
            results = grade(submissions, options=options, workers=worker_count, keys=keys)
            write_reports(results, keys, root / f"out-{worker_count}")
            full = full and all(r.status == "ok" and r.points == r.max_points for r in results)
            return time.monotonic() - started

        timings: dict[str, list[float]] = {"plain": [], "serial": [], "parallel": []}
        for _ in range(max(1, rounds)):
            timings["plain"].append(plain())
            timings["serial"].append(graded(1))
            timings["parallel"].append(graded(workers))
    plain_s, serial_s, parallel_s = (min(timings[name]) for name in ("plain", "serial", "parallel"))
    return {
        "bench": "grade",
        "submissions": copies,
        "workers": workers,
        "rounds": max(1, rounds),
        "plain_s": round(plain_s, 3),
        "serial_s": round(serial_s, 3),
        "parallel_s": round(parallel_s, 3),
        "speedup": round(serial_s / parallel_s, 2) if parallel_s else None,
        "overhead_per_submission_s": round((serial_s - plain_s) / copies, 3),
        "all_full_marks": full,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
