"""ListServiceDeployments, DescribeServiceDeployments and StopServiceDeployment: calls moto does not have.

The control plane answers them from its service deployment records (control/ecs/deployments.py); moto's
dispatcher reaches these handlers through the methods control/moto/ecs.py adds, so boto3 and the AWS CLI see the
API of botocore's model. Request rules from the API reference (API_ListServiceDeployments.html,
API_DescribeServiceDeployments.html, API_StopServiceDeployment.html): at most 20 ARNs to describe; maxResults
1–100, default 20; `stopType` ROLLBACK ("The valid values are ROLLBACK"), which works "even if you didn't
configure the service deployment for the rollback option" (developerguide/stop-service-deployment.html).

Example::

    api = ServiceDeploymentsApi(store=store, desired=adapter, clock=clock)
    api.list_service_deployments(raw, {"cluster": "c", "service": "web"}, original)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs import deployments, traffic
from ecsdojo.control.ecs.status import write_service_status
from ecsdojo.control.moto.ecs import MotoAdapter
from ecsdojo.control.moto.errors import (
    ConflictError,
    InvalidParameterError,
    ServiceDeploymentNotFoundError,
    ServiceNotFoundError,
)
from ecsdojo.control.store import ObservedState, service_key

__all__ = ["ServiceDeploymentsApi", "MAX_DESCRIBE", "DEFAULT_MAX_RESULTS"]

MAX_DESCRIBE = 20
DEFAULT_MAX_RESULTS = 20
MAX_RESULTS = 100
STATUSES = ("PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


class ServiceDeploymentsApi:
    def __init__(self, *, store: ObservedState, desired: MotoAdapter, clock: Clock) -> None:
        self.store = store
        self.desired = desired
        self.clock = clock

    def list_service_deployments(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        cluster = self.desired.cluster(params.get("cluster"))
        name = str(params.get("service") or "").rsplit("/", 1)[-1]
        spec = self.desired.service(cluster.name, name)
        record = self.store.service(cluster.name, name)
        if spec is None or record is None:
            raise ServiceNotFoundError()
        wanted = params.get("status") or []
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise InvalidParameterError(f"Invalid status filter: {', '.join(map(str, unknown))}. "
                                        f"Valid values: {', '.join(STATUSES)}.")
        created = params.get("createdAt") or {}
        after, before = _time(created.get("after")), _time(created.get("before"))
        limit = params.get("maxResults")
        limit = DEFAULT_MAX_RESULTS if limit is None else int(limit)
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidParameterError(f"maxResults must be between 1 and {MAX_RESULTS}.")
        found = [d for d in record.service_deployments
                 if (not wanted or d.status in wanted)
                 and (after is None or (d.created_at and d.created_at >= after))
                 and (before is None or (d.created_at and d.created_at <= before))]
        start = _offset(params.get("nextToken"))
        page = found[start:start + limit]
        body: dict[str, Any] = {"serviceDeployments": [deployments.brief(record, d) for d in page]}
        if start + limit < len(found):
            body["nextToken"] = str(start + limit)
        return body

    def describe_service_deployments(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        arns = params.get("serviceDeploymentArns") or []
        if not arns:
            raise InvalidParameterError("serviceDeploymentArns can not be empty.")
        if len(arns) > MAX_DESCRIBE:
            raise InvalidParameterError(f"You can specify a maximum of {MAX_DESCRIBE} ARNs.")
        found, failures = [], []
        for arn in arns:
            located = self._find(arn)
            if located is None:
                failures.append({"arn": arn, "reason": "MISSING"})     # describe_services' word for the unknown
                continue
            found.append(deployments.describe(*located))
        return {"serviceDeployments": found, "failures": failures}

    def stop_service_deployment(self, raw: dict, params: dict, original: Callable[[], Any]) -> Any:
        arn = str(params.get("serviceDeploymentArn") or "")
        stop_type = params.get("stopType") or "ROLLBACK"
        if stop_type != "ROLLBACK":
            raise InvalidParameterError(f"stopType {stop_type} is not supported: the valid value is ROLLBACK.")
        located = self._find(arn)
        if located is None:
            raise ServiceDeploymentNotFoundError()
        record, service_deployment = located
        if service_deployment.status in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"):
            return {"serviceDeploymentArn": arn}        # "continues the rollback operation" (stop-service-deployment)
        if service_deployment.status not in deployments.ONGOING:
            raise ConflictError(f"The service deployment is {service_deployment.status}: only a PENDING or "
                                "IN_PROGRESS service deployment can be stopped.")
        if traffic.shift_of(record) is service_deployment:       # BLUE_GREEN / LINEAR / CANARY: back to blue
            spec = self.desired.service(record.cluster, record.name)
            group = spec.load_balancers[0].target_group_arn if spec is not None and spec.load_balancers else ""
            traffic.roll_back(record, service_deployment, reason=events.USER_ROLLBACK_REASON, desired=self.desired,
                              store=self.store, clock=self.clock, service_group=group, trigger="user")
            self._changed(record)
            return {"serviceDeploymentArn": arn}
        failing = next((d for d in record.deployments if d.id == service_deployment.deployment_id), None)
        previous = deployments.previous_completed(record, failing) if failing is not None else None
        if failing is None or previous is None:
            raise ConflictError("The service deployment has no earlier successful service revision to roll back to.")
        failing.rollout_state = "FAILED"
        failing.rollout_state_reason = events.USER_ROLLBACK_REASON
        deployments.roll_back(record, failing, reason=events.USER_ROLLBACK_REASON,
                              deployment_reason=events.user_rollback_deployment_reason(previous.id), clock=self.clock)
        self.desired.set_service_task_definition(record.cluster, record.name, previous.task_definition_arn)
        self.store.add_event(record, events.service_rolling_back(record.name, previous.id))
        self._changed(record)
        return {"serviceDeploymentArn": arn}

    def _changed(self, record: r.ServiceRecord) -> None:
        write_service_status(store=self.store, desired=self.desired, clock=self.clock, cluster=record.cluster,
                             name=record.name)
        self.store.queue.add(service_key(record.cluster, record.name))

    def _find(self, arn: str) -> tuple[r.ServiceRecord, r.ServiceDeploymentRecord] | None:
        for record in self.store.services.values():
            for service_deployment in record.service_deployments:
                if deployments.service_deployment_arn(record.arn, service_deployment) == arn:
                    return record, service_deployment
        return None


def _time(value: Any) -> datetime | None:
    """A timestamp as the JSON protocol sends it (epoch seconds) or ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterError(f"createdAt: {value!r} is not a timestamp.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    if not str(token).isdigit():
        raise InvalidParameterError("Invalid nextToken.")
    return int(token)
