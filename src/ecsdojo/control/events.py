"""ECS's words: every service event message, stop code and stop reason the engine writes, in one place.

Change how ECS's wording reads here and nowhere else. Stop codes are the API's `TaskStopCode` enum
(botocore's ecs service-2.json); service event messages and stopped reasons are worded as ECS writes them
(the Amazon ECS Developer Guide's "Amazon ECS service event messages" and "stopped task errors" pages;
see /work/shared/FACTS.md). Event functions take the service's name and return the message text.

Example::

    >>> service_started_tasks("web", ["arn:aws:ecs:us-east-1:123456789012:task/c/abc"])
    '(service web) has started 1 tasks: (task abc).'
    >>> STOP_ESSENTIAL_EXITED.code, STOP_ESSENTIAL_EXITED.reason
    ('EssentialContainerExited', 'Essential container in task exited')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "TASK_FAILED_TO_START", "ESSENTIAL_CONTAINER_EXITED", "USER_INITIATED", "SERVICE_SCHEDULER_INITIATED",
    "StopReason", "STOP_ESSENTIAL_EXITED", "STOP_FAILED_HEALTH_CHECKS", "USER_STOP_REASON", "stop_by_user", "stop_for_scaling",
    "stop_failed_elb_health_checks", "stop_failed_to_start", "cannot_start_container", "dependency_failed_reason",
    "DEPENDENCY_EXIT_CODE", "asked_by_load_balancer", "LOG_GROUP_MISSING",
    "log_group_missing_reason", "SECRETS_PREFIX", "secrets_unavailable_reason",
    "OOM_REASON", "CONTAINER_REMOVED_REASON",
    "task_list", "service_started_tasks", "service_stopped_tasks", "service_task_failed_health_checks",
    "service_task_failed_elb_health_checks", "service_unable_to_place", "service_unable_to_start_consistently",
    "service_steady_state", "service_deployment_completed", "service_deployment_failed", "service_rolling_back",
    "service_deployment_superseded_reason", "USER_ROLLBACK_REASON", "user_rollback_deployment_reason",
    "alarms_rollback_reason",
    "service_registered_targets", "service_deregistered_targets", "CIRCUIT_BREAKER_FAILED_REASON",
    "circuit_breaker_rollback_reason", "deployment_completed_reason", "run_task_failure_reason",
]

# ---- stop codes (API model: TaskStopCode) ------------------------------------------------------------------
TASK_FAILED_TO_START = "TaskFailedToStart"
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
USER_INITIATED = "UserInitiated"
SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"


@dataclass(frozen=True)
class StopReason:
    """A task's stopCode with its stoppedReason, as `store.request_stop` takes them."""
    code: str
    reason: str


# ---- stopped reasons -----------------------------------------------------------------------------------------
STOP_ESSENTIAL_EXITED = StopReason(ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
STOP_FAILED_HEALTH_CHECKS = StopReason(SERVICE_SCHEDULER_INITIATED, "Task failed container health checks")
USER_STOP_REASON = "Task stopped by user"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
CONTAINER_REMOVED_REASON = "Container removed outside ECS"
_ELB_HEALTH_CHECKS_PREFIX = "Task failed ELB health checks in (elb "


def stop_by_user(reason: str | None = None) -> StopReason:
    """StopTask: the caller's reason, else ECS's default."""
    return StopReason(USER_INITIATED, reason or USER_STOP_REASON)


def stop_for_scaling(deployment_id: str | None) -> StopReason:
    """The service scheduler stops a task it no longer needs (desired count down, an old deployment)."""
    return StopReason(SERVICE_SCHEDULER_INITIATED, f"Scaling activity initiated by (deployment {deployment_id})")


def stop_failed_elb_health_checks(load_balancer_name: str) -> StopReason:
    return StopReason(SERVICE_SCHEDULER_INITIATED, f"{_ELB_HEALTH_CHECKS_PREFIX}{load_balancer_name})")


def asked_by_load_balancer(stop: StopReason) -> bool:
    """Whether a stop was asked for because the load balancer's health checks failed the task.

    A container that has exited fails the load balancer's checks too (connection refused), and the balancer's
    prober may notice before the task reconciler sees the exit: the exit is the cause, so the task reconciler
    reports EssentialContainerExited (with the exit code and OOM reason) for a task whose essential container had
    already exited when it came to stop it. (The container's own health check cannot race the exit: the task
    reconciler observes both, and the exit first.)

    >>> asked_by_load_balancer(stop_failed_elb_health_checks("web-lb")), asked_by_load_balancer(stop_by_user())
    (True, False)
    """
    return stop.code == SERVICE_SCHEDULER_INITIATED and stop.reason.startswith(_ELB_HEALTH_CHECKS_PREFIX)


def stop_failed_to_start(runtime_reason: str) -> StopReason:
    """The runtime's own reason (CannotPullContainerError: ..., CannotStartContainerError: ...)."""
    return StopReason(TASK_FAILED_TO_START, runtime_reason)


def cannot_start_container(detail: str) -> str:
    """A start failure the runtime did not word itself (ECS's error class for a container that cannot start)."""
    return f"CannotStartContainerError: {detail}"


# A container whose dependsOn can never be met does not start: the ECS agent marks it STOPPED with exit code 143
# and a CannotStartContainerError carrying the dependency graph's error (amazon-ecs-agent, agent/engine/
# task_manager.go handleTerminalDependencyError and dependencygraph/graph.go
# verifyContainerOrderingStatusResolvable); an essential one then stops the task as any essential container that
# stopped does. The agent prints both containers as Go structs; we print their names.
DEPENDENCY_EXIT_CODE = 143
_DEPENDENCY_WHY = {
    "failed": "as dependency did not exit successfully.",
    "never": "because dependency will never start",
    "timeout": "has timed out.",
}


def dependency_failed_reason(dependency: str, target: str, why: str) -> str:
    """Why a container whose dependency can never be met did not start (`why`: failed | never | timeout).

    >>> dependency_failed_reason("init", "app", "failed")[:64]
    'CannotStartContainerError: dependency graph: failed to resolve c'
    """
    if why == "timeout":
        text = f"dependency graph: container ordering dependency [{dependency}] for target [{target}] has timed out."
    else:
        text = (f"dependency graph: failed to resolve container ordering dependency [{dependency}] for target "
                f"[{target}] {_DEPENDENCY_WHY[why]}")
    return cannot_start_container(text)


SECRETS_PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "


def secrets_unavailable_reason(source: str, detail: str) -> str:
    """A task whose `secrets` cannot be read does not start (stop code TaskFailedToStart).

    Worded as the AWS Knowledge Center quotes the agent ("How do I troubleshoot the 'unable to pull secrets or
    registry auth' error in Amazon ECS?", repost.aws/knowledge-center/ecs-unable-to-pull-secrets), e.g.
    "...unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret ARN
    from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.". The
    Parameter Store form ("unable to retrieve secrets from ssm: ... invalid parameters: NAME") is observed
    wording, not verified against an AWS page. `source` is "asm" or "ssm"; `detail` the AWS error.
    """
    what = "secret from asm" if source == "asm" else "secrets from ssm"
    return f"{SECRETS_PREFIX}unable to retrieve {what}: service call has been retried 1 time(s): {detail}"


LOG_GROUP_MISSING = ("failed to initialize logging driver: failed to create Cloudwatch log stream: "
                     "ResourceNotFoundException: The specified log group does not exist.")


def log_group_missing_reason(launch_type: str) -> str:
    """A container whose awslogs group does not exist (and no awslogs-create-group) cannot start.

    Fargate: "ResourceInitializationError: failed to initialize logging driver: <reason>" (Amazon ECS Developer
    Guide, "Stopped tasks error codes", docs.aws.amazon.com/AmazonECS/latest/userguide/stopped-task-error-codes.html).
    EC2: Docker's awslogs driver refuses to create the container; the text after the prefix is Docker's error as
    users report it (observed, not documented by AWS; e.g. github.com/Rayraegah/terraform-aws-hasura/issues/25).
    """
    if launch_type == "FARGATE":
        return f"ResourceInitializationError: {LOG_GROUP_MISSING}"
    return f"CannotStartContainerError: Error response from daemon: {LOG_GROUP_MISSING}"


# ---- service events (newest first in describe_services) --------------------------------------------------------
def task_list(arns: Iterable[str]) -> str:
    return " ".join(f"(task {arn.rsplit('/', 1)[-1]})" for arn in arns)


def service_started_tasks(service: str, arns: list[str]) -> str:
    return f"(service {service}) has started {len(arns)} tasks: {task_list(arns)}."


def service_stopped_tasks(service: str, arns: list[str]) -> str:
    return f"(service {service}) has stopped {len(arns)} running tasks: {task_list(arns)}."


def service_task_failed_health_checks(service: str, task_id: str) -> str:
    return f"(service {service}) (task {task_id}) failed container health checks."


def service_task_failed_elb_health_checks(service: str, task_id: str, target_group_arn: str) -> str:
    return f"(service {service}) (task {task_id}) failed ELB health checks in (target-group {target_group_arn})"


def service_unable_to_place(service: str, missing: str) -> str:
    """`missing` is placement's sentence, e.g. "The closest matching container-instance ... has insufficient
    memory available."."""
    return (f"(service {service}) was unable to place a task because no container instance met all of its "
            f"requirements. {missing.rstrip('.')}. For more information, see the Troubleshooting section of the "
            f"Amazon ECS Developer Guide.")


def service_unable_to_start_consistently(service: str) -> str:
    return f"(service {service}) is unable to consistently start tasks successfully."


def service_steady_state(service: str) -> str:
    return f"(service {service}) has reached a steady state."


def service_deployment_completed(service: str, deployment_id: str) -> str:
    return f"(service {service}) deployment {deployment_id} deployment completed."


def service_deployment_failed(service: str, deployment_id: str) -> str:
    return f"(service {service}) deployment {deployment_id} deployment failed: tasks failed to start."


def service_rolling_back(service: str, deployment_id: str) -> str:
    return f"(service {service}) rolling back to deployment {deployment_id}."


def service_registered_targets(service: str, count: int, target_group_arn: str) -> str:
    return f"(service {service}) registered {count} targets in (target-group {target_group_arn})"


def service_deregistered_targets(service: str, count: int, target_group_arn: str) -> str:
    return f"(service {service}) deregistered {count} targets in (target-group {target_group_arn})"


# ---- deployments' rolloutStateReason ------------------------------------------------------------------------------
CIRCUIT_BREAKER_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."


def circuit_breaker_rollback_reason(previous_deployment_id: str) -> str:
    return f"ECS deployment circuit breaker: rolling back to deploymentId {previous_deployment_id}."


def deployment_completed_reason(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} completed."


# ---- service deployments' statusReason (ListServiceDeployments / DescribeServiceDeployments) ----------------------
# Our wording: AWS documents the statuses (developerguide/service-deployment.html), not these sentences.
def service_deployment_superseded_reason(newer_id: str) -> str:
    return f"Stopped: a newer service deployment {newer_id} started."


def alarms_rollback_reason(alarm_names: list[str]) -> str:
    return f"CloudWatch alarm(s) in ALARM during the deployment: {', '.join(alarm_names)}."


USER_ROLLBACK_REASON = "Service deployment stopped by the user (StopServiceDeployment ROLLBACK)."


def user_rollback_deployment_reason(previous_deployment_id: str) -> str:
    return f"StopServiceDeployment: rolling back to deploymentId {previous_deployment_id}."


# ---- RunTask failures ---------------------------------------------------------------------------------------------
def run_task_failure_reason(missing: str) -> str:
    """A RunTask `failures[].reason` as AWS reports it, from placement's sentence."""
    if "No Container Instances" in missing:
        return "No Container Instances were found in your cluster."
    if "memory" in missing:
        return "RESOURCE:MEMORY"
    if "CPU" in missing:
        return "RESOURCE:CPU"
    if "port" in missing:
        return "RESOURCE:PORTS"
    return missing
