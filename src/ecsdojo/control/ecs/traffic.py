"""BLUE_GREEN, LINEAR and CANARY deployments: the green revision beside the blue one, traffic shifted through the
listener's weights, a bake time, then blue removed — or a rollback.

The stages are the model's `ServiceDeploymentLifecycleStage`s, in AWS's order (API_DeploymentLifecycleHook.html,
developerguide/deployment-lifecycle-hooks.html): PRE_SCALE_UP → SCALE_UP (green starts, 100% of desiredCount,
beside blue) → POST_SCALE_UP (green running and healthy in its target group) → TEST_TRAFFIC_SHIFT →
POST_TEST_TRAFFIC_SHIFT (the test listener rule, if any, forwards to green) → PRODUCTION_TRAFFIC_SHIFT (the
production listener rule's weights move to green: BLUE_GREEN all at once; CANARY canaryPercent, a
canaryBakeTimeInMinutes wait, then the rest; LINEAR stepPercent per step, stepBakeTimeInMinutes between steps,
"not applied after reaching 100 percent") → POST_PRODUCTION_TRAFFIC_SHIFT → BAKE_TIME (bakeTimeInMinutes, blue
still running, so a rollback is instant) → CLEAN_UP (blue's tasks stop) → SUCCESSFUL.

Green's tasks register in the target group blue does not use (the service's target group or
advancedConfiguration.alternateTargetGroupArn; the two swap roles from one deployment to the next). Failure
detectors, each separate (developerguide/deployment-failure-detection.html: "Both methods only support rolling
update deployment and blue/green deployment types ... either can trigger deployment failure"): the circuit breaker
(green tasks failing to start, exiting or failing health checks, the load balancer's included) and the
deployment's CloudWatch alarms (`deploymentConfiguration.alarms`, an alarm in ALARM). We apply both to LINEAR and
CANARY too, which AWS builds on blue/green (our reading). Either, with rollback on, or
StopServiceDeployment, puts production (and test) traffic back on blue, makes blue PRIMARY again and stops green.

Not run here (labelled): lifecycle hooks (Lambda functions are not emulated; their stages are shown, no hook
is invoked); earlySuccessCriteria. A service's first deployment has no blue and rolls out as ROLLING does.

Example::

    shift = traffic.shift_of(record)          # the traffic-shifting service deployment in progress, or None
    traffic.advance(record, shift, green_tasks=tasks, desired=adapter, store=store, clock=clock)
"""

from __future__ import annotations

import math
from typing import Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.store import BALANCERS_KEY, ObservedState

__all__ = ["SHIFTING", "TrafficWriter", "shift_of", "advance", "roll_back", "weights_for", "blue_of"]

SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")


class TrafficWriter(Protocol):
    """What shifting traffic needs of control/moto/ (a fake in unit tests)."""

    def set_forward_weights(self, listener_or_rule_arn: str, weights: list[tuple[str, int]]) -> None: ...

    def alarm_state(self, name: str) -> str | None: ...

    def set_service_task_definition(self, cluster: str, name: str, arn: str) -> None: ...


def shift_of(record: r.ServiceRecord) -> r.ServiceDeploymentRecord | None:
    """The service deployment in progress whose strategy shifts traffic, towards the PRIMARY deployment."""
    primary = record.primary
    if primary is None or record.settings.strategy not in SHIFTING or not record.settings.production_listener_rule:
        return None
    found = next((d for d in record.service_deployments if d.deployment_id == primary.id), None)
    if found is None or found.status != "IN_PROGRESS" or blue_of(record) is None:
        return None
    return found


def blue_of(record: r.ServiceRecord) -> r.Deployment | None:
    """The deployment serving production before this one: the newest live non-primary one."""
    return next((d for d in record.deployments if d.status == "ACTIVE"), None)


def weights_for(green_percent: float) -> tuple[int, int]:
    """(blue, green) listener weights (ALB weights are integers 0-999) for a green share in percent: whole
    percents as they are (90/10), tenths as per-mille reduced (green 2.5% → 39/1)."""
    green = round(green_percent * 10)
    if green % 10 == 0:
        return 100 - green // 10, green // 10
    divisor = math.gcd(1000 - green, green)
    return (1000 - green) // divisor, green // divisor


def _groups(record: r.ServiceRecord, blue: r.Deployment, service_group: str) -> tuple[str, str]:
    """(blue's target group, green's): green takes the one blue does not use."""
    blue_group = blue.target_group_arn or service_group
    alternate = record.settings.alternate_target_group or service_group
    return blue_group, (alternate if blue_group == service_group else service_group)


def _set(desired: TrafficWriter, store: ObservedState, rule: str | None, blue_group: str, green_group: str,
         green_percent: float) -> None:
    """The listener rule's weights in elbv2, and the local balancers told at once (not at their next look)."""
    if rule:
        blue_weight, green_weight = weights_for(green_percent)
        desired.set_forward_weights(rule, [(blue_group, blue_weight), (green_group, green_weight)])
        store.queue.add(BALANCERS_KEY)


def advance(record: r.ServiceRecord, shift: r.ServiceDeploymentRecord, *, green_tasks: list[r.TaskRecord],
            service_group: str, desired: TrafficWriter, store: ObservedState, clock: Clock) -> None:
    """One step of the stage machine (idempotent; called by each service sync while the shift is in progress)."""
    settings = record.settings
    green, blue = record.primary, blue_of(record)
    if green is None or blue is None:
        return
    blue_group, green_group = _groups(record, blue, service_group)
    green.target_group_arn = green_group
    blue.target_group_arn = blue_group
    now = clock.monotonic()

    if settings.alarms_enable and shift.lifecycle_stage != "CLEAN_UP":
        firing = [name for name in settings.alarm_names if desired.alarm_state(name) == "ALARM"]
        if firing:
            shift.triggered_alarms = firing
            shift.alarms_status = "TRIGGERED"
            if settings.alarms_rollback:
                roll_back(record, shift, reason=events.alarms_rollback_reason(firing), desired=desired, store=store,
                          clock=clock, service_group=service_group)
            return

    def go(stage: str) -> None:
        shift.lifecycle_stage = stage
        shift.stage_since = now
        shift.updated_at = clock.now()

    def waited(minutes: float) -> bool:
        return now - shift.stage_since >= clock.wall(minutes * 60)

    stage = shift.lifecycle_stage
    if stage is None:
        go("PRE_SCALE_UP")
        _set(desired, store, settings.production_listener_rule, blue_group, green_group, 0)
        if settings.alarms_enable:
            shift.alarm_names = list(settings.alarm_names)
            shift.alarms_status = "MONITORING"
        go("SCALE_UP")
    elif stage == "SCALE_UP":
        running = [t for t in green_tasks if t.last_status == "RUNNING"]
        healthy = [t for t in running if store.target_health.get(t.id) == "healthy"]
        if len(running) >= green.desired_count and len(healthy) == len(running):
            go("POST_SCALE_UP")
    elif stage == "POST_SCALE_UP":
        if settings.test_listener_rule:
            go("TEST_TRAFFIC_SHIFT")
            _set(desired, store, settings.test_listener_rule, blue_group, green_group, 100)
            shift.test_weight = 100.0
        go("POST_TEST_TRAFFIC_SHIFT")
    elif stage == "POST_TEST_TRAFFIC_SHIFT":
        go("PRODUCTION_TRAFFIC_SHIFT")
        _shift_production(record, shift, blue_group, green_group, desired, store)
    elif stage == "PRODUCTION_TRAFFIC_SHIFT":
        bake = settings.canary_bake_min if settings.strategy == "CANARY" else settings.linear_step_bake_min
        if shift.production_weight < 100 and waited(bake):
            shift.stage_since = now
            _shift_production(record, shift, blue_group, green_group, desired, store)
        if shift.production_weight >= 100:
            go("POST_PRODUCTION_TRAFFIC_SHIFT")
    elif stage == "POST_PRODUCTION_TRAFFIC_SHIFT":
        go("BAKE_TIME")
    elif stage == "BAKE_TIME" and waited(settings.bake_time_min):
        go("CLEAN_UP")              # the service reconciler now stops blue's tasks; the rollout then completes


def _shift_production(record: r.ServiceRecord, shift: r.ServiceDeploymentRecord, blue_group: str,
                      green_group: str, desired: TrafficWriter, store: ObservedState) -> None:
    settings = record.settings
    if settings.strategy == "CANARY":
        share = settings.canary_percent if shift.production_weight == 0 else 100.0
    elif settings.strategy == "LINEAR":
        share = min(100.0, round(shift.production_weight + settings.linear_step_percent, 1))
    else:
        share = 100.0
    shift.production_weight = share
    _set(desired, store, settings.production_listener_rule, blue_group, green_group, share)


def roll_back(record: r.ServiceRecord, shift: r.ServiceDeploymentRecord, *, reason: str, desired: TrafficWriter,
              store: ObservedState, clock: Clock, service_group: str, trigger: str = "alarms") -> bool:
    """Production and test traffic back to blue, blue PRIMARY again (its tasks never stopped), green's tasks
    stopped by the scheduler as an old deployment's; the same service deployment goes ROLLBACK_IN_PROGRESS."""
    green, blue = record.primary, blue_of(record)
    if green is None or blue is None:
        return False
    blue_group, green_group = _groups(record, blue, service_group)
    _set(desired, store, record.settings.production_listener_rule, blue_group, green_group, 0)
    _set(desired, store, record.settings.test_listener_rule, blue_group, green_group, 0)
    shift.production_weight = shift.test_weight = 0.0
    now = clock.now()
    green.status, green.rollout_state, green.rollout_state_reason = "ACTIVE", "FAILED", reason
    blue.status, blue.rollout_state = "PRIMARY", "IN_PROGRESS"
    blue.desired_count = green.desired_count
    desired.set_service_task_definition(record.cluster, record.name, blue.task_definition_arn)
    shift.failure_count = green.failed_tasks       # green may be gone before the next status refresh
    shift.status = "ROLLBACK_IN_PROGRESS"
    shift.status_reason = shift.rollback_reason = reason
    shift.rollback_deployment_id = blue.id
    shift.rollback_revision_id = blue.revision_id
    shift.rollback_started_at = shift.updated_at = now
    if trigger == "circuit_breaker":
        shift.circuit_breaker_status = "TRIGGERED"
    store.add_event(record, events.service_rolling_back(record.name, blue.id))
    return True
