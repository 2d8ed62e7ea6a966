"""A work queue of dirty keys with worker threads, as in Kubernetes' sample-controller.

Events only mark a key dirty; a key is never processed by two workers at once; a key marked dirty while it is
being processed is processed again afterwards; `add_after` schedules a key for later (throttling, grace periods).

Example::

    queue = WorkQueue()
    queue.add(("service", "my-cluster", "web"))
    key = queue.get(timeout=1.0); ...; queue.done(key)
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Hashable


class WorkQueue:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._queue: list[Hashable] = []
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._counter = itertools.count()
        self._shutdown = False

    def add(self, key: Hashable) -> None:
        with self._condition:
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
        with self._condition:
            heapq.heappush(self._delayed, (time.monotonic() + delay_s, next(self._counter), key))
            self._condition.notify()

    def get(self, timeout: float = 0.5) -> Hashable | None:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                self._promote_delayed()
                if self._queue:
                    key = self._queue.pop(0)
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutdown:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                wait = remaining
                if self._delayed:
                    wait = min(wait, max(0.0, self._delayed[0][0] - time.monotonic()))
                self._condition.wait(wait)

    def _promote_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            if key not in self._dirty:
                self._dirty.add(key)
                if key not in self._processing:
                    self._queue.append(key)

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
