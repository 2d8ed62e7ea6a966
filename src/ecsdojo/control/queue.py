"""One work queue of dirty keys for every resource, as in Kubernetes' client-go workqueue.

- A key is never processed by two workers at once; a key marked dirty while it is being processed is
  processed again afterwards (`add`, `get`, `done`).
- Periodic work is a delayed re-add (`add_after`): the resync, throttles, grace periods. A key waiting to be
  added is waiting once, at its earliest time (as client-go's delaying queue keeps it), so periodic
  re-adds from several triggers collapse into one.
- A failed sync is requeued with a per-key exponential back-off (`add_rate_limited`, reset by `forget`),
  as client-go's ItemExponentialFailureRateLimiter does: base × 2^failures, capped. After `max_retries`
  failures in a row the key is dropped instead (`add_rate_limited` returns None), as client-go controllers drop
  a key after maxRetries: a sync that always fails is not retried forever.

Workers block in `get()` until a key is ready (no polling), so an idle queue costs no CPU.

Example::

    queue = WorkQueue()
    queue.add(("service", "my-cluster", "web"))
    key = queue.get(); ...; queue.done(key)
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable

__all__ = ["WorkQueue", "BACKOFF_BASE_S", "BACKOFF_MAX_S", "MAX_RETRIES"]

BACKOFF_BASE_S = 0.05
BACKOFF_MAX_S = 30.0
MAX_RETRIES = 12          # 0.05 s doubling to the 30 s cap: about 2 minutes of retries


class WorkQueue:
    def __init__(self, *, backoff_base_s: float = BACKOFF_BASE_S, backoff_max_s: float = BACKOFF_MAX_S,
                 max_retries: int = MAX_RETRIES) -> None:
        self._condition = threading.Condition()
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._waiting: dict[Hashable, float] = {}        # key -> the time it is due (its live heap entry)
        self._counter = itertools.count()
        self._failures: dict[Hashable, int] = {}
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._max_retries = max_retries
        self._shutdown = False

    def add(self, key: Hashable) -> None:
        with self._condition:
            self._add(key)

    def _add(self, key: Hashable) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._condition.notify()

    def add_after(self, key: Hashable, delay_s: float) -> None:
        if delay_s <= 0:
            self.add(key)
            return
        due = time.monotonic() + delay_s
        with self._condition:
            if self._shutdown or self._waiting.get(key, float("inf")) <= due:
                return
            self._waiting[key] = due
            heapq.heappush(self._delayed, (due, next(self._counter), key))
            self._condition.notify()

    def add_rate_limited(self, key: Hashable) -> float | None:
        """Requeue a key whose sync failed, after base × 2^(failures so far) seconds (capped); returns the delay.

        A key that already failed `max_retries` times in a row is dropped (forgotten, not requeued): None."""
        with self._condition:
            failures = self._failures.get(key, 0)
            if failures >= self._max_retries:
                self._failures.pop(key, None)
                return None
            self._failures[key] = failures + 1
        delay = min(self._backoff_max_s, self._backoff_base_s * 2 ** failures)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        """The key synced: its back-off starts again from the base."""
        with self._condition:
            self._failures.pop(key, None)

    def failures(self, key: Hashable) -> int:
        with self._condition:
            return self._failures.get(key, 0)

    def get(self, timeout: float | None = None) -> Hashable | None:
        """The next ready key, waiting for one (for at most `timeout` seconds); None on shutdown or timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while True:
                self._promote_delayed()
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown:
                    return None
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                if self._delayed:
                    until_next = max(0.0, self._delayed[0][0] - time.monotonic())
                    wait = until_next if wait is None else min(wait, until_next)
                self._condition.wait(wait)

    def _promote_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._waiting.get(key) != due:
                continue                  # superseded by an earlier due time for the same key
            del self._waiting[key]
            self._add(key)

    def done(self, key: Hashable) -> None:
        with self._condition:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._condition.notify()

    def shutdown(self) -> None:
        with self._condition:
            self._shutdown = True
            self._condition.notify_all()

    def __len__(self) -> int:
        with self._condition:
            return len(self._queue)
