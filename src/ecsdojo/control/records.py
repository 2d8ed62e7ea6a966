"""Observed state, kept by the control plane in plain dataclasses and written to moto by the adapter.

moto holds the desired state (clusters, task definitions, services, desired counts); these records hold
what really happened: containers, health, timestamps, stop codes, service events and deployments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Stop codes and reasons, and every service event's wording, live in control/events.py.


@dataclass
class ContainerRecord:
    name: str
    image: str
    essential: bool = True
    container_arn: str = ""
    runtime_id: str | None = None
    last_status: str = "PENDING"
    exit_code: int | None = None
    reason: str | None = None
    health: str = "UNKNOWN"             # HEALTHY | UNHEALTHY | UNKNOWN (ECS words)
    has_health_check: bool = False
    container_port_bindings: list[tuple[int, int | None, str]] = field(default_factory=list)  # (container, declared host, proto)
    host_ports: dict[int, int] = field(default_factory=dict)   # container port -> real 127.0.0.1 port
    cpu: int = 0
    memory: int | None = None
    memory_reservation: int | None = None
    restart_count: int = 0              # restarts in place by its restartPolicy (task metadata v4: RestartCount)


@dataclass
class TaskRecord:
    arn: str
    id: str
    cluster: str
    task_definition_arn: str
    group: str
    started_by: str = ""
    launch_type: str = "EC2"
    network_mode: str = "bridge"
    service: str | None = None               # service name when the service scheduler owns it
    deployment_id: str | None = None
    container_instance_arn: str | None = None
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    created_at: datetime | None = None
    pull_started_at: datetime | None = None
    pull_stopped_at: datetime | None = None
    started_at: datetime | None = None
    stopping_at: datetime | None = None
    stopped_at: datetime | None = None
    execution_stopped_at: datetime | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    containers: list[ContainerRecord] = field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None
    reached_running: bool = False
    health_since: float | None = None         # monotonic time the task became RUNNING (grace period)
    reserved: dict[str, Any] = field(default_factory=dict)   # cpu/memory/ports held on the container instance
    enable_execute_command: bool = False       # ECS Exec: set at launch (run_task, or the service's setting)
    pause_runtime_id: str | None = None       # the awsvpc task's network-namespace holder (never in the API)
    pause_ports: dict[int, int] = field(default_factory=dict)   # ... and the ports it publishes (container -> host)
    pending_specs: dict[str, Any] = field(default_factory=dict)  # container name -> ContainerSpec not yet started
    task_role_arn: str | None = None          # RunTask's overrides.taskRoleArn, else the definition's (control/agent/)
    execution_role_arn: str | None = None     # RunTask's overrides.executionRoleArn, else the definition's (secrets)

    @property
    def health_status(self) -> str:
        """Task health from essential containers with a health check: UNHEALTHY > UNKNOWN > HEALTHY."""
        checked = [c for c in self.containers if c.essential and c.has_health_check]
        if not checked:
            return "UNKNOWN"
        states = {c.health for c in checked}
        if "UNHEALTHY" in states:
            return "UNHEALTHY"
        if "UNKNOWN" in states:
            return "UNKNOWN"
        return "HEALTHY"

    @property
    def active(self) -> bool:
        """Counts toward a service: not yet stopped and still wanted."""
        return self.desired_status == "RUNNING" and self.last_status != "STOPPED"


@dataclass
class Deployment:
    id: str
    task_definition_arn: str
    status: str = "PRIMARY"                    # PRIMARY | ACTIVE | INACTIVE
    rollout_state: str = "IN_PROGRESS"         # IN_PROGRESS | COMPLETED | FAILED
    rollout_state_reason: str = ""
    desired_count: int = 0
    running_count: int = 0
    pending_count: int = 0
    failed_tasks: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    launch_type: str | None = None
    network_configuration: dict | None = None
    revision_id: str | None = None             # its service revision (a rollback reuses the one it returns to)
    target_group_arn: str | None = None        # blue/green: the target group its tasks register in (None: the
                                               # service's loadBalancers[].targetGroupArn)

    def as_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "status": self.status, "taskDefinition": self.task_definition_arn,
            "desiredCount": self.desired_count, "pendingCount": self.pending_count,
            "runningCount": self.running_count, "failedTasks": self.failed_tasks,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
            "rolloutState": self.rollout_state, "rolloutStateReason": self.rollout_state_reason,
        }
        if self.launch_type:
            body["launchType"] = self.launch_type
        if self.network_configuration:
            body["networkConfiguration"] = self.network_configuration
        return body


@dataclass
class ServiceSettings:
    """What create_service/update_service asked for that moto does not keep."""
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker_enable: bool = False
    circuit_breaker_rollback: bool = False
    health_check_grace_period_s: int = 0
    placement_strategy: list[dict] = field(default_factory=list)
    placement_constraints: list[dict] = field(default_factory=list)
    enable_execute_command: bool = False     # given to the tasks it launches from then on (as ECS does)
    # deploymentConfiguration.strategy and what BLUE_GREEN / LINEAR / CANARY use (control/ecs/traffic.py)
    strategy: str = "ROLLING"
    bake_time_min: float = 0.0
    linear_step_percent: float = 10.0          # API defaults (botocore's model documentation)
    linear_step_bake_min: float = 6.0
    canary_percent: float = 5.0
    canary_bake_min: float = 10.0
    alarm_names: list[str] = field(default_factory=list)
    alarms_enable: bool = False
    alarms_rollback: bool = False
    lifecycle_hooks: list[dict] = field(default_factory=list)
    alternate_target_group: str | None = None  # loadBalancers[0].advancedConfiguration
    production_listener_rule: str | None = None
    test_listener_rule: str | None = None


@dataclass
class ServiceDeploymentRecord:
    """One service deployment (ListServiceDeployments / DescribeServiceDeployments): the move from the source
    service revisions to a target one, kept after describe_services has forgotten its deployment."""
    id: str
    deployment_id: str                          # the Deployment (describe_services' ecs-svc/…) it deploys
    target_revision_id: str
    source_revision_ids: list[str] = field(default_factory=list)
    status: str = "PENDING"                     # ServiceDeploymentStatus
    status_reason: str = ""
    lifecycle_stage: str | None = None          # set by the strategies that have stages (not ROLLING)
    stage_since: float = 0.0                    # monotonic time the stage began
    production_weight: float = 0.0              # percent of production traffic sent to the target revision
    test_weight: float = 0.0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    updated_at: datetime | None = None
    deployment_configuration: dict[str, Any] = field(default_factory=dict)
    rollback_deployment_id: str | None = None
    rollback_reason: str = ""
    rollback_started_at: datetime | None = None
    rollback_revision_id: str | None = None
    circuit_breaker_status: str = "DISABLED"
    failure_count: int = 0                      # the target deployment's failed tasks (it may be pruned since)
    failure_threshold: int = 3
    alarm_names: list[str] = field(default_factory=list)
    triggered_alarms: list[str] = field(default_factory=list)
    alarms_status: str = "DISABLED"


@dataclass
class ServiceRecord:
    cluster: str
    name: str
    arn: str
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    deployments: list[Deployment] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)     # newest first, as ECS returns them
    consecutive_start_failures: int = 0
    throttled_until: float = 0.0                                    # monotonic
    throttle_level: int = 0
    steady: bool = False
    last_placement_failure_event: float = 0.0
    counted_stops: set[str] = field(default_factory=set)    # stopped tasks the scheduler has taken into account
    adopted_generation: int = 0        # the CloudFormation settings last taken (control/ecs/discovery.py)
    adopted_identity: str = ""         # the moto service object this record follows (control/ecs/discovery.py)
    service_deployments: list[ServiceDeploymentRecord] = field(default_factory=list)   # newest first

    @property
    def primary(self) -> Deployment | None:
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)

    @property
    def deployment_in_progress(self) -> bool:
        """A rollout is under way: more than one live deployment, or the primary not yet COMPLETED."""
        live = [d for d in self.deployments if d.status in ("PRIMARY", "ACTIVE")]
        primary = self.primary
        return len(live) > 1 or (primary is not None and primary.rollout_state == "IN_PROGRESS")


@dataclass
class InstanceRecord:
    """A simulated EC2 container instance: what it offers and what its tasks hold."""
    arn: str
    ec2_instance_id: str
    availability_zone: str
    cpu: int
    memory: int
    used_cpu: int = 0
    used_memory: int = 0
    used_ports: set[int] = field(default_factory=set)
    running_tasks: int = 0

    @property
    def remaining_cpu(self) -> int:
        return self.cpu - self.used_cpu

    @property
    def remaining_memory(self) -> int:
        return self.memory - self.used_memory
