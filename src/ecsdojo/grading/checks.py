"""In-notebook checks: immediate feedback, points, hints that cost points, a per-module tally.

Value checks compare the learner's value with a sealed expected value (a salted hash; see seal.py)::

    check("m04.heal-count", heal_count)                    # released form: ..., sealed="dojo1:..."
    check("m04.heal-count", heal_count, expect=3, points=2, hint="Count tasks, not containers.")

Behaviour checks pass a callable (called with no arguments) or a bool, judged against live state; with
``within=`` the callable is polled until it returns True or the time is up::

    check("m04.three-running", lambda: running_count("web") == 3, points=2, within=30)

A failed check shows a hint that does not give the answer away; ``hint("m04.heal-count")`` reveals the
next extra hint and costs ``hint_cost`` points of that check. Every result is written to the learner's
progress store (``$DOJO_HOME/progress.sqlite``). Output is HTML in Jupyter and plain text elsewhere;
each result also carries a machine-readable ``application/vnd.ecsdojo.check+json`` part that
`dojo grade` reads.

Kept light on imports: this module loads in every learner kernel.
"""

from __future__ import annotations

import html
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ecsdojo.grading import tally
from ecsdojo.grading.seal import BadSealedSpec, Normalisation, SealedSpec, UnsupportedValue, kind_of, normalise
from ecsdojo.grading.tally import module_label

__all__ = ["check", "hint", "progress", "evaluate", "CheckOutcome", "CHECK_MIME"]

CHECK_MIME = "application/vnd.ecsdojo.check+json"
POLL_INTERVAL_S = 0.25
_MISSING = object()
_RAISED = object()                    # the value: the learner's code raised instead of returning one


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check run. `reason` never contains the expected value."""

    check_id: str
    module: str
    passed: bool
    points: float
    max_points: float
    hints_used: int
    reason: str
    hint: str = ""
    explanation: str = ""
    hints_left: int = 0
    hint_cost: float = 0.0
    answer: str | None = None        # value checks: the learner's value, normalised (None: none to compare)

    def payload(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key not in ("hint", "explanation", "answer")}


@dataclass
class _Known:
    """What this kernel remembers about a check it has run (for hint() and the tally)."""

    spec: SealedSpec
    points: float
    hint_cost: float
    hints_used: int = 0


_known: dict[str, _Known] = {}
_last_failed: list[str] = []
_stores: dict[str, Any] = {}


def _module_of(check_id: str) -> str:
    head = check_id.split(".", 1)[0]
    return head[1:] if head[:1] == "m" and head[1:].isdigit() else head


def _is_true(result: Any) -> bool:
    return result is True or (type(result).__name__ == "bool_" and bool(result))


def _fmt(points: float) -> str:
    return f"{points:g}"


def evaluate(spec: SealedSpec, value: Any, *, points: float = 1, hints_used: int = 0, hint_cost: float = 0.5,
             within: float = 0, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> CheckOutcome:
    """Judge `value` (or the result of calling it) against `spec`; no display, no store.

    Example::

        evaluate(SealedSpec.build("m01.x", expect=42), lambda: 6 * 7).passed   # True
    """
    deadline = clock() + within
    while True:
        passed, reason, result = _judge(spec, value)
        if passed or not callable(value) or clock() >= deadline:
            break
        sleep(POLL_INTERVAL_S)
    if not passed and within and callable(value):
        reason += f" (waited {_fmt(within)} s)"
    earned = max(0.0, points - hint_cost * hints_used) if passed else 0.0
    explanation = ""
    if passed:
        try:
            explanation = spec.explanation(result)
        except UnsupportedValue:
            explanation = ""
    answer = None
    if not spec.is_behaviour and result is not _RAISED:
        try:
            answer = normalise(result, spec.how)
        except UnsupportedValue:
            answer = None
    return CheckOutcome(check_id=spec.check_id, module=_module_of(spec.check_id), passed=passed,
                        points=float(earned), max_points=float(points), hints_used=hints_used, reason=reason,
                        hint="" if passed else spec.hint, explanation=explanation,
                        hints_left=max(0, len(spec.extra_hints) - hints_used), hint_cost=float(hint_cost),
                        answer=answer)


def _judge(spec: SealedSpec, value: Any) -> tuple[bool, str, Any]:
    if callable(value):
        try:
            result = value()
            if callable(result) and not isinstance(result, type):   # a released `lambda: some_function`
                result = result()
        except Exception as error:  # noqa: BLE001 - the learner's code failing is a check failure
            return False, f"Your code raised {type(error).__name__}: {error}", _RAISED
    else:
        result = value
    if spec.is_behaviour:
        if _is_true(result):
            return True, "Passed.", result
        if isinstance(result, bool) or type(result).__name__ == "bool_":
            return False, "The condition is not met yet.", result
        return False, f"This check needs True or False; it got {kind_of(result)}.", result
    try:
        if spec.matches(result):
            return True, "Correct.", result
    except UnsupportedValue as error:
        return False, f"Not comparable: {error}.", result
    got = kind_of(result)
    if spec.expected_kind and got != spec.expected_kind:
        return False, f"Your answer is {_article(got)}; this check expects {_article(spec.expected_kind)}.", result
    return False, "Not the expected answer yet.", result


def _article(kind: str) -> str:
    return {"none": "None", "bool": "True/False", "number": "a number", "text": "text", "list": "a list",
            "mapping": "a dict"}.get(kind, f"a {kind}")


# ---- progress store ------------------------------------------------------------------------------
def _store():
    from ecsdojo.progress_store import ProgressStore, default_path

    path = str(default_path())
    store = _stores.get(path)
    if store is None:
        store = _stores[path] = ProgressStore(path)
    return store


def _stored_hints(check_id: str) -> int:
    try:
        results = _store().check_results(_module_of(check_id))
    except Exception:  # noqa: BLE001 - a broken store must not break the check
        return 0
    return max((r.hints_used for r in results if r.check_id == check_id), default=0)


def _record(outcome: CheckOutcome, *, detail: str | None = None) -> str | None:
    """Write one attempt; returns a warning text when the store cannot be written."""
    try:
        _store().record_check(module=outcome.module, check_id=outcome.check_id, points=outcome.points,
                              max_points=outcome.max_points, passed=outcome.passed,
                              hints_used=outcome.hints_used, detail=detail if detail is not None else outcome.reason)
    except Exception as error:  # noqa: BLE001
        return f"(progress not saved: {error})"
    return None


def _tally(module: str, total: float | None) -> tuple[float, float] | None:
    try:
        results = _store().check_results(module)
    except Exception:  # noqa: BLE001
        return None
    earned = sum(r.points for r in results)
    if total is None:
        total = sum(r.max_points for r in results)
    return earned, total


def progress(*, module: str | None = None, widget: bool = False, notebooks: Any = None) -> Any:
    """The learner's per-module table (see `tally.progress`), counting the checks run in this kernel.

    Example::

        progress(module="04")
    """
    return tally.progress(module=module, widget=widget, notebooks=notebooks, session_totals=session_totals)


def session_totals() -> dict[str, float]:
    """Module -> visible points, for modules whose checks ran in this kernel (from the sealed specs)."""
    return {_module_of(check_id): known.spec.module_total for check_id, known in _known.items()
            if known.spec.module_total is not None}


# ---- rendering -----------------------------------------------------------------------------------
def _kernel_display():
    """IPython's display() when running inside a Jupyter kernel, else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    from IPython.display import display

    return display


def _emit(text: str, body_html: str, payload: dict[str, Any] | None = None) -> None:
    display = _kernel_display()
    if display is None:
        print(text)
        return
    bundle: dict[str, Any] = {"text/plain": text, "text/html": body_html}
    if payload is not None and os.environ.get("DOJO_GRADING") != "1":
        bundle[CHECK_MIME] = payload      # when grading, only the grader's session shows results (integrity.py)
    display(bundle, raw=True)


def _render(outcome: CheckOutcome, tally: tuple[float, float] | None, warning: str | None, *,
            hidden_points: float = 0) -> tuple[str, str]:
    mark, word, colour = ("✔", "passed", "#1a7f37") if outcome.passed else ("✘", "not yet", "#b42318")
    head = f"{mark} {outcome.check_id} {word}: {_fmt(outcome.points)}/{_fmt(outcome.max_points)} points"
    lines = [head]
    if not outcome.passed:
        lines.append(outcome.reason)
        if outcome.hint:
            lines.append(f"Hint: {outcome.hint}")
        if outcome.hints_left:
            lines.append(f"More help: hint({outcome.check_id!r}) shows a hint "
                         f"(costs {_fmt(outcome.hint_cost)} points of this check).")
    elif outcome.explanation:
        lines.append(f"Why: {outcome.explanation}")
    if outcome.hints_used and outcome.passed:
        lines.append(f"({outcome.hints_used} hint(s) used: -{_fmt(outcome.hint_cost * outcome.hints_used)} points)")
    if tally is not None:
        line = f"{module_label(outcome.module)}: {_fmt(tally[0])}/{_fmt(tally[1])} points"
        if hidden_points:
            line += f" ({_fmt(hidden_points)} of them in hidden checks, run when your notebook is graded)"
        lines.append(line)
    if warning:
        lines.append(warning)
    e = html.escape
    body = "".join(f"<div>{e(line)}</div>" for line in lines[1:])
    page = (f'<div class="ecsdojo-check" style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
            f'<div style="color:{colour};font-weight:bold">{e(head)}</div>{body}</div>')
    return "\n".join(lines), page


# ---- public API ----------------------------------------------------------------------------------
def check(check_id: str, value: Any = None, /, *, points: float = 1, expect: Any = _MISSING,
          sealed: str | None = None, hint: str = "", extra_hints: Sequence[str] = (), hint_cost: float = 0.5,
          explain: str = "", ignore_case: bool = False, ignore_order: bool = False, digits: int = 6,
          within: float = 0) -> None:
    """Check a value or a behaviour, show the result, record it in the progress store.

    `value` may be a callable (called with no arguments; polled for up to `within` seconds). With
    `expect` (or a `sealed` spec holding one) the value is compared after normalisation (text stripped,
    3 == 3.0, floats rounded to `digits`); without, the value must be True.

    Example::

        check("m04.heal-count", heal_count, expect=3, points=2, hint="Count the replacement tasks.")
    """
    if sealed is not None:
        try:
            spec = SealedSpec.decode(sealed)
        except BadSealedSpec as error:
            _emit(f"✘ {check_id}: {error}", f"<div>✘ {html.escape(check_id)}: {html.escape(str(error))}</div>")
            return
    else:
        spec = SealedSpec.build(check_id, expect=None if expect is _MISSING else expect,
                                has_expect=expect is not _MISSING,
                                how=Normalisation(ignore_case, ignore_order, digits), hint=hint,
                                extra_hints=tuple(extra_hints), explain=explain)
    known = _known.get(check_id)
    if known is None or known.spec != spec:
        known = _known[check_id] = _Known(spec, float(points), float(hint_cost),
                                          known.hints_used if known else 0)
    known.hints_used = max(known.hints_used, _stored_hints(check_id))
    outcome = evaluate(spec, value, points=points, hints_used=known.hints_used, hint_cost=hint_cost, within=within)
    warning = _record(outcome)
    if outcome.passed:
        if check_id in _last_failed:
            _last_failed.remove(check_id)
    else:
        _last_failed.append(check_id)
    text, page = _render(outcome, _tally(outcome.module, spec.module_total), warning,
                         hidden_points=spec.hidden_points)
    _emit(text, page, outcome.payload())


def _known_from_release(check_id: str) -> _Known | None:
    """What hint() needs for a check that has not run in this kernel yet, from the released notebook's
    ``metadata.ecsdojo.hints`` (the same sealed text its check cell holds)."""
    from ecsdojo.grading.tally import default_folders, read_catalogue

    try:
        info = read_catalogue(default_folders()).get(_module_of(check_id))
        entry = info.hints.get(check_id) if info is not None else None
        if entry is None:
            return None
        spec = SealedSpec.decode(str(entry["sealed"]))
        known = _Known(spec, float(entry.get("points", 1)), float(entry.get("hint_cost", 0.5)))
    except (BadSealedSpec, KeyError, TypeError, ValueError, OSError):
        return None
    _known[check_id] = known
    return known


def hint(check_id: str | None = None) -> None:
    """Show the next extra hint for a check (default: the last failed one); each costs points.

    Example::

        hint("m04.heal-count")
    """
    if check_id is None:
        if not _last_failed:
            _emit("No failed check yet: run a check first.", "<div>No failed check yet: run a check first.</div>")
            return
        check_id = _last_failed[-1]
    known = _known.get(check_id) or _known_from_release(check_id)
    if known is None:
        text = (f"No hints found for {check_id}: run its check cell once, or check the id "
                f"(hints come from the course's released notebooks).")
        _emit(text, f"<div>{html.escape(text)}</div>")
        return
    used = max(known.hints_used, _stored_hints(check_id))
    if used >= len(known.spec.extra_hints):
        text = f"No more hints for {check_id}." if known.spec.extra_hints else f"{check_id} has no extra hints."
        if known.spec.hint:
            text += f" Its hint: {known.spec.hint}"
        _emit(text, f"<div>{html.escape(text)}</div>")
        return
    known.hints_used = used + 1
    _record(CheckOutcome(check_id, _module_of(check_id), False, 0.0, known.points, known.hints_used, "hint taken"),
            detail="hint taken")
    text = (f"Hint {known.hints_used}/{len(known.spec.extra_hints)} for {check_id} "
            f"(costs {_fmt(known.hint_cost)} points): {known.spec.extra_hints[used]}")
    _emit(text, f'<div class="ecsdojo-hint" style="border-left:4px solid #9a6700;padding:4px 10px">'
                f'{html.escape(text)}</div>')
