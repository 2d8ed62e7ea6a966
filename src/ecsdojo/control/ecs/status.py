"""A service's status as describe_services shows it: counts, deployments, rollout state and steady-state events.

`write_service_status` is called by the service reconciler after each sync and by CreateService/UpdateService
(so that a describe right after the call shows the new deployment); it reads only the store and the service's
desired count, and writes to moto through the adapter.

Example::

    with store.lock:
        write_service_status(store=store, desired=adapter, clock=clock, cluster="my-cluster", name="web")
"""

from __future__ import annotations

from typing import Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs import deployments
from ecsdojo.control.moto.views import ServiceSpec
from ecsdojo.control.store import ObservedState

__all__ = ["write_service_status", "rollout_settled", "ServiceStatusWriter", "ROLLOUT_STABLE_S",
           "MIN_ROLLOUT_STABLE_WALL_S", "MAX_EVENTS", "MAX_DEPLOYMENTS"]

ROLLOUT_STABLE_S = 30         # ECS seconds a new revision's tasks must stay up before its rollout completes
MIN_ROLLOUT_STABLE_WALL_S = 1.0
MAX_EVENTS = 100              # describe_services returns the latest 100 events
MAX_DEPLOYMENTS = 10


class ServiceStatusWriter(Protocol):
    """What status writing needs of control/moto/ (a fake in unit tests)."""

    def service(self, cluster: str, name: str) -> ServiceSpec | None: ...

    def write_service(self, record: r.ServiceRecord, *, running: int, pending: int) -> None: ...


def rollout_settled(record: r.ServiceRecord, primary: r.Deployment, tasks: list[r.TaskRecord], *,
                    clock: Clock) -> bool:
    """A rollout of a new revision completes only once its tasks have stayed up for a while and passed
    their health checks, so that tasks which crash or fail checks soon after starting still count for
    the circuit breaker. (A service's first deployment completes as soon as its tasks run.)"""
    if primary is record.deployments[-1]:
        return True
    window = max(clock.wall(ROLLOUT_STABLE_S), MIN_ROLLOUT_STABLE_WALL_S)
    now = clock.monotonic()
    for task in tasks:
        if task.deployment_id != primary.id or task.last_status != "RUNNING":
            continue
        if task.health_since is None or now - task.health_since < window:
            return False
        if any(c.has_health_check and c.essential and c.health != "HEALTHY" for c in task.containers):
            return False
    return True


def write_service_status(*, store: ObservedState, desired: ServiceStatusWriter, clock: Clock, cluster: str,
                         name: str) -> None:
    """Counts per deployment, rollout completion, the steady-state event; then the write to moto. Under the lock."""
    record = store.service(cluster, name)
    if record is None:
        return
    tasks = store.tasks_of_service(cluster, name)
    for deployment in record.deployments:
        mine = [t for t in tasks if t.deployment_id == deployment.id]
        deployment.running_count = sum(1 for t in mine if t.last_status == "RUNNING")
        deployment.pending_count = sum(1 for t in mine if t.last_status in ("PROVISIONING", "PENDING"))
        if deployment.status == "ACTIVE" and not mine:
            deployment.status = "INACTIVE"
        deployment.updated_at = deployment.updated_at or clock.now()
    record.deployments = [d for d in record.deployments
                          if d.status != "INACTIVE" or d.rollout_state == "COMPLETED"][:MAX_DEPLOYMENTS]
    primary = record.primary
    running = sum(1 for t in tasks if t.last_status == "RUNNING")
    pending = sum(1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING"))
    spec = desired.service(cluster, name)
    desired_count = spec.desired_count if spec is not None else 0
    others_active = any(d.status == "ACTIVE" for d in record.deployments)
    steady = (primary is not None and primary.running_count == desired_count and pending == 0
              and not others_active and running == desired_count)
    if primary is not None and steady and primary.rollout_state == "IN_PROGRESS" and \
            rollout_settled(record, primary, tasks, clock=clock):
        primary.rollout_state = "COMPLETED"
        primary.rollout_state_reason = events.deployment_completed_reason(primary.id)
        primary.updated_at = clock.now()
        store.add_event(record, events.service_deployment_completed(name, primary.id))
        for deployment in record.deployments:          # an older COMPLETED deployment is history now
            if deployment is not primary and deployment.rollout_state == "COMPLETED":
                deployment.status = "INACTIVE"
    if steady and not record.steady:
        store.add_event(record, events.service_steady_state(name))
    record.steady = steady
    deployments.refresh(record, clock=clock)
    del record.events[MAX_EVENTS:]
    desired.write_service(record, running=running, pending=pending)
