"""AutoScaling: metrics, alarms and Application Auto Scaling for one LocalECS, on its compressed clock.

Once per ECS minute it publishes metrics, evaluates alarms and runs the policies they invoke; between minutes
(every `SUBTICK_ECS_S` ECS seconds, at most `MAX_SUBTICK_WALL_S` wall seconds apart) it runs due scheduled
actions and registrations.

Example::

    scaling = AutoScaling(plane, moto_server, balancers=balancers, timeline=timeline).start()
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from ecsdojo.control.autoscaling.decisions import ScalingActivity
from ecsdojo.control.autoscaling.evaluator import AlarmEvaluator
from ecsdojo.control.autoscaling.history import MAX_SUBTICK_WALL_S, SUBTICK_ECS_S, AlarmHistory, ScalingTimeline
from ecsdojo.control.autoscaling.reconciler import ScalingReconciler
from ecsdojo.control.metrics import METRIC_PERIOD_S, EcsTime, MetricsPublisher
from ecsdojo.control.moto import autoscaling as moto

log = logging.getLogger(__name__)

# --- the engine ----------------------------------------------------------------------------------------------

class AutoScaling:
    """Metrics, alarms and Application Auto Scaling for one LocalECS, on its compressed clock.

    Example::

        scaling = AutoScaling(plane, moto_server, balancers=balancers, timeline=timeline)
        scaling.start()
        ...
        scaling.stop()
    """

    def __init__(self, plane: Any, moto_server: Any, *, balancers: Any = None, timeline: Any = None,
                 ecs_time: EcsTime | None = None) -> None:
        self.plane = plane
        self.ecs_time = ecs_time or getattr(timeline, "ecs_time", None) or EcsTime(plane.clock)
        self.timeline = timeline if timeline is not None else ScalingTimeline(self.ecs_time)
        cloudwatch = moto_server.client("cloudwatch")
        self.history = AlarmHistory()
        self.publisher = MetricsPublisher(plane, cloudwatch, ecs_time=self.ecs_time, balancers=balancers,
                                          timeline=self.timeline)
        self.evaluator = AlarmEvaluator(plane.adapter, cloudwatch, ecs_time=self.ecs_time, history=self.history,
                                        timeline=self.timeline, sns=moto_server.client("sns"))
        self.reconciler = ScalingReconciler(plane, moto_server.client("ecs"), ecs_time=self.ecs_time,
                                            timeline=self.timeline)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.evaluator.wake = self._wake.set
        self.reconciler.wake = self._wake.set
        self.minutes = 0

    def start(self) -> AutoScaling:
        moto.install_autoscaling(self.plane.adapter, self.reconciler.handlers(),
                                 cloudwatch_handlers=self.evaluator.handlers())
        self.publisher.start()
        self._thread = threading.Thread(target=self._run, name="ecsdojo-autoscaling", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.publisher.stop()
        moto.uninstall_autoscaling(self.plane.adapter)

    def now(self) -> float:
        """ECS time now (epoch seconds running at the control plane's speed)."""
        return self.ecs_time.now()

    def activities(self, resource_id: str | None = None, *, include_not_scaled: bool = False) -> list[ScalingActivity]:
        return self.reconciler.activities(resource_id, include_not_scaled=include_not_scaled)

    # ---- the loop --------------------------------------------------------------------------------------
    def _run(self) -> None:
        minute = math.floor(self.now() / METRIC_PERIOD_S) * METRIC_PERIOD_S
        while not self._stop.is_set():
            now = self.now()
            current = math.floor(now / METRIC_PERIOD_S) * METRIC_PERIOD_S
            if current > minute:
                self._guard("the minute", self.run_minute, current, int((current - minute) // METRIC_PERIOD_S))
                minute = current
            self._guard("the sub-tick", self.run_subtick, self.now())
            until_minute = self.ecs_time.wall_until(minute + METRIC_PERIOD_S)
            subtick = min(max(self.plane.clock.wall(SUBTICK_ECS_S), 0.02), MAX_SUBTICK_WALL_S)
            self._wake.wait(max(min(until_minute, subtick), 0.002))
            self._wake.clear()

    @staticmethod
    def _guard(what: str, step: Callable, *args: Any) -> None:
        try:
            step(*args)
        except Exception:  # noqa: BLE001 - one failed step must not stop auto scaling
            log.exception("auto scaling: %s failed", what)

    def run_minute(self, boundary: float, missed: int = 1) -> None:
        """Publish the minute(s) ending at `boundary`, evaluate every alarm, run invoked policies."""
        self.minutes += 1
        for index in range(min(missed, 5), 0, -1):
            end = boundary - (index - 1) * METRIC_PERIOD_S
            self.publisher.publish(end - METRIC_PERIOD_S, end)
        now = self.now()
        outcomes = self.evaluator.evaluate_all(now)
        policy_arns = self.reconciler.policy_arns()
        self._run_transitions(policy_arns, now)
        self.reconciler.act(self.evaluator.invocations(outcomes, policy_arns), now=now)
        self.reconciler.record_targets()
        self.reconciler.record_counts(now, force=True)

    def run_subtick(self, now: float) -> None:
        self._run_transitions(None, now)
        self.reconciler.apply_registrations(now)
        self.reconciler.apply_schedules(now)
        self.reconciler.record_counts(now)

    def _run_transitions(self, policy_arns: list[str] | None, now: float) -> None:
        transitions = self.evaluator.transitions()
        if not transitions:
            return
        arns = policy_arns if policy_arns is not None else self.reconciler.policy_arns()
        invoked = self.evaluator.run_transition_actions(transitions, arns)
        if invoked:
            self.reconciler.act(invoked, now=now)
