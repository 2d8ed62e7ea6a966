"""Draining: a deregistered target of the local load balancer finishes its in-flight requests before it is gone.

As an ALB's deregistration delay: a deregistered target is ``draining`` and gets no new requests; it becomes
``unused`` (and disappears from describe-target-health) when its last in-flight request ends — at once when there is
none, or when the delay is 0 — or when ``delay_s`` has passed, whichever comes first.

`Draining` shares the balancer's lock and its queue of state changes; the methods marked "lock held" are called by
the balancer with its lock held, and the balancer delivers the queued changes afterwards.

Example::

    draining = Draining(delay_s=300, lock=lock, pending_events=events, fire_events=balancer_fire_events)
    with lock:
        done_at_once = draining.begin(record)     # True: nothing was in flight, the target is already unused
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ecsdojo.control.elb.targets import DEREGISTRATION_IN_PROGRESS, DRAINING, UNUSED, TargetRecord

__all__ = ["Draining"]


class Draining:
    """The draining targets of one load balancer, by target id."""

    def __init__(self, *, delay_s: float, lock: threading.Lock, pending_events: list[tuple[str, str, str]],
                 fire_events: Callable[[], None]) -> None:
        self.delay_s = delay_s
        self._lock = lock
        self._pending_events = pending_events
        self._fire_events = fire_events
        self._records: dict[str, TargetRecord] = {}

    def begin(self, record: TargetRecord) -> bool:
        """Move `record` to draining (lock held). True when draining already completed (nothing in flight)."""
        record.stop.set()
        self._pending_events.append((record.target.id, record.state, DRAINING))
        record.state, record.reason = DRAINING, DEREGISTRATION_IN_PROGRESS
        record.description = "Target deregistration is in progress"
        if record.inflight == 0 or self.delay_s == 0:
            self._pending_events.append((record.target.id, DRAINING, UNUSED))
            record.state = UNUSED
            return True
        self._records[record.target.id] = record
        timer = threading.Timer(self.delay_s, self._delay_over, args=(record,))
        timer.daemon = True
        timer.start()
        return False

    def request_ended(self, record: TargetRecord) -> bool:
        """A request to `record` ended (lock held): True when that was the last one of a draining target, which is
        now unused (the caller closes its idle connections and fires the events)."""
        if record.inflight == 0 and self._records.get(record.target.id) is record:
            self._end(record)
            return True
        return False

    def take(self, target_id: str) -> TargetRecord | None:
        """A draining target registered anew (lock held): the old registration just ends (no event)."""
        record = self._records.pop(target_id, None)
        if record is not None:
            record.stop.set()
        return record

    def records(self) -> list[TargetRecord]:
        """The targets still draining (lock held)."""
        return list(self._records.values())

    def _end(self, record: TargetRecord) -> None:
        del self._records[record.target.id]
        self._pending_events.append((record.target.id, DRAINING, UNUSED))
        record.state = UNUSED

    def _delay_over(self, record: TargetRecord) -> None:
        with self._lock:
            if self._records.get(record.target.id) is not record:
                return
            self._end(record)
        record.close_idle()
        self._fire_events()
