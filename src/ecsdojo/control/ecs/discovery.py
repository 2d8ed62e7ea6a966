"""Every path into moto is reconciled: clusters and services that reached moto by another route than the ECS
API handlers (CloudFormation's `aws cloudformation deploy`, moto's own models) are adopted on resync.

ECS has one scheduler whatever created the service; here the ECS API handlers (api.py) record a service's intent
as the call arrives, and this pass, run with every services resync (plane.py, every 5 s), finds the rest in moto:
- a cluster without container instances gets them (as CreateCluster gives them);
- an ACTIVE service the store does not know is adopted: a ServiceRecord with its first deployment and the settings
  its creator gave (control/moto/cloudformation.py keeps CloudFormation's), then scheduled like any other: tasks,
  events, load balancer targets, `dojo status`;
- a service deleted and made again under the same name (a stack deleted, then deployed again) is adopted
  afresh: the adapter tells moto's service objects apart (`identity`);
- a known service whose task definition was changed behind the API (a stack update) gets a new deployment, so
  the scheduler rolls it as UpdateService would; a deleted one is drained by the service reconciler (it sees the
  service INACTIVE or gone).

Example::

    Discovery(store=store, desired=adapter, clock=clock, add_instances=plane.add_instances).sync()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs.api import apply_settings
from ecsdojo.control.ecs.status import write_service_status
from ecsdojo.control.moto.views import ServiceSpec
from ecsdojo.control.store import ObservedState, new_deployment_id, service_key

__all__ = ["Discovery"]


class DesiredState(Protocol):
    def clusters(self) -> list[str]: ...
    def all_services(self) -> list[tuple[str, str]]: ...
    def service(self, cluster: str, name: str) -> ServiceSpec | None: ...
    def service_request(self, cluster: str, name: str) -> dict[str, Any]: ...


class Discovery:
    def __init__(self, *, store: ObservedState, desired: DesiredState, clock: Clock,
                 add_instances: Callable[[str], None]) -> None:
        self.store = store
        self.desired = desired
        self.clock = clock
        self.add_instances = add_instances

    def sync(self) -> list[tuple[str, str]]:
        """Adopt what moto holds and the store does not; returns the service keys it changed."""
        changed = []
        with self.store.lock:
            for cluster in self.desired.clusters():
                if cluster not in self.store.instances:
                    self.add_instances(cluster)
            for cluster, name in self.desired.all_services():
                spec = self.desired.service(cluster, name)
                if spec is None or spec.status != "ACTIVE" or not spec.task_definition_arn:
                    continue
                record = self.store.service(cluster, name)
                request = self.desired.service_request(cluster, name)
                identity = str(request.get("identity", ""))
                if record is not None and not record.adopted_identity:
                    record.adopted_identity = identity        # made through the API: first sight of its object
                if record is None or record.arn != spec.arn or record.adopted_identity != identity:
                    self._adopt(spec, request)               # new, or deleted and made again under its name
                    changed.append((cluster, name))
                elif self._follow(record, spec, request):
                    changed.append((cluster, name))
            for cluster, name in changed:
                write_service_status(store=self.store, desired=self.desired, clock=self.clock, cluster=cluster,
                                     name=name)
                self.store.queue.add(service_key(cluster, name))
        return changed

    def _deployment(self, spec: ServiceSpec, request: dict[str, Any], *, deployment_id: str) -> r.Deployment:
        now = self.clock.now()
        return r.Deployment(id=deployment_id, task_definition_arn=spec.task_definition_arn,
                            desired_count=spec.desired_count, created_at=now, updated_at=now,
                            launch_type=request.get("launchType") or spec.launch_type or "EC2",
                            network_configuration=request.get("networkConfiguration"))

    def _adopt(self, spec: ServiceSpec, request: dict[str, Any]) -> None:
        record = r.ServiceRecord(cluster=spec.cluster, name=spec.name, arn=spec.arn)
        apply_settings(record.settings, request)
        record.adopted_generation = int(request.get("generation", 0))
        record.adopted_identity = str(request.get("identity", ""))
        record.deployments.append(self._deployment(spec, request,
                                                   deployment_id=spec.first_deployment_id or new_deployment_id()))
        self.store.add_service(record)

    def _follow(self, record: r.ServiceRecord, spec: ServiceSpec, request: dict[str, Any]) -> bool:
        """A change made behind the API: new settings (a stack update), a new task definition (a new rollout)."""
        changed = False
        generation = int(request.get("generation", 0))
        if generation != record.adopted_generation:
            apply_settings(record.settings, request)
            record.adopted_generation = generation
            changed = True
        primary = record.primary
        if primary is not None and spec.task_definition_arn != primary.task_definition_arn:
            primary.status = "ACTIVE"
            record.deployments.insert(0, self._deployment(spec, request, deployment_id=new_deployment_id()))
            record.consecutive_start_failures = 0         # a new revision resets the launch throttle
            record.throttle_level = 0
            record.throttled_until = 0.0
            changed = True
        return changed
