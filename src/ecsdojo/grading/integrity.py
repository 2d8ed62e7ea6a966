"""Grading integrity: what a submission cannot change about its score, and the tampering it is caught at.

A submission's cells run in the same Python kernel as the checks that score them, so in-kernel code
can never be made tamper-proof. What `dojo grade` does instead (threat model: docs/authoring.md §10):

* **Value checks are judged outside the kernel.** The check cell only reports the learner's value,
  normalised; the grader compares it with the expected value it read from the solutions notebook.
  A forged "passed" is ignored: to pass, the kernel must report the right answer.
* **The check code comes from a namespace the submission cannot have replaced.** Before any learner
  cell runs, a prelude cell arms a :class:`GradingSession` under a per-run random name, capturing the
  genuine check functions; the grader's check cells call ``<session>.check(...)``, never the
  notebook's ``check``. Every result it displays carries a per-run nonce the grader checks.
* **Tampering that cannot be prevented is detected**, and the submission is flagged ``tampered``
  (naming the cell), never silently scored:

  - statically, before running (:func:`scan_source`): a learner cell that rebinds ``check`` at top
    level, patches ``ecsdojo`` or ``sys.modules``, reaches into function internals,
    writes the check MIME type, reaches for the grader's session or registers an IPython hook;
  - at run time, by the session before each check (``verify``): an ``ecsdojo.grading`` function,
    class method or module replaced, ``IPython.display.display`` replaced, a new IPython event hook;
  - after the run, by the grader: a check result without the nonce, or one shown by a learner cell.

Example::

    [finding.what for finding in scan_source("def check(*a, **k):\\n    pass")]
    # ['rebinds `check` (the grading function)']
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "GradingSession", "arm", "scan_source", "SESSION_PREFIX", "PROTECTED_NAMES"]

SESSION_PREFIX = "__dojo_grading_"
# Names whose top-level rebinding is reported. Only `check`: it is what a forgery replaces, while
# `hint = "..."` or `progress = 0.5` are ordinary variable names that change nothing in grading.
PROTECTED_NAMES = ("check",)
EXPORTED_NAMES = ("check", "hint", "progress")
GENUINE_SOURCES = ("ecsdojo", "ecsdojo.grading", "ecsdojo.grading.checks")
WATCHED_MODULES = ("ecsdojo", "ecsdojo.grading", "ecsdojo.grading.checks", "ecsdojo.grading.seal",
                   "ecsdojo.grading.tally", "ecsdojo.grading.integrity")
_GUARDED_ROOTS = ("ecsdojo", "sys.modules", "builtins", "__builtins__", "IPython")
_INTERNALS = ("__code__", "__globals__", "__closure__", "__defaults__", "__kwdefaults__")
_HOOK_CALLS = ("register", "register_post_execute", "set_custom_exc", "register_magic_function")
_MIME_MARK = "vnd.ecsdojo"
_HOOK_EVENTS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell")
_TRUSTED_HOOK_MODULES = ("IPython.", "ipykernel.", "matplotlib_inline.", "matplotlib.", "ipywidgets.")


# ---- grader side: reading a learner's cell -------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One sign of tampering in a learner's cell: the line (1-based, None when unknown) and what."""

    line: int | None
    what: str


def _python_of(source: str) -> str:
    """The cell as plain Python (IPython magics and shell escapes turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:                     # no IPython: the magics stay and the cell may not parse
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform is read as it is
        return source


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001
        return ""


def _guarded(text: str) -> bool:
    root = text.split("[", 1)[0]
    return any(root == name or root.startswith(name + ".") for name in _GUARDED_ROOTS) or \
        any(root == name or root.startswith(name + ".") for name in PROTECTED_NAMES)


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.depth = 0                       # > 0 inside a function or lambda body (a local scope)

    def add(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", None), what))

    # bindings of the protected names at the notebook's top level
    def _bind(self, node: ast.AST, name: str) -> None:
        if self.depth == 0 and name in PROTECTED_NAMES:
            self.add(node, f"rebinds `{name}` (the grading function)")

    def _targets(self, target: ast.AST) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self._bind(node, node.id)
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                text = _dotted(node.value)
                if _guarded(text):
                    self.add(node, f"changes `{_dotted(node)}`")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._targets(target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._targets(node.target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._targets(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._targets(target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._targets(node.target)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._targets(item.optional_vars)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._targets(node.target)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            if name in PROTECTED_NAMES:
                self.add(node, f"declares `global {name}` (rebinds the grading function)")

    def _scope(self, node: ast.AST, name: str | None) -> None:
        if name is not None:
            self._bind(node, name)
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        self.depth += 1
        for child in ast.iter_child_nodes(node):
            if child not in getattr(node, "decorator_list", []):
                self.visit(child)
        self.depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scope(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scope(node, node.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node, node.name)
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scope(node, None)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(node, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name
            genuine = node.module in GENUINE_SOURCES and node.level == 0 and alias.name == bound
            if not genuine:
                self._bind(node, bound)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _INTERNALS:
            self.add(node, f"reaches into function internals (`{_dotted(node)}`)")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith(SESSION_PREFIX):
            self.add(node, "reaches for the grader's session")

    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        if func in ("setattr", "delattr", "vars") and node.args and _guarded(_dotted(node.args[0])):
            self.add(node, f"calls `{func}` on `{_dotted(node.args[0])}`")
        elif func.startswith("sys.modules.") or func.startswith("importlib.reload"):
            self.add(node, f"calls `{func}`")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _HOOK_CALLS and (
                "events" in func or "get_ipython" in func or node.func.attr != "register"):
            self.add(node, f"registers an IPython hook (`{func}`), which would run inside the check cells")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _MIME_MARK in node.value:
            self.add(node, "writes the check results' MIME type")


def scan_source(source: str) -> list[Finding]:
    """Signs of tampering in one learner code cell (empty for ordinary code).

    Runs in the grader, before the submission runs. Reading code cannot catch everything (code can be
    built from strings at run time); the session's run-time checks and the nonce cover more.
    """
    try:
        tree = ast.parse(_python_of(source))
    except (SyntaxError, ValueError):
        return [Finding(None, "writes the check results' MIME type")] if _MIME_MARK in source else []
    scanner = _Scanner()
    scanner.visit(tree)
    unique: dict[tuple[int | None, str], Finding] = {}
    for finding in scanner.findings:
        unique.setdefault((finding.line, finding.what), finding)
    return list(unique.values())


# ---- kernel side: the session the grader's check cells call -------------------------------------
def _functions_of(namespace: dict[str, Any], prefix: str) -> dict[str, tuple[Any, Any]]:
    found: dict[str, tuple[Any, Any]] = {}
    for name, value in list(namespace.items()):
        if callable(value) and not isinstance(value, type(ast)):
            found[prefix + name] = (value, getattr(value, "__code__", None))
            if isinstance(value, type) and getattr(value, "__module__", "").startswith("ecsdojo"):
                for attr, member in list(vars(value).items()):
                    inner = getattr(member, "__func__", member)
                    if callable(inner):
                        found[f"{prefix}{name}.{attr}"] = (member, getattr(inner, "__code__", None))
    return found


class GradingSession:
    """What the grader's check cells call: ``<session>.check(id, value, points=..., sealed=...)``.

    Built by :func:`arm` in the prelude cell, before any learner cell has run; it holds references to
    the genuine functions taken then, and a nonce that every result it displays carries.
    """

    __slots__ = ("check", "verify")

    def __init__(self, check: Callable[..., None], verify: Callable[[], list[str]]) -> None:
        self.check = check
        self.verify = verify


def arm(nonce: str) -> GradingSession:
    """Capture the genuine check machinery now; return the session the check cells will call."""
    import sys

    import IPython
    from IPython.display import display

    import ecsdojo  # noqa: F401 - loads the package the snapshot covers
    from ecsdojo.grading import checks, seal

    package = sys.modules["ecsdojo"]
    exported = {name: getattr(package, name) for name in EXPORTED_NAMES}
    modules = {name: sys.modules.get(name) for name in WATCHED_MODULES}
    snapshot: dict[str, tuple[Any, Any]] = {}
    for name, module in modules.items():
        if module is not None:
            snapshot.update(_functions_of(vars(module), f"{name}."))
    display_module = sys.modules["IPython.display"]
    shell = IPython.get_ipython()
    events = getattr(shell, "events", None)
    hooks_before = {event: list(events.callbacks.get(event, [])) for event in _HOOK_EVENTS} if events else {}
    evaluate, decode = checks.evaluate, seal.SealedSpec.decode
    stored_hints, mime, bad_spec = checks._stored_hints, checks.CHECK_MIME, seal.BadSealedSpec
    dumps = json.dumps

    def verify() -> list[str]:
        found = []
        for name, module in modules.items():
            if module is not None and sys.modules.get(name) is not module:
                found.append(f"module {name} was replaced in sys.modules")
        for name, (value, code) in snapshot.items():
            current = _lookup(modules, name)
            if current is not value:
                found.append(f"{name} was replaced")
            elif code is not None and getattr(getattr(value, "__func__", value), "__code__", None) is not code:
                found.append(f"{name}'s code was replaced")
        for name, genuine in exported.items():          # `from ecsdojo import check` is resolved lazily
            if vars(package).get(name, genuine) is not genuine:
                found.append(f"ecsdojo.{name} was replaced")
        if getattr(display_module, "display", None) is not display:
            found.append("IPython.display.display was replaced")
        for event, before in hooks_before.items():
            for callback in events.callbacks.get(event, []):
                origin = getattr(callback, "__module__", "") or ""
                if callback not in before and not origin.startswith(_TRUSTED_HOOK_MODULES):
                    found.append(f"an IPython {event} hook was registered ({getattr(callback, '__name__', '?')})")
        return found

    def check(check_id: str, value: Any = None, /, *, points: float = 1, sealed: str | None = None,
              hint_cost: float = 0.5, within: float = 0, **_authored: Any) -> None:
        tampering = verify()
        try:
            spec = decode(sealed)
        except bad_spec as error:
            payload = {"check_id": check_id, "passed": False, "points": 0.0, "max_points": float(points),
                       "reason": str(error), "nonce": nonce, "answer": None, "tampering": tampering}
            display({"text/plain": f"✘ {check_id}: {error}", mime: payload}, raw=True)
            return
        outcome = evaluate(spec, value, points=points, hints_used=stored_hints(check_id), hint_cost=hint_cost,
                           within=within)
        payload = {**outcome.payload(), "nonce": nonce, "answer": outcome.answer, "tampering": tampering}
        mark = "✔" if outcome.passed else "✘"
        text = f"{mark} {check_id}: {outcome.reason}"
        try:
            dumps(payload)
        except (TypeError, ValueError):
            payload["answer"] = None
        display({"text/plain": text, mime: payload}, raw=True)

    return GradingSession(check, verify)


def _lookup(modules: dict[str, Any], name: str) -> Any:
    """The live object behind a snapshot name such as ``ecsdojo.grading.seal.SealedSpec.matches``."""
    for module_name in sorted(modules, key=len, reverse=True):
        if name.startswith(module_name + "."):
            module = modules[module_name]
            rest = name[len(module_name) + 1:].split(".")
            current = vars(module).get(rest[0], _GONE)
            for part in rest[1:]:
                current = vars(current).get(part, _GONE) if current is not _GONE else _GONE
            return current
    return _GONE


_GONE = object()
