"""Frozen value types handed out by control/moto/: what the engine reads of moto's desired state.

Nothing outside this package sees a moto model object; these copies are taken under the adapter's lock.

Example::

    spec = adapter.service("my-cluster", "web")      # ServiceSpec | None
    spec.desired_count, spec.load_balancers[0].container_port
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ClusterView", "TaskDefinitionView", "LoadBalancerBinding", "ServiceSpec", "TargetGroupSpec",
           "ListenerSpec", "TaskView", "TaskRef"]


@dataclass(frozen=True)
class ClusterView:
    name: str
    arn: str


@dataclass(frozen=True)
class TaskDefinitionView:
    arn: str
    family: str
    container_definitions: tuple[Mapping[str, Any], ...]
    network_mode: str | None = None
    cpu: str | None = None
    memory: str | None = None
    requires_compatibilities: tuple[str, ...] = ()
    compatibilities: tuple[str, ...] = ()
    status: str = "ACTIVE"                 # INACTIVE once deregistered
    task_role_arn: str | None = None       # the role the task's containers get credentials of (control/agent/)
    execution_role_arn: str | None = None  # the role the engine reads the task's secrets with (control/ecs/secrets.py)

    def containers(self) -> list[dict[str, Any]]:
        """Copies of the container definitions (camelCase dicts, as registered)."""
        return [dict(d) for d in self.container_definitions]

    def as_request(self) -> dict[str, Any]:
        """The definition shaped as RegisterTaskDefinition's request, for `taskdef.validate_launch`."""
        return {"family": self.family, "containerDefinitions": self.containers(), "networkMode": self.network_mode,
                "cpu": self.cpu, "memory": self.memory,
                "requiresCompatibilities": list(self.requires_compatibilities),
                "compatibilities": list(self.compatibilities)}


@dataclass(frozen=True)
class LoadBalancerBinding:
    """One of a service's `loadBalancers`: which container port is registered in which target group."""
    target_group_arn: str
    container_name: str
    container_port: int


@dataclass(frozen=True)
class ServiceSpec:
    cluster: str
    name: str
    arn: str
    status: str
    desired_count: int
    task_definition_arn: str
    launch_type: str | None = None
    load_balancers: tuple[LoadBalancerBinding, ...] = ()
    running_count: int = 0
    pending_count: int = 0
    first_deployment_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


@dataclass(frozen=True)
class TargetGroupSpec:
    """A target group's health-check settings, with ELBv2's defaults where moto holds none."""
    arn: str
    health_path: str = "/"
    interval_s: float = 30.0
    timeout_s: float = 5.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"


@dataclass(frozen=True)
class ListenerSpec:
    """An HTTP listener with its load balancer and default forward target group."""
    load_balancer_arn: str
    load_balancer_name: str
    listener_arn: str
    port: int
    protocol: str
    target_group_arn: str | None
    # (target group ARN, weight) the listener forwards to: its first forward rule by priority, else its default
    # action (the local balancer does not evaluate rule conditions); one group weighs 1
    forward: tuple[tuple[str, int], ...] = ()
    forward_rule_arn: str | None = None          # the rule `forward` came from (None: the default action)


@dataclass(frozen=True)
class TaskView:
    """What ListTasks filters on."""
    arn: str
    task_definition_arn: str
    group: str
    started_by: str
    container_instance_arn: str | None
    launch_type: str | None
    desired_status: str


@dataclass(frozen=True)
class TaskRef:
    """A task named in an API reply; the interception wrapper replaces it with moto's task for serialisation."""
    cluster: str
    arn: str
