"""Does the class dashboard, a JupyterHub service, show the instructor who is where, live, and refuse learners?

In a real browser (Playwright + Debian's Chromium) the instructor logs in at the hub and opens
HUB/services/dojo-dashboard/. Three learners: one passed every check of module 00, one half, one nothing (no store).
The heat map and tables show those states; then the half learner passes one more check and the page shows it
without a reload; a learner who logs in and opens the dashboard is refused. While the page polls, a learner writes
hundreds of results to their store: none is lost and their store's files stay theirs.

Learner actions run as the learners' own processes with their server's environment (``ecsdojo.check`` writing their
store), never by driving JupyterLab in the browser.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.classroom.conftest import INSTRUCTOR, INSTRUCTOR_PASSWORD, LEARNERS
from tests.classroom.learner_actions import record_checks, run_as_learner, visible_checks_00
from tests.conftest import ROOT
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS, browser_or_skip

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SCREENSHOT = ROOT / "test-output" / "classroom-dashboard.png"


def login(page, hub, name, password, *, next_path="/services/dojo-dashboard/"):
    page.goto(f"{hub.settings.url}/hub/login?next={next_path}")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")


def cell(page, learner, check_id):
    return page.locator(f"#heat tr[data-learner='{learner}'] td[data-check='{check_id}']")


def store_of(name):
    from ecsdojo.classroom.accounts import find_account

    return find_account(name).home / ".ecsdojo" / "progress.sqlite"


def count_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM check_attempts").fetchone()[0]
    finally:
        db.close()


def failure_detail(path, check_id):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT detail FROM check_attempts WHERE check_id = ? AND passed = 0",
                          (check_id,)).fetchone()[0]
    finally:
        db.close()


def test_the_instructor_sees_the_class_live_and_a_learner_is_refused(classroom):
    sync_api = browser_or_skip()
    room, hub = classroom
    complete, half, nothing = LEARNERS
    for name in LEARNERS:
        hub.client.spawn(name)
    for name in LEARNERS:                      # a fresh start for this test: stores moved aside (root's copy)
        store = store_of(name)
        for suffix in ("", "-wal", "-shm"):
            path = store.with_name(store.name + suffix)
            if path.exists():
                path.rename(room.state_dir / f"{name}-{path.name}.before-dashboard-test")
    checks = visible_checks_00()
    half_done = checks[: len(checks) // 2]
    record_checks(hub, complete, {check_id: True for check_id in checks})
    record_checks(hub, half, {check_id: check_id in half_done for check_id in checks})
    next_check = checks[len(checks) // 2]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            login(page, hub, INSTRUCTOR, INSTRUCTOR_PASSWORD)
            page.wait_for_url("**/services/dojo-dashboard/**")
            cell(page, complete, checks[0]).wait_for()
            assert [page.locator(f"#heat tr[data-learner='{name}'] th").inner_text() for name in LEARNERS] == list(
                LEARNERS)
            for check_id in checks:
                assert cell(page, complete, check_id).get_attribute("data-state") == "pass"
                assert cell(page, half, check_id).get_attribute("data-state") == (
                    "pass" if check_id in half_done else "fail")
                assert cell(page, nothing, check_id).get_attribute("data-state") == "none"
            learners = page.locator("#learners")
            assert "not started" in learners.locator(f"tr[data-learner='{nothing}']").inner_text()
            assert f"{len(checks)}/{len(checks)} checks passed" in learners.locator(
                f"tr[data-learner='{complete}']").inner_text()
            assert f"{len(half_done)}/{len(checks)} checks passed" in learners.locator(
                f"tr[data-learner='{half}']").inner_text()
            exercise = page.locator(f"#exercises tr[data-check='{next_check}']")
            assert exercise.get_attribute("data-passed") == "1"
            detail = failure_detail(store_of(half), next_check)   # what the check recorded for the wrong value
            assert f"{detail} (1)" in exercise.inner_text()      # the most common failure of that check

            page.evaluate("window.__notReloaded = true")
            record_checks(hub, half, {next_check: True})          # the half learner passes one more check
            page.wait_for_selector(f"#heat tr[data-learner='{half}'] td[data-check='{next_check}'][data-state='pass']")
            page.wait_for_selector(f"#exercises tr[data-check='{next_check}'][data-passed='2']")
            assert page.evaluate("window.__notReloaded") is True

            # an interview round for the class: the learner's own server environment finds it (same questions)
            from ecsdojo.classroom.interview import open_round

            record = open_round(room.state_dir, minutes=10, questions=2, seed=4)
            answered = run_as_learner(hub, half, ["python", "-c", (
                "from ecsdojo.classroom.interview import interview_round\n"
                "from ecsdojo.progress_store import ProgressStore\n"
                "quiz = interview_round()\n"
                "q = quiz.views[0].question\n"
                "ProgressStore().record_answer(bank=q.bank, question_id=q.id, answer='my answer', correct=True,"
                " score=0.8)\n"
                "print(q.bank, q.id)\n")], timeout=180)
            assert answered.returncode == 0, answered.stderr[-2000:]
            first = record["questions"][0]
            assert answered.stdout.split() == [first["bank"], first["id"]]
            page.wait_for_selector(f"table[data-round='{record['id']}'] tr[data-learner='{half}'][data-answered='1']")
            assert page.locator(f"table[data-round='{record['id']}'] tr[data-learner='{complete}']").get_attribute(
                "data-answered") == "0"
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # while the page keeps polling, a learner writes many results: none is lost, their files stay theirs
            before = count_rows(store_of(complete))
            writes = 400
            done = run_as_learner(hub, complete, ["python", "-c", (
                "from ecsdojo.progress_store import ProgressStore\n"
                "s = ProgressStore()\n"
                f"for i in range({writes}):\n"
                "    s.record_check(module='00', check_id='m00.fake-aws', points=1, max_points=1, passed=True,"
                " detail=str(i))\n")], timeout=300)
            assert done.returncode == 0, done.stderr[-2000:]
            assert count_rows(store_of(complete)) == before + writes
            assert "refresh failed" not in page.locator("#updated").inner_text()
            uid = os.stat(store_of(complete).parent).st_uid
            for path in store_of(complete).parent.glob("progress.sqlite*"):
                assert path.stat().st_uid == uid, f"{path} is not the learner's any more"

            learner_page = browser.new_context().new_page()
            learner_page.set_default_timeout(UI_TIMEOUT_MS)
            responses = []
            learner_page.on("response", lambda response: responses.append((response.url, response.status)))
            login(learner_page, hub, half, room.credentials[half])
            learner_page.wait_for_load_state("networkidle")
            learner_page.goto(f"{hub.settings.url}/services/dojo-dashboard/")
            learner_page.wait_for_load_state("networkidle")
            assert any(status == 403 for _, status in responses), responses
            assert learner_page.locator("#heat").count() == 0
            assert "403" in learner_page.content()
        except Exception:
            page.screenshot(path=str(SCREENSHOT.with_name("classroom-dashboard-failure.png")), full_page=True)
            raise
        finally:
            browser.close()
