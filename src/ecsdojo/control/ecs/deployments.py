"""Service deployments and service revisions, as ListServiceDeployments / DescribeServiceDeployments show them.

ECS creates a service deployment when a service is created and whenever an update starts a deployment (a new
task definition, forceNewDeployment); it moves from the source service revisions (what ran) to a target one
(developerguide/service-deployment.html). Its states: PENDING → IN_PROGRESS → SUCCESSFUL, or STOPPED, or
ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED. "Amazon ECS doesn't create a new service revision
for a rollback operation. Amazon ECS uses the last successful service revision for the rollback"
(developerguide/service-revision.html) — so a rollback is a step of the failing service deployment, not a new one.

Here one `r.Deployment` (describe_services' `deployments[]`, id `ecs-svc/…`) is one service revision; a rollback
deployment reuses the revision it returns to. The service deployment records live on the `ServiceRecord`, newest
first, and outlive describe_services' deployment list. `refresh` (called with every status write) moves their
status from the deployments' rollout states; `roll_back` is shared by the circuit breaker and
StopServiceDeployment.

Our choices where AWS documents nothing (labelled, not observed): a ROLLING deployment starts IN_PROGRESS at once
and shows no `lifecycleStage` (AWS documents the stages for blue/green, linear and canary); a service deployment a
newer one replaces before it finished is STOPPED; a circuit-breaker failure without rollback is STOPPED.
"""

from __future__ import annotations

import math
import secrets
import string
from typing import Any

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.moto.ecs import deployment_configuration
from ecsdojo.control.store import new_deployment_id

__all__ = ["ONGOING", "open_service_deployment", "refresh", "roll_back", "previous_completed", "brief",
           "describe", "circuit_breaker_threshold", "revision_arn", "service_deployment_arn", "cluster_arn_of"]

ONGOING = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
_ID_ALPHABET = string.ascii_letters + string.digits + "_-"


def circuit_breaker_threshold(desired_count: int) -> int:
    """Failed tasks that trip the breaker: 0.5 × desiredCount, at least 3 and at most 200."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


# ---- ARNs -----------------------------------------------------------------------------------------------------
def _arn(service_arn: str, kind: str, resource_id: str) -> str:
    """arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME → arn:…:KIND/CLUSTER/NAME/ID (the shape of AWS's examples,
    e.g. awscli/examples/ecs/list-service-deployments.rst)."""
    return service_arn.replace(":service/", f":{kind}/", 1) + f"/{resource_id}"


def service_deployment_arn(service_arn: str, deployment: r.ServiceDeploymentRecord) -> str:
    return _arn(service_arn, "service-deployment", deployment.id)


def revision_arn(service_arn: str, revision_id: str) -> str:
    return _arn(service_arn, "service-revision", revision_id)


def cluster_arn_of(service_arn: str) -> str:
    prefix, _, path = service_arn.partition(":service/")
    return f"{prefix}:cluster/{path.split('/', 1)[0]}"


def _revision_of(deployment: r.Deployment) -> str:
    if not deployment.revision_id:
        deployment.revision_id = deployment.id.rsplit("/", 1)[-1]
    return deployment.revision_id


# ---- transitions ------------------------------------------------------------------------------------------------
def open_service_deployment(record: r.ServiceRecord, deployment: r.Deployment, *,
                            clock: Clock) -> r.ServiceDeploymentRecord:
    """A new service deployment towards `deployment`'s revision; an ongoing older one is STOPPED (our choice)."""
    now = clock.now()
    settings = record.settings
    created = r.ServiceDeploymentRecord(
        id="".join(secrets.choice(_ID_ALPHABET) for _ in range(21)), deployment_id=deployment.id,
        target_revision_id=_revision_of(deployment),
        source_revision_ids=list(dict.fromkeys(
            _revision_of(d) for d in record.deployments if d is not deployment and d.status in ("PRIMARY", "ACTIVE"))),
        status="IN_PROGRESS", created_at=now, started_at=now, updated_at=now,
        deployment_configuration=_configuration(settings),
        circuit_breaker_status="MONITORING" if settings.circuit_breaker_enable else "DISABLED")
    for older in record.service_deployments:
        if older.status in ONGOING:
            older.status = "STOPPED"
            older.status_reason = events.service_deployment_superseded_reason(created.id)
            older.stopped_at = older.finished_at = older.updated_at = now
            _finish_monitors(older)
    record.service_deployments.insert(0, created)
    return created


def _configuration(settings: r.ServiceSettings) -> dict[str, Any]:
    return deployment_configuration(settings)


def _finish_monitors(deployment: r.ServiceDeploymentRecord) -> None:
    if deployment.circuit_breaker_status == "MONITORING":
        deployment.circuit_breaker_status = "MONITORING_COMPLETE"
    if deployment.alarms_status == "MONITORING":
        deployment.alarms_status = "MONITORING_COMPLETE"


def refresh(record: r.ServiceRecord, *, clock: Clock) -> None:
    """Ongoing service deployments follow their deployments' rollout states. Under the store's lock."""
    by_id = {d.id: d for d in record.deployments}
    for deployment in record.service_deployments:
        target = by_id.get(deployment.deployment_id)
        if target is not None:
            deployment.failure_count = target.failed_tasks
            deployment.failure_threshold = circuit_breaker_threshold(target.desired_count)
        if deployment.status not in ONGOING:
            continue
        now = clock.now()
        if deployment.rollback_deployment_id:
            rollback = by_id.get(deployment.rollback_deployment_id)
            if rollback is not None and rollback.rollout_state == "COMPLETED":
                deployment.status = "ROLLBACK_SUCCESSFUL"
                deployment.finished_at = deployment.updated_at = now
                _finish_monitors(deployment)
            elif rollback is not None and rollback.rollout_state == "FAILED":
                deployment.status = "ROLLBACK_FAILED"
                deployment.status_reason = rollback.rollout_state_reason
                deployment.finished_at = deployment.updated_at = now
            continue
        if target is None:
            continue
        if target.rollout_state == "COMPLETED":
            deployment.status = "SUCCESSFUL"
            deployment.finished_at = deployment.updated_at = now
            _finish_monitors(deployment)
        elif target.rollout_state == "FAILED":
            deployment.status = "STOPPED"
            deployment.status_reason = target.rollout_state_reason
            deployment.stopped_at = deployment.finished_at = deployment.updated_at = now


def previous_completed(record: r.ServiceRecord, failing: r.Deployment) -> r.Deployment | None:
    """The last successfully deployed revision, which a rollback returns to."""
    return next((d for d in record.deployments if d.rollout_state == "COMPLETED" and d is not failing), None)


def roll_back(record: r.ServiceRecord, failing: r.Deployment, *, reason: str, deployment_reason: str,
              clock: Clock, trigger: str = "") -> r.Deployment | None:
    """Start a rollback from `failing` to the last COMPLETED deployment's revision: a new PRIMARY deployment (as
    describe_services shows it), the same service deployment moving to ROLLBACK_IN_PROGRESS. None if there is
    nothing to return to. The caller points the service back at the old task definition and words the event."""
    previous = previous_completed(record, failing)
    if previous is None:
        return None
    now = clock.now()
    rollback = r.Deployment(id=new_deployment_id(), task_definition_arn=previous.task_definition_arn,
                            desired_count=failing.desired_count, created_at=now, updated_at=now,
                            launch_type=failing.launch_type, network_configuration=failing.network_configuration,
                            rollout_state_reason=deployment_reason, revision_id=_revision_of(previous))
    failing.status = "ACTIVE"
    previous.status = "INACTIVE"
    record.deployments.insert(0, rollback)
    service_deployment = next((d for d in record.service_deployments if d.deployment_id == failing.id), None)
    if service_deployment is not None:
        service_deployment.failure_count = failing.failed_tasks
        service_deployment.status = "ROLLBACK_IN_PROGRESS"
        service_deployment.status_reason = reason
        service_deployment.rollback_deployment_id = rollback.id
        service_deployment.rollback_reason = reason
        service_deployment.rollback_started_at = now
        service_deployment.rollback_revision_id = rollback.revision_id
        service_deployment.updated_at = now
        if trigger == "circuit_breaker":
            service_deployment.circuit_breaker_status = "TRIGGERED"
        elif trigger == "alarms":
            service_deployment.alarms_status = "TRIGGERED"
    return rollback


# ---- the API's shapes -----------------------------------------------------------------------------------------------
def brief(record: r.ServiceRecord, deployment: r.ServiceDeploymentRecord) -> dict[str, Any]:
    """A ServiceDeploymentBrief (ListServiceDeployments)."""
    body: dict[str, Any] = {
        "serviceDeploymentArn": service_deployment_arn(record.arn, deployment), "serviceArn": record.arn,
        "clusterArn": cluster_arn_of(record.arn), "createdAt": deployment.created_at,
        "targetServiceRevisionArn": revision_arn(record.arn, deployment.target_revision_id),
        "status": deployment.status}
    for key, value in (("startedAt", deployment.started_at), ("finishedAt", deployment.finished_at),
                       ("statusReason", deployment.status_reason)):
        if value:
            body[key] = value
    return body


def _revision_summary(record: r.ServiceRecord, revision_id: str) -> dict[str, Any]:
    """requested/running/pending task counts of the live deployments that run this revision."""
    mine = [d for d in record.deployments if _revision_of(d) == revision_id and d.status != "INACTIVE"]
    return {"arn": revision_arn(record.arn, revision_id),
            "requestedTaskCount": sum(d.desired_count for d in mine if d.status == "PRIMARY"),
            "runningTaskCount": sum(d.running_count for d in mine),
            "pendingTaskCount": sum(d.pending_count for d in mine)}


def describe(record: r.ServiceRecord, deployment: r.ServiceDeploymentRecord) -> dict[str, Any]:
    """A ServiceDeployment (DescribeServiceDeployments)."""
    body = brief(record, deployment)
    body.pop("targetServiceRevisionArn")
    body["updatedAt"] = deployment.updated_at
    if deployment.stopped_at:
        body["stoppedAt"] = deployment.stopped_at
    body["sourceServiceRevisions"] = [_revision_summary(record, rid) for rid in deployment.source_revision_ids]
    body["targetServiceRevision"] = _revision_summary(record, deployment.target_revision_id)
    if deployment.lifecycle_stage:         # traffic-shifting strategies: the weights the listeners were given
        body["targetServiceRevision"]["requestedProductionTrafficWeight"] = deployment.production_weight
        body["targetServiceRevision"]["requestedTestTrafficWeight"] = deployment.test_weight
        for source in body["sourceServiceRevisions"]:
            source["requestedProductionTrafficWeight"] = 100.0 - deployment.production_weight
            source["requestedTestTrafficWeight"] = 100.0 - deployment.test_weight
    if deployment.lifecycle_stage:
        body["lifecycleStage"] = deployment.lifecycle_stage
    body["deploymentConfiguration"] = dict(deployment.deployment_configuration)
    if deployment.rollback_started_at:
        body["rollback"] = {"reason": deployment.rollback_reason, "startedAt": deployment.rollback_started_at,
                            "serviceRevisionArn": revision_arn(record.arn, deployment.rollback_revision_id or "")}
    body["deploymentCircuitBreaker"] = {"status": deployment.circuit_breaker_status,
                                        "failureCount": deployment.failure_count,
                                        "threshold": deployment.failure_threshold}
    body["alarms"] = {"status": deployment.alarms_status, "alarmNames": list(deployment.alarm_names),
                      "triggeredAlarmNames": list(deployment.triggered_alarms)}
    return body
