"""AutoScaling: metrics, alarms and Application Auto Scaling for one LocalECS, on its compressed clock.

Once per ECS minute it publishes metrics, evaluates alarms and runs the policies they invoke; between minutes
(every `SUBTICK_ECS_S` ECS seconds, at most `MAX_SUBTICK_WALL_S` wall seconds apart) it runs due scheduled
actions and registrations. It runs on the control plane's work queue under one key (`AUTOSCALING_KEY`): a
tick re-adds the key for the next sub-tick or minute boundary (a delayed re-add), and an API call or an alarm
state set by a learner adds it at once.

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

AUTOSCALING_KEY = ("autoscaling",)

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
        self._stopped = threading.Event()
        self.evaluator.wake = self.wake
        self.reconciler.wake = self.wake
        self.minutes = 0
        self._minute: float | None = None          # the last minute boundary handled

    def start(self) -> AutoScaling:
        moto.install_autoscaling(self.plane.adapter, self.reconciler.handlers(),
                                 cloudwatch_handlers=self.evaluator.handlers())
        self.publisher.start()
        self.plane.handle(AUTOSCALING_KEY[0], self.tick)
        self.plane.enqueue(AUTOSCALING_KEY)
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.publisher.stop()
        moto.uninstall_autoscaling(self.plane.adapter)

    def wake(self) -> None:
        """Run a tick now (a policy, a registration or an alarm state changed through the API)."""
        if not self._stopped.is_set():
            self.plane.enqueue(AUTOSCALING_KEY)

    def now(self) -> float:
        """ECS time now (epoch seconds running at the control plane's speed)."""
        return self.ecs_time.now()

    def activities(self, resource_id: str | None = None, *, include_not_scaled: bool = False) -> list[ScalingActivity]:
        return self.reconciler.activities(resource_id, include_not_scaled=include_not_scaled)

    # ---- the loop, as ticks on the work queue ------------------------------------------------------------
    def tick(self, key: tuple = AUTOSCALING_KEY) -> None:
        """One pass: the minute's work when a minute boundary passed, the sub-tick's work; then the re-add."""
        if self._stopped.is_set():
            return
        if self._minute is None:
            self._minute = math.floor(self.now() / METRIC_PERIOD_S) * METRIC_PERIOD_S
        current = math.floor(self.now() / METRIC_PERIOD_S) * METRIC_PERIOD_S
        if current > self._minute:
            self._guard("the minute", self.run_minute, current, int((current - self._minute) // METRIC_PERIOD_S))
            self._minute = current
        self._guard("the sub-tick", self.run_subtick, self.now())
        until_minute = self.ecs_time.wall_until(self._minute + METRIC_PERIOD_S)
        subtick = min(max(self.plane.clock.wall(SUBTICK_ECS_S), 0.02), MAX_SUBTICK_WALL_S)
        if not self._stopped.is_set():
            self.plane.queue.add_after(AUTOSCALING_KEY, max(min(until_minute, subtick), 0.002))

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
