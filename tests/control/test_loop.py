"""The work queue: dirty keys, one worker per key, re-processing, delayed keys."""

from __future__ import annotations

import time

from ecsdojo.control.loop import WorkQueue


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
