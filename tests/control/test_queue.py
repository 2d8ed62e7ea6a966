"""The work queue: dirty keys, one worker per key, re-processing, delayed keys, rate-limited requeue."""

from __future__ import annotations

import time

from ecsdojo.control.queue import WorkQueue


def test_a_key_added_twice_is_processed_once():
    queue = WorkQueue()
    queue.add("a")
    queue.add("a")
    assert queue.get(timeout=0.1) == "a"
    queue.done("a")
    assert queue.get(timeout=0.05) is None


def test_a_key_dirtied_while_processing_comes_back_after_done():
    queue = WorkQueue()
    queue.add("a")
    key = queue.get(timeout=0.1)
    queue.add("a")                      # an event arrives while a worker holds the key
    assert queue.get(timeout=0.05) is None, "the same key must not go to a second worker"
    queue.done(key)
    assert queue.get(timeout=0.1) == "a"


def test_add_after_delivers_the_key_later_not_before():
    queue = WorkQueue()
    queue.add_after("later", 0.2)
    assert queue.get(timeout=0.05) is None
    started = time.monotonic()
    assert queue.get(timeout=2.0) == "later"
    assert time.monotonic() - started > 0.05


def test_shutdown_wakes_waiting_workers():
    queue = WorkQueue()
    queue.shutdown()
    assert queue.get(timeout=5.0) is None


def test_does_a_failing_key_back_off_exponentially_and_reset_on_success():
    queue = WorkQueue(backoff_base_s=0.01, backoff_max_s=0.04)
    delays = [queue.add_rate_limited("flaky") for _ in range(4)]
    assert delays == [0.01, 0.02, 0.04, 0.04], "doubles per failure, capped"
    assert queue.failures("flaky") == 4
    assert queue.get(timeout=2.0) == "flaky", "the key comes back by itself"
    queue.forget("flaky")
    assert queue.failures("flaky") == 0
    assert queue.add_rate_limited("flaky") == 0.01


def test_does_get_without_a_timeout_wait_for_a_delayed_key():
    queue = WorkQueue()
    queue.add_after("periodic", 0.05)
    assert queue.get() == "periodic"


def test_is_a_key_waiting_twice_delivered_once_at_the_earlier_time():
    queue = WorkQueue()
    queue.add_after("periodic", 5.0)
    queue.add_after("periodic", 0.05)
    queue.add_after("periodic", 0.1)
    assert queue.get(timeout=2.0) == "periodic"
    queue.done("periodic")
    assert queue.get(timeout=0.3) is None, "the later re-adds collapsed into the first"
