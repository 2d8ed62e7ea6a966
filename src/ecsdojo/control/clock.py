"""The control plane's clock: a speed factor that compresses ECS-sized intervals for demos and tests.

`Clock(speed=10).wall(30)` is 3.0: a 30-second ECS interval (a health-check interval, a grace period, a
throttling delay, a scaling cooldown) takes 3 wall seconds. Timestamps shown through the API stay real.

Example::

    clock = Clock(speed=20)
    clock.wall(300)        # 15.0 wall seconds for a 300 s cooldown
    clock.ecs_elapsed(t0)  # ECS seconds since monotonic time t0
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = float(speed)

    def wall(self, ecs_seconds: float) -> float:
        """Wall seconds for an ECS-sized interval."""
        return ecs_seconds / self.speed

    def monotonic(self) -> float:
        return time.monotonic()

    def ecs_elapsed(self, since_monotonic: float) -> float:
        """ECS seconds elapsed since a monotonic timestamp."""
        return (time.monotonic() - since_monotonic) * self.speed

    @staticmethod
    def now() -> datetime:
        """Real, timezone-aware wall time for API timestamps."""
        return datetime.now(timezone.utc)
