"""Does a quiz work for a learner in a real browser? JupyterLab on 127.0.0.1, headless Chromium via Playwright.

The test starts JupyterLab (as `dojo lab` does) on a temporary notebook that calls
``quiz("ecs-vs-kubernetes", n=1, seed=...)``, runs it from the Run menu, picks the right answer, presses
Submit, reads the rendered feedback, then reads the answer back from the progress store at the
``DOJO_HOME`` the server was given. A screenshot goes to the test's tmp folder and to
``test-output/browser-quiz.png`` (git-ignored).

Needs Debian's ``/usr/bin/chromium`` and the ``playwright`` package (no browser is ever downloaded).
Skipped without them, unless ``DOJO_REQUIRE_DOCKER=1`` (CI), where their absence fails the test.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from ecsdojo.lab import free_port, lab_launch
from ecsdojo.progress_store import ProgressStore
from ecsdojo.quiz.bank import find_bank, matching_questions
from tests.conftest import ROOT, docker_required, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
BANK = "ecs-vs-kubernetes"
SCREENSHOT_COPY = ROOT / "test-output" / "browser-quiz.png"
# Generous timeouts: on an idle machine the whole test takes about 20 s, but CI machines run other tests
# beside it, and a kernel can take a minute to start under load.
UI_TIMEOUT_MS = 90_000
KERNEL_TIMEOUT_MS = 150_000
FAILURE_SCREENSHOT = ROOT / "test-output" / "browser-quiz-failure.png"


def browser_or_skip():
    """playwright.sync_api, or a skip (a failure under DOJO_REQUIRE_DOCKER=1) naming what is missing."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian package `chromium`)")
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
        missing.append("the `playwright` Python package (pip install -e '.[test]')")
    if missing:
        message = "the real-browser test needs " + " and ".join(missing)
        if docker_required():
            pytest.fail(message + " (DOJO_REQUIRE_DOCKER=1)")
        pytest.skip(message)
    return sync_api


def single_choice_seed(bank: str) -> tuple[int, object]:
    """The first seed whose one-question quiz is a single-choice question (radio buttons are easy to click)."""
    questions = find_bank(bank).questions
    for seed in range(200):
        chosen = matching_questions(questions, n=1, seed=seed)
        if chosen and chosen[0].type == "single":
            return seed, chosen[0]
    pytest.fail(f"no seed below 200 gives a single-choice first question in bank {bank!r}")


def quiz_notebook(path: Path, *, seed: int) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Browser quiz check"),
                nbformat.v4.new_code_cell(f"from ecsdojo import quiz\nq = quiz({BANK!r}, n=1, seed={seed})")]
    nbformat.write(nb, path)


# User settings for the temporary JupyterLab: start the notebook's kernel without asking, no news or
# update pop-ups over the page.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    # the terminal's text as DOM (an accessibility tree) beside the canvas, so the test can read it
    "@jupyterlab/terminal-extension/plugin.jupyterlab-settings": {"screenReaderMode": True},
}


def lab_environment(tmp_path: Path) -> dict[str, str]:
    """Everything JupyterLab and the kernel write goes under tmp_path."""
    settings = tmp_path / "jupyterlab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    return {**os.environ,
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jupyter-workspaces"),
            "IPYTHONDIR": str(tmp_path / "ipython"),
            "DOJO_HOME": str(tmp_path / "dojo-home"),
            "DOJO_QUIZZES": str(ROOT / "quizzes")}


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def lab_status(port: int, token: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def open_notebook(page, url: str, *, reload: bool = False, attempts: int = 3) -> None:
    """Load JupyterLab until the notebook shows with its kernel idle and no dialog in the way. On a loaded
    machine a stylesheet can fail ("Error Loading Theme"): the page is loaded again then. A kernel chooser
    (should the settings not apply) is answered with the notebook's own kernel."""
    ready = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    dialog = page.locator(".jp-Dialog")
    problems = []
    for attempt in range(attempts):
        if attempt == 0 and not reload:
            page.goto(url)
        else:
            page.reload()
        ready.or_(dialog).first.wait_for(timeout=KERNEL_TIMEOUT_MS)
        if not dialog.count():
            return
        text = " ".join(dialog.first.inner_text().split())
        if "Select Kernel" in text:
            dialog.locator(".jp-mod-accept").first.click()
            ready.first.wait_for(timeout=KERNEL_TIMEOUT_MS)
            return
        problems.append(text)
    raise AssertionError(f"JupyterLab did not load cleanly in {attempts} attempts: {problems}")


def run_until_the_quiz_renders(page, url: str, *, attempts: int = 3) -> None:
    """Run → Run All Cells until the quiz's radio buttons show. When nothing renders, or JupyterLab says
    "Error displaying widget: model not found", the page is reloaded first — what a learner would do. (Seen
    on loaded machines: jupyter_server answers the first kernel websocket with a 500 while the kernel is
    still starting, and the widget manager of that page never hears from the kernel.)"""
    rendered = page.locator(".widget-radio-box label")
    broken = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    problems = []
    for attempt in range(attempts):
        if attempt:
            open_notebook(page, url, reload=True)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            rendered.or_(broken).first.wait_for(timeout=UI_TIMEOUT_MS // attempts)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError
            problems.append("nothing rendered")
            continue
        if rendered.count():
            return
        problems.append("Error displaying widget")
    raise AssertionError(f"the quiz widget did not render in {attempts} attempts: {problems}")


def answer_in_browser(page, url: str, question, right_text: str) -> None:
    """Open the notebook, Run → Run All Cells, pick the right option, Submit, and read the feedback."""
    page.on("dialog", lambda dialog: dialog.accept())      # "leave the page?" when reloading
    open_notebook(page, url)
    run_until_the_quiz_renders(page, url)

    # The quiz widget shows one question with radio buttons and a Submit button.
    options = page.locator(".widget-radio-box label")
    assert options.count() == len(question.options)
    page.locator(".widget-radio-box label", has_text=right_text).click()
    page.locator("button.jupyter-button", has_text="Submit").click()

    feedback = page.locator(".widget-html-content", has_text="Correct.")
    feedback.first.wait_for()
    page.locator(".widget-html-content", has_text="Score: 1 / 1").first.wait_for()
    text = feedback.first.inner_text()
    assert text.startswith("Correct."), text
    assert "Why:" in text, text


@pytest.mark.slow
def test_a_learner_answers_a_quiz_in_jupyterlab_and_the_answer_is_saved(tmp_path):
    sync_api = browser_or_skip()
    seed, question = single_choice_seed(BANK)
    right = next(option for option in question.options if option.correct)
    workdir = tmp_path / "work"
    workdir.mkdir()
    quiz_notebook(workdir / "quiz.ipynb", seed=seed)
    env = lab_environment(tmp_path)

    token = secrets.token_hex(16)
    port = free_port(0)
    launch = lab_launch(port=port, token=token, root=workdir, open_path="quiz.ipynb", home=Path(env["DOJO_HOME"]),
                        base_env=env)
    url = launch.url
    log = (tmp_path / "jupyterlab.log").open("w")
    lab = subprocess.Popen(launch.command, cwd=workdir, env=launch.env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    screenshot = tmp_path / "browser-quiz.png"
    try:
        wait_for(lambda: lab.poll() is not None or lab_status(port, token), timeout=60, interval=0.3,
                 message="JupyterLab's /api/status")
        assert lab.poll() is None, f"JupyterLab exited early; see {tmp_path / 'jupyterlab.log'}"
        assert url.startswith("http://127.0.0.1:")

        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.set_default_timeout(UI_TIMEOUT_MS)
                try:
                    answer_in_browser(page, url, question, right.text)
                    page.screenshot(path=str(screenshot), full_page=True)
                except Exception as error:
                    FAILURE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(FAILURE_SCREENSHOT), full_page=True)
                    log.flush()
                    tail = "\n".join((tmp_path / "jupyterlab.log").read_text().splitlines()[-15:])
                    raise AssertionError(f"{error}\nscreenshot: {FAILURE_SCREENSHOT}\n"
                                         f"JupyterLab's log ends with:\n{tail}") from error
            finally:
                browser.close()

        store = ProgressStore(Path(env["DOJO_HOME"]) / "progress.sqlite")
        saved = wait_for(lambda: store.latest_answer(BANK, question.id), timeout=10,
                         message="the answer in the progress store")
        assert saved.answer == right.text
        assert saved.correct is True or saved.correct == 1
    finally:
        stop_group(lab)
        log.close()

    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    assert screenshot.stat().st_size > 10_000


@pytest.mark.slow
def test_a_terminal_opened_from_the_courses_jupyterlab_has_the_courses_dojo_and_aws(tmp_path):
    """File → New → Terminal in the course's JupyterLab: `dojo` and `aws` are the course's (its venv's)."""
    sync_api = browser_or_skip()
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = lab_environment(tmp_path)
    env["PATH"] = "/usr/bin:/bin"          # as on a machine where the venv was never activated
    token = secrets.token_hex(16)
    port = free_port(0)
    launch = lab_launch(port=port, token=token, root=workdir, home=Path(env["DOJO_HOME"]), base_env=env)
    log = (tmp_path / "jupyterlab.log").open("w")
    lab = subprocess.Popen(launch.command, cwd=workdir, env=launch.env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    bin_dir = Path(sys.executable).parent
    try:
        wait_for(lambda: lab.poll() is not None or lab_status(port, token), timeout=60, interval=0.3,
                 message="JupyterLab's /api/status")
        assert lab.poll() is None, f"JupyterLab exited early; see {tmp_path / 'jupyterlab.log'}"
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(UI_TIMEOUT_MS)
                page.goto(launch.url)
                page.locator(".lm-MenuBar-item", has_text="File").first.click()
                page.locator(".lm-Menu-item", has_text="New").first.hover()
                page.locator(".lm-Menu-item[data-command='terminal:create-new']").first.click()
                terminal = page.locator(".jp-Terminal").first
                terminal.wait_for()
                screen = terminal.locator(".xterm-accessibility-tree, .xterm-rows").first
                wait_for(lambda: "ECS Dojo terminal" in screen.inner_text(), timeout=60, interval=0.5,
                         message="the course's terminal greeting")
                terminal.click()
                page.keyboard.type("command -v dojo aws; dojo --version; aws --version\n")

                def shown():
                    text = " ".join(screen.inner_text().split())
                    return text if "ecsdojo 0" in text and "aws-cli/" in text else None

                text = wait_for(shown, timeout=60, interval=0.5, message="dojo and aws to answer in the terminal")
                page.screenshot(path=str(tmp_path / "terminal.png"))
            finally:
                browser.close()
        assert str(bin_dir / "dojo") in text and str(bin_dir / "aws") in text, text
    finally:
        stop_group(lab)
        log.close()
