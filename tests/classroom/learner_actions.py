"""What a learner does, done through their own server's APIs (never by driving JupyterLab's cells in a browser:
under load a browser's Shift+Enter can be lost, and JupyterLab's autosave would then change the notebook).

- ``save_answers``: the learner's Jupyter server writes their notebook (Contents API, as their own process), with
  the solution code in the chosen exercise cells;
- ``run_as_learner``: a notebook or a few lines executed headless as the learner, in their server's environment
  (their engine, their progress store), the output written elsewhere so their notebook stays as it is.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from tests.conftest import ROOT

MODULE_00 = "ecs-dojo/00_start_here.ipynb"
ALL_EXERCISES = ("m00-ex1", "m00-ex2", "m00-ex3", "m00-ex4")


def contents(hub, name: str, path: str, *, method: str = "GET", body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{hub.settings.url}/user/{name}/api/contents/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {hub.settings.api_token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def save_answers(hub, name: str, exercises: tuple[str, ...]) -> None:
    """The learner fills in ``exercises`` of module 00 with the solution and saves (through their server)."""
    from ecsdojo.grading.grade import answer_key

    solved = {cell.id: cell.source for cell in answer_key(ROOT / "solutions" / "00_start_here.ipynb").cells}
    notebook = contents(hub, name, MODULE_00)["content"]
    for cell in notebook["cells"]:
        if cell.get("id") in exercises:
            cell["source"] = solved[cell["id"]]
    contents(hub, name, MODULE_00, method="PUT", body={"type": "notebook", "format": "json", "content": notebook})


def run_as_learner(hub, name: str, arguments: list[str], *, timeout: float = 600) -> subprocess.CompletedProcess:
    from ecsdojo.classroom.accounts import find_account
    from tests.classroom.test_hub import server_environment

    account = find_account(name)
    _, env = server_environment(hub, name)
    return subprocess.run(arguments, user=account.uid, group=account.gid, extra_groups=[], env=env,
                          cwd=account.home, capture_output=True, text=True, timeout=timeout)


def execute_module_00(hub, name: str) -> subprocess.CompletedProcess:
    """Run the learner's saved module 00 headless as them; the executed copy goes to /tmp, theirs is untouched."""
    from ecsdojo.classroom.accounts import find_account

    account = find_account(name)
    return run_as_learner(hub, name, [
        "jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors", "--ExecutePreprocessor.timeout=300",
        "--output-dir", f"/tmp/dojo-{name}", "--output", "executed-00",
        str(account.home / "ecs-dojo" / "00_start_here.ipynb")])


def record_checks(hub, name: str, outcomes: dict[str, bool]) -> None:
    """The learner runs module 00's check calls (``ecsdojo.check``, which writes their progress store) with a right
    (True) or a wrong (False) value each, as their own process in their server's environment."""
    from ecsdojo.grading.grade import load_keys

    calls = {call.check_id: call for call in load_keys(ROOT / "solutions")["00"].checks}
    lines = ["from ecsdojo import check"]
    for check_id, right in outcomes.items():
        call = calls[check_id]
        if call.has_expect:
            value = call.expect if right else "not it"
            lines.append(f"check({check_id!r}, {value!r}, expect={call.expect!r}, points={call.points!r}, "
                         f"hint={call.hint!r})")
        else:
            lines.append(f"check({check_id!r}, {right!r}, points={call.points!r}, hint={call.hint!r})")
    done = run_as_learner(hub, name, ["python", "-c", "\n".join(lines)], timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]


def visible_checks_00() -> list[str]:
    from ecsdojo.grading.grade import load_keys

    return [call.check_id for call in load_keys(ROOT / "solutions")["00"].checks if not call.hidden]


def home_file(name: str, relative: str) -> Path:
    from ecsdojo.classroom.accounts import find_account

    return find_account(name).home / relative
