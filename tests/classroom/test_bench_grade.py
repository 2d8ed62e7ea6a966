"""Does `dojo bench classroom-grade` print one JSON line with the dashboard's refresh figure?

(The grading half runs module 00 with real containers for minutes: it is run by hand, figures in the report;
here only the dashboard half, which needs no engine.)"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_the_dashboard_half_prints_one_json_line():
    done = subprocess.run([sys.executable, "-m", "ecsdojo", "bench", "classroom-grade", "--dashboard-only",
                           "--learners", "12", "--rounds", "2"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["bench"] == "classroom-grade" and figures["dashboard_learners"] == 12
    assert 0 < figures["dashboard_refresh_s"] <= figures["dashboard_refresh_max_s"]
    assert "grade_wall_s" not in figures              # skipped, never made up
