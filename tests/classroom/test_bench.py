"""Does the classroom bench count a learner's processes by uid and subordinate range, and no one else's?"""

from __future__ import annotations

import os
import subprocess
import sys

from ecsdojo.classroom.bench import _percentile, learner_usage


def test_usage_counts_every_process_of_the_learner_uid():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        usage = learner_usage({"me": (os.getuid(), (0, 0))})["me"]
    finally:
        child.kill()
        child.wait()
    assert usage.processes >= 2                        # this test and its child at least
    assert usage.rss_bytes > 10 * 2**20
    assert usage.cpu_s > 0


def test_usage_of_an_unused_uid_range_is_zero():
    usage = learner_usage({"nobody-here": (2**31 - 10, (2**31 - 5, 2**31 - 1))})["nobody-here"]
    assert (usage.processes, usage.rss_bytes) == (0, 0)


def test_percentiles_interpolate_like_numpy_linear():
    assert _percentile([5.0], 0.95) == 5.0
    assert _percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert abs(_percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.95) - 4.8) < 1e-9
