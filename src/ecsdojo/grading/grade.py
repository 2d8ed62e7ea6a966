"""`dojo grade`: run submissions headless, each in a fresh kernel, and score them.

For every submission:

1. read it (the file is never written; bad JSON -> ``invalid-notebook``);
2. find its module: ``metadata.ecsdojo.module`` (written by `dojo release`), else the file name's
   ``NN_`` prefix; ``--module`` names the module every submission must be (else ``wrong-module``);
3. rebuild it from the solutions notebook by cell id: every check cell is replaced by the instructor's
   version (sealed, hidden checks included); deleted check cells are put back in place. So editing,
   retyping or deleting a check cell cannot change a score;
4. run it with nbclient in a fresh kernel (local process or Docker sandbox), with a per-cell timeout
   (the cell is interrupted and the rest still runs), a per-notebook timeout and an output cap;
   DOJO_HOME points into a temporary folder, so the learner's progress store is never touched;
5. score it from the machine-readable results that the restored check cells displayed.

Submissions run in parallel (threads, each driving its own kernel process). Statuses, most severe
first: ``invalid-notebook``, ``wrong-module``, ``grader-error``, ``kernel-died``, ``timeout``,
``output-too-large``, ``sys-exit``, ``cells-missing``, ``checks-restored``, ``ok``.

Example::

    results = grade(["alice/04_auto_healing.ipynb"], options=GradeOptions(solutions_dir=Path("solutions")))
    results[0].points, results[0].status
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecsdojo.grading.markers import (CellLocation, CheckCall, MarkerError, ParsedNotebook, find_checks,
                                     module_from_filename, read_notebook)
from ecsdojo.grading.release import graded_check_sources, released_notebook, solution_notebooks
from ecsdojo.grading.tally import METADATA_KEY

CHECK_MIME = "application/vnd.ecsdojo.check+json"   # same as checks.CHECK_MIME (not imported: keeps this light)
SESSION_PLACEHOLDER = "__DOJO_SESSION__"
PRELUDE_ID = "ecsdojo-grading-prelude"
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
STATUSES = ("invalid-notebook", "wrong-module", "not-gradable-here", "grader-error", "tampered", "kernel-died",
            "timeout", "environment-error", "output-too-large", "sys-exit", "cells-missing", "checks-restored", "ok")
# Errors that say the grading environment, not the learner's answer, failed: in any cell they mark the
# row `environment-error`; in an unchanged course cell (neither exercise nor check) so do timeouts.
ENVIRONMENT_ERRORS = frozenset({
    "BanksFolderNotFound", "RuntimeUnavailableError", "NoDockerEngine", "DemoImageMissing", "ImageNotFoundError",
    "ContainerStartError", "DockerException", "ModuleNotFoundError", "ImportError", "PermissionError", "OSError",
    "BlockingIOError", "MemoryError", "ConnectionRefusedError", "EndpointConnectionError", "RealAWSRefusedError"})
COURSE_CELL_ENVIRONMENT_ERRORS = frozenset({"WaitTimeoutError", "TimeoutError", "DemoTimeout", "FileNotFoundError"})


class NoSolutions(Exception):
    """There is no solutions notebook to grade against."""

    def __init__(self, folder: str | os.PathLike) -> None:
        super().__init__(f"{folder}: no solutions notebooks (NN_title.ipynb) to grade against")


@dataclass(frozen=True)
class GradeOptions:
    """How to grade. Times in seconds; `max_output_chars` caps all output of one notebook."""

    solutions_dir: Path = Path("solutions")
    module: str | None = None
    cell_timeout: float = 120
    notebook_timeout: float = 600
    max_output_chars: int = 2_000_000
    sandbox: str = "none"                       # "none" | "docker"
    image: str = "ecsdojo/app:latest"
    startup_timeout: float = 60


@dataclass(frozen=True)
class GradingKey:
    """What grading needs from one solutions notebook."""

    parsed: ParsedNotebook
    graded_sources: dict[str, str]              # check cell id -> source run when grading (calls SESSION_PLACEHOLDER)
    released_sources: dict[str, str]            # check cell id -> source in the learner's notebook

    @property
    def module(self) -> str:
        return self.parsed.module

    @property
    def checks(self) -> tuple[CheckCall, ...]:
        return self.parsed.checks

    @property
    def cell_ids(self) -> set[str]:
        return {cell.cell_id for cell in self.parsed.cells}

    def untouched_sources(self, cell_id: str) -> tuple[str, ...]:
        """The sources a check cell has when nobody edited it: released, or as authored in solutions/."""
        authored = next((cell.source for cell in self.parsed.cells if cell.cell_id == cell_id), None)
        return tuple(text for text in (self.released_sources.get(cell_id), authored) if text is not None)

    def checks_in(self, cell_id: str) -> dict[str, CheckCall]:
        cell = next(cell for cell in self.parsed.cells if cell.cell_id == cell_id)
        return {call.check_id: call for call in cell.checks}


@dataclass(frozen=True)
class CheckScore:
    check_id: str
    points: float
    max_points: float
    passed: bool
    hidden: bool
    reason: str


@dataclass
class SubmissionResult:
    """The outcome for one submission; `notes` are shown in its feedback."""

    submission: str
    module: str
    points: float = 0.0
    max_points: float = 0.0
    status: str = "ok"
    checks: dict[str, CheckScore] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    flags: set[str] = field(default_factory=set)
    flag_notes: list[tuple[str, str]] = field(default_factory=list)     # (status, note)

    def flag(self, status: str, note: str | None = None) -> None:
        self.flags.add(status)
        if note:
            self.notes.append(note)
            self.flag_notes.append((status, note))

    def status_notes(self) -> list[str]:
        """The notes behind the status (for the gradebook's status_detail column)."""
        return [note for status, note in self.flag_notes if status == self.status]

    def settle(self) -> None:
        self.status = next((status for status in STATUSES if status in self.flags), "ok")
        self.points = sum(score.points for score in self.checks.values())


def load_keys(solutions_dir: str | os.PathLike) -> dict[str, GradingKey]:
    """Parse every solutions notebook once. Raises MarkerError (naming notebook and cell) when one is bad."""
    keys: dict[str, GradingKey] = {}
    for path in solution_notebooks(Path(solutions_dir)):
        nb, parsed = read_notebook(path)
        released = released_notebook(nb, parsed, source_name=path.name)
        released_sources = {cell.id: cell.source for cell in released.cells if cell.id in
                            {info.cell_id for info in parsed.cells_of_kind("check")}}
        graded = {cell_id: _calling_session(source, parsed, cell_id)
                  for cell_id, source in graded_check_sources(parsed).items()}
        keys[parsed.module] = GradingKey(parsed, graded, released_sources)
    if not keys:
        raise NoSolutions(solutions_dir)
    return keys


def _calling_session(source: str, parsed: ParsedNotebook, cell_id: str) -> str:
    """A graded check cell whose ``check(...)`` calls go to the grader's session, not to a name the
    submission could have rebound (see integrity.py)."""
    info = next(cell for cell in parsed.cells if cell.cell_id == cell_id)
    where = CellLocation(parsed.path, info.index, cell_id)
    for call in sorted(find_checks(source, where, module=parsed.module), key=lambda c: c.start, reverse=True):
        if source[call.start:call.start + len("check")] != "check":      # find_checks only finds `check(...)`
            raise MarkerError(f"{where}: cannot route {call.check_id} to the grading session")
        source = source[:call.start] + SESSION_PLACEHOLDER + ".check" + source[call.start + len("check"):]
    return source


# ---- step 1-3: read and rebuild -------------------------------------------------------------------
def _read_submission(path: Path, result: SubmissionResult) -> Any | None:
    import nbformat

    try:
        data = path.read_bytes()
    except OSError as error:
        result.flag("invalid-notebook", f"cannot read the file: {error.strerror or error}")
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        result.flag("invalid-notebook", f"not a notebook: the file is not valid JSON ({error})")
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or raw.get("nbformat") != 4:
        result.flag("invalid-notebook", "not a notebook: JSON without nbformat 4 cells")
        return None
    try:
        nb = nbformat.from_dict(raw)
        for cell in nb.cells:
            source = cell.get("source", "")
            cell["source"] = "".join(source) if isinstance(source, list) else str(source)
            cell.setdefault("metadata", {})
            if cell.get("cell_type") not in ("code", "markdown", "raw"):
                raise ValueError(f"unknown cell type {cell.get('cell_type')!r}")
    except (ValueError, TypeError, AttributeError) as error:
        result.flag("invalid-notebook", f"not a notebook: {error}")
        return None
    return nb


def _module_of(nb: Any, path: Path, options: GradeOptions, keys: dict[str, GradingKey],
               result: SubmissionResult) -> GradingKey | None:
    meta = nb.get("metadata", {}).get(METADATA_KEY)
    declared = str(meta["module"]) if isinstance(meta, dict) and "module" in meta else None
    evidence = declared or module_from_filename(path.name)
    module = options.module or evidence
    result.module = module or ""
    if module is None:
        result.flag("wrong-module", "cannot tell which module this is (no ecsdojo metadata, no NN_ file name); "
                                    "grade it with --module NN")
        return None
    if options.module and evidence and evidence != options.module:
        result.flag("wrong-module", f"this is module {evidence}'s notebook, not module {options.module}'s")
        return None
    key = keys.get(module)
    if key is None:
        result.flag("wrong-module", f"there is no solutions notebook for module {module}")
        return None
    if options.sandbox == "docker":
        from ecsdojo.grading.sandbox import sandbox_refusal

        reason = sandbox_refusal([cell.source for cell in key.parsed.cells if cell.cell_type == "code"])
        if reason is not None:
            result.flag("not-gradable-here", f"module {module} was not graded: {reason}")
            return None
    ids = {cell.get("id") for cell in nb.cells}
    if not ids & key.cell_ids:
        result.flag("wrong-module", f"none of module {module}'s cells are in this notebook "
                                    f"(is it another module's, or not made from the released notebook?)")
        return None
    return key


@dataclass(frozen=True)
class GradingRun:
    """One submission's run: the session's per-run variable name and nonce (see integrity.py)."""

    session: str
    nonce: str

    @classmethod
    def new(cls) -> GradingRun:
        from ecsdojo.grading.integrity import SESSION_PREFIX

        return cls(SESSION_PREFIX + secrets.token_hex(6), secrets.token_hex(16))

    def prelude(self) -> str:
        return (f"{self.session} = __import__('ecsdojo.grading.integrity', fromlist=['arm'])"
                f".arm({self.nonce!r})")

    def check_cell(self, graded_source: str) -> str:
        return graded_source.replace(SESSION_PLACEHOLDER, self.session)


def rebuild(nb: Any, key: GradingKey, result: SubmissionResult, *, run: GradingRun | None = None) -> Any:
    """The notebook to run: a prelude that arms the grading session, then the learner cells as they
    are and the check cells from the solutions (by id), calling that session.

    Only the outputs of the check cells put in here (ids in ``key.graded_sources``) count. Learner code
    cells are read for tampering first (integrity.scan_source): findings flag the result ``tampered``.
    """
    import nbformat.v4 as v4

    from ecsdojo.grading.integrity import scan_source

    run = run or GradingRun.new()
    check_ids = set(key.graded_sources)
    cells: list[Any] = []
    seen: set[str] = set()
    restored: list[str] = []
    for number, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
            cell_id = f"cell-{number}"
        if cell_id in seen:                      # a duplicated id never takes a check's place twice
            cell_id = f"copy-{number}-{uuid.uuid4().hex[:8]}"
        seen.add(cell_id)
        if cell_id in check_ids:
            if cell.get("cell_type") != "code" or cell.get("source", "") not in key.untouched_sources(cell_id):
                restored.append(cell_id)
            cells.append(v4.new_code_cell(run.check_cell(key.graded_sources[cell_id]), id=cell_id))
        elif cell.get("cell_type") == "code":
            for finding in scan_source(cell.get("source", "")):
                line = f", line {finding.line}" if finding.line else ""
                result.flag("tampered", f"cell {number + 1} (id {cell_id!r}{line}) {finding.what}")
            cells.append(v4.new_code_cell(cell.get("source", ""), id=cell_id))
        elif cell.get("cell_type") == "markdown":
            cells.append(v4.new_markdown_cell(cell.get("source", ""), id=cell_id))
        else:
            cells.append(v4.new_raw_cell(cell.get("source", ""), id=cell_id))
    position = -1
    deleted: list[str] = []
    for info in key.parsed.cells:
        index = next((i for i, cell in enumerate(cells) if cell.id == info.cell_id), None)
        if index is not None:
            position = index
        elif info.kind == "check":
            position += 1
            cells.insert(position, v4.new_code_cell(run.check_cell(key.graded_sources[info.cell_id]),
                                                    id=info.cell_id))
            deleted.append(info.cell_id)
        elif info.kind == "exercise":
            result.flag("cells-missing", f"exercise cell {info.index + 1} (id {info.cell_id!r}) was deleted")
    if restored:
        result.flag("checks-restored", f"{len(restored)} edited check cell(s) were replaced by the original")
    if deleted:
        result.flag("checks-restored", f"{len(deleted)} deleted check cell(s) were put back")
    cells.insert(0, v4.new_code_cell(run.prelude(), id=PRELUDE_ID))
    built = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    return built


# ---- step 4: run ----------------------------------------------------------------------------------
class _OutputTooLarge(Exception):
    pass


class _NotebookTimeout(Exception):
    pass


def _output_size(content: dict[str, Any]) -> int:
    size = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    size += len(content.get("evalue", "") or "") + sum(len(line) for line in content.get("traceback", []) or [])
    return size


def _grading_client_class():
    """Built on first use so that importing this module does not import nbclient."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    class FixedKernelSpecs(KernelSpecManager):
        def __init__(self, spec: KernelSpec, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._spec = spec

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return self._spec

    class GradingClient(NotebookClient):
        """nbclient with a notebook deadline, an output cap and a fixed kernel command over IPC."""

        def __init__(self, nb: Any, *, argv: list[str], workdir: Path, deadline: float, cell_timeout: float,
                     max_output: int, **kwargs: Any) -> None:
            super().__init__(nb, kernel_name="ecsdojo-grading", allow_errors=True, interrupt_on_timeout=True,
                             error_on_timeout={"ename": "CellTimeout", "evalue": "cell timed out", "traceback": []},
                             timeout_func=self._cell_timeout, shutdown_kernel="immediate", record_timing=False,
                             **kwargs)
            self._argv = argv
            self._workdir = workdir
            self._deadline = deadline
            self._cell_limit = cell_timeout
            self._max_output = max_output
            self._output_used = 0
            self.timed_out_cells: list[int] = []
            self.deadline_hit = False
            self.output_exceeded = False

        def _cell_timeout(self, cell: Any) -> float:
            return max(0.5, min(self._cell_limit, self._deadline - time.monotonic()))

        def create_kernel_manager(self) -> AsyncKernelManager:
            spec = KernelSpec(argv=self._argv, display_name="ecsdojo grading", language="python",
                              interrupt_mode="signal")
            self.km = AsyncKernelManager(kernel_name="ecsdojo-grading", kernel_spec_manager=FixedKernelSpecs(spec),
                                         transport="ipc", ip=str(self._workdir / "k"),
                                         connection_file=str(self._workdir / "kernel.json"))
            return self.km

        async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None,
                                     store_history: bool = True) -> Any:
            if time.monotonic() >= self._deadline and cell.cell_type == "code" and cell.source.strip():
                raise _NotebookTimeout()
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

        async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
            if timeout < self._cell_limit:                    # cut short by the notebook's deadline
                self.deadline_hit = True
            elif cell is not None:
                self.timed_out_cells.append(next((i for i, c in enumerate(self.nb.cells) if c is cell), -1))
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
            self._output_used += _output_size(msg.get("content", {}))
            if self._output_used > self._max_output:
                if not self.output_exceeded:
                    self.output_exceeded = True
                    interrupt = self.km.interrupt_kernel() if self.km is not None else None
                    if inspect.isawaitable(interrupt):
                        asyncio.ensure_future(interrupt)
                raise _OutputTooLarge()
            return super().output(outs, msg, display_id, cell_index)

    return GradingClient


_CLIENT_CLASS: Any = None


def run_notebook(nb: Any, *, workdir: Path, options: GradeOptions, result: SubmissionResult) -> None:
    """Execute `nb` in place in a fresh kernel; record timeouts, crashes and output overflow on `result`."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        _CLIENT_CLASS = _grading_client_class()
    from nbclient.exceptions import DeadKernelError

    from ecsdojo.grading import sandbox

    for name in ("home", "work", "ipython"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    run_label = uuid.uuid4().hex
    if options.sandbox == "docker":
        os.chmod(workdir, 0o777)
        for name in ("home", "work"):
            os.chmod(workdir / name, 0o777)
        argv = sandbox.docker_kernel_argv(image=options.image, workdir=workdir, run_label=run_label)
        env = dict(os.environ)
    else:
        argv = sandbox.local_kernel_argv()
        env = sandbox.local_kernel_env(workdir)
    started = time.monotonic()
    client = _CLIENT_CLASS(nb, argv=argv, workdir=workdir, deadline=started + options.notebook_timeout,
                           cell_timeout=options.cell_timeout, max_output=options.max_output_chars,
                           startup_timeout=int(options.startup_timeout),
                           resources={"metadata": {"path": str(workdir / "work")}})
    backstop = options.notebook_timeout + options.cell_timeout + options.startup_timeout + 30
    try:
        asyncio.run(asyncio.wait_for(client.async_execute(env=env), timeout=backstop))
    except _OutputTooLarge:
        result.flag("output-too-large", f"the notebook printed more than {options.max_output_chars:,} characters; "
                                        f"grading stopped there")
    except (_NotebookTimeout, asyncio.TimeoutError):
        client.deadline_hit = True
    except DeadKernelError:
        result.flag("kernel-died", "the kernel died (os._exit, a crash or out of memory); grading stopped there")
    except RuntimeError as error:
        if "died" in str(error).lower() or "kernel" in str(error).lower():
            result.flag("kernel-died", f"the kernel could not run: {error}")
        else:
            raise
    finally:
        atexit.unregister(client._cleanup_kernel)      # left registered by nbclient when start-up fails
        if options.sandbox == "docker":
            sandbox.remove_containers(run_label)
    if client.deadline_hit:
        result.flag("timeout", f"the notebook ran longer than {options.notebook_timeout:g} s; grading stopped there")
    if client.timed_out_cells:
        numbers = ", ".join(str(index + 1) for index in client.timed_out_cells)
        result.flag("timeout", f"cell {numbers} ran longer than {options.cell_timeout:g} s and was interrupted")


# ---- step 5: score --------------------------------------------------------------------------------
def _first_line(text: str, limit: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[:limit] + "…"


def _payloads(outputs: list[Any]) -> list[dict[str, Any]]:
    found = []
    for output in outputs:
        if output.get("output_type") not in ("display_data", "execute_result", "update_display_data"):
            continue
        payload = (output.get("data") or {}).get(CHECK_MIME)
        if payload is None:
            continue
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = {}
        found.append(payload if isinstance(payload, dict) else {})
    return found


def _hint_cost(call: CheckCall) -> float:
    import ast

    text = dict(call.visible_keywords).get("hint_cost")
    try:
        return float(ast.literal_eval(text)) if text is not None else 0.5
    except (ValueError, SyntaxError, TypeError):
        return 0.5


def _verdict(call: CheckCall, payload: dict[str, Any]) -> tuple[bool, float, str]:
    """(passed, points earned, reason) of one check result read back from the kernel.

    Value checks are judged here, by comparing the reported (normalised) value with the expected
    value from the solutions notebook: the kernel's own "passed" does not count for them.
    """
    try:
        hints_used = max(0, int(payload.get("hints_used", 0)))
    except (TypeError, ValueError):
        hints_used = 0
    reason = str(payload.get("reason", ""))[:300]
    if call.has_expect:
        from ecsdojo.grading.seal import UnsupportedValue, normalise

        try:
            expected = normalise(call.expect, call.how)
        except UnsupportedValue:
            return False, 0.0, "the expected value cannot be compared"
        passed = isinstance(payload.get("answer"), str) and payload["answer"] == expected
        if bool(payload.get("passed")) != passed:
            reason = "Correct." if passed else ("Not the expected answer yet." if payload.get("passed") else reason)
        earned = max(0.0, call.points - _hint_cost(call) * hints_used) if passed else 0.0
        return passed, earned, reason
    try:
        earned = max(0.0, min(float(payload.get("points", 0)), call.points))
    except (TypeError, ValueError):
        return False, 0.0, reason
    passed = payload.get("passed") is True and earned > 0
    return passed, earned if passed else 0.0, reason


def score(nb: Any, key: GradingKey, result: SubmissionResult, *, run: GradingRun | None = None) -> None:
    """Read the check results displayed by the restored check cells; note errors of the other cells.

    With `run` (the grading run whose session the check cells called) only results carrying its nonce
    count; a result without it, or one shown by a learner cell, flags the submission ``tampered``.
    """
    exercise_ids = {cell.cell_id for cell in key.parsed.cells_of_kind("exercise")}
    for call in key.checks:
        result.checks[call.check_id] = CheckScore(call.check_id, 0.0, call.points, False, call.hidden, "did not run")
    noticed: set[str] = set()
    course_sources = {info.cell_id: info.source for info in key.parsed.cells_of_kind("plain")}
    cells = [cell for cell in nb.cells if cell.get("id") != PRELUDE_ID]
    for cell in nb.cells:
        if cell.get("id") == PRELUDE_ID:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    result.flag("grader-error", f"the grading session could not start: {output.get('ename')}: "
                                                f"{_first_line(output.get('evalue', ''))}")
    for number, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if cell.id in key.graded_sources:
            expected = key.checks_in(cell.id)
            for payload in _payloads(outputs):
                if run is not None and payload.get("nonce") != run.nonce:
                    result.flag("tampered", f"check cell {number + 1} (id {cell.id!r}) showed a check result the "
                                            f"grader did not produce (a forged result); it was ignored")
                    continue
                for finding in payload.get("tampering") or []:
                    if isinstance(finding, str) and finding not in noticed:
                        noticed.add(finding)
                        result.flag("tampered", f"noticed at check cell {number + 1} (id {cell.id!r}): "
                                                f"{finding[:200]}")
                if payload.get("check_id") not in expected:
                    continue
                call = expected[payload["check_id"]]
                passed, earned, reason = _verdict(call, payload)
                previous = result.checks[call.check_id]
                if earned >= previous.points:
                    reason = "hidden check" if call.hidden else reason
                    result.checks[call.check_id] = CheckScore(call.check_id, earned, call.points, passed,
                                                              call.hidden, reason)
            for output in outputs:
                if output.get("output_type") == "error":
                    detail = output.get("ename", "Error")
                    if detail == "NameError":      # names only: never a line of the check's code
                        detail += f" ({_first_line(output.get('evalue', ''))})"
                    for check_id, call in expected.items():
                        if result.checks[check_id].reason == "did not run":
                            result.checks[check_id] = CheckScore(check_id, 0.0, call.points, False, call.hidden,
                                                                 f"the check cell stopped with {detail}")
                    if output.get("ename") == "SystemExit":
                        result.flag("sys-exit")
            continue
        if _payloads(outputs):
            result.flag("tampered", f"cell {number + 1} (id {cell.id!r}) showed a check result; only the grader's "
                                    f"check cells do, so it was ignored")
        authored = course_sources.get(cell.id)
        is_course_cell = authored is not None and cell.get("source", "") == authored
        for output in outputs:
            if output.get("output_type") != "error":
                continue
            ename, evalue = output.get("ename", "Error"), _first_line(output.get("evalue", ""))
            if ename in ENVIRONMENT_ERRORS or (is_course_cell and ename in COURSE_CELL_ENVIRONMENT_ERRORS):
                result.flag("environment-error", f"cell {number + 1} (id {cell.id!r}) raised {ename}: {evalue} — "
                                                 f"the grading environment, not the answer, failed here; the "
                                                 f"points after it may be too low")
                continue
            if ename == "SystemExit":
                result.flag("sys-exit", f"cell {number + 1} called sys.exit({evalue}); the notebook went on")
            elif cell.id in exercise_ids and ename == "NotImplementedError":
                result.notes.append(f"exercise cell {number + 1}: not attempted yet")
            else:
                kind = "exercise cell" if cell.id in exercise_ids else "cell"
                result.notes.append(f"{kind} {number + 1} raised {ename}: {evalue}")


# ---- one submission, many submissions -------------------------------------------------------------
def grade_submission(path: str | os.PathLike, keys: dict[str, GradingKey], options: GradeOptions, *,
                     workdir: Path) -> SubmissionResult:
    """Grade one file (never modified). Never raises: failures become a status."""
    started = time.monotonic()
    path = Path(path)
    result = SubmissionResult(submission=str(path), module=module_from_filename(path.name) or "")
    try:
        nb = _read_submission(path, result)
        key = _module_of(nb, path, options, keys, result) if nb is not None else None
        if key is not None:
            result.max_points = key.parsed.total
            run = GradingRun.new()
            prepared = rebuild(nb, key, result, run=run)
            run_notebook(prepared, workdir=workdir, options=options, result=result)
            score(prepared, key, result, run=run)
        elif result.module in keys:
            result.max_points = keys[result.module].parsed.total
    except Exception as error:  # noqa: BLE001 - one submission's failure never stops the others
        result.flag("grader-error", f"grading failed: {type(error).__name__}: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.settle()
    result.seconds = time.monotonic() - started
    return result


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def grade(submissions: Sequence[str | os.PathLike], *, options: GradeOptions = GradeOptions(),
          workers: int | None = None, keys: dict[str, GradingKey] | None = None,
          on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """Grade submissions in parallel (default: one worker per core); results in the given order.

    Raises NoSolutions / MarkerError when the solutions cannot be read (nothing can be graded).
    """
    keys = keys if keys is not None else load_keys(options.solutions_dir)
    if options.sandbox == "docker":
        from ecsdojo.grading.sandbox import require_docker

        require_docker(options.image)
    elif options.sandbox != "none":
        raise ValueError(f"--sandbox must be 'none' or 'docker', not {options.sandbox!r}")
    root = Path(tempfile.mkdtemp(prefix="dojo-grade-"))
    try:
        def one(index_path: tuple[int, str | os.PathLike]) -> SubmissionResult:
            index, path = index_path
            result = grade_submission(path, keys, options, workdir=root / f"s{index}")
            if on_result is not None:
                on_result(result)
            return result

        pool = ThreadPoolExecutor(max_workers=workers or default_workers())
        try:
            futures = [pool.submit(one, item) for item in enumerate(submissions)]
            return [future.result() for future in futures]
        finally:                                 # on Ctrl-C: start nothing new; running kernels end by timeout
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def answer_key(solution_path: str | os.PathLike) -> Any:
    """The solutions notebook as a perfect learner would submit it (stubs filled, no hidden checks).

    Used by tests and the benchmark. Example::

        nbformat.write(answer_key("solutions/04_auto_healing.ipynb"), "perfect.ipynb")
    """
    nb, parsed = read_notebook(solution_path)
    released = released_notebook(nb, parsed, source_name=Path(solution_path).name)
    for cell, info in zip(released.cells, parsed.cells):
        if info.kind == "exercise":
            cell.source = "\n".join(line for line in info.source.splitlines()
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return released


__all__ = ["GradeOptions", "GradingKey", "GradingRun", "SubmissionResult", "CheckScore", "NoSolutions",
           "MarkerError", "grade", "grade_submission", "load_keys", "rebuild", "score", "answer_key", "default_workers"]
