"""Module 09, debugging a service: the broken services a learner is handed, and checks that read what really runs.

Everything here goes through the public APIs a learner would use on AWS — boto3's ``ecs``, ``logs`` and
``elbv2`` clients (pointed at LocalECS's moto) — so the same reading works against a real account. The broken
services are ordinary task definitions and services; nothing is faked: each fails in the engine for the reason
it would fail on ECS.

Example::

    local = LocalECS(speed=20).start()
    ecs = local.client("ecs")
    hand_out(local, "orders", "crash")               # a service whose container exits at start
    print(diagnose(local, "orders"))                 # counts, events, the newest stopped task, its last log lines
    service_is_steady(ecs, "orders")                 # False until it is fixed
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["CLUSTER", "FAULTS", "EXERCISE_SERVICES", "LOG_REGION", "UnknownFault", "awslogs", "web_container",
           "log_group_of", "hand_out", "hand_out_exercises", "stopped_tasks", "newest_stopped",
           "recent_log_lines", "diagnose", "service_is_steady", "steady_and_stable", "healthy_targets",
           "log_stream_has_lines"]

CLUSTER = "dojo"
LOG_REGION = "us-east-1"         # LocalECS's region (cloud.REGION); awslogs-region must name the logs' region
APP_PORT = 8080                   # the demo app listens on $PORT, 8080 in the image

#: The faults a service can be handed, and what each does to the task definition or the load balancer.
FAULTS = {
    "crash": "the container exits at start (APP_EXIT_AT_START=3)",
    "image": "the image does not exist (ecsdojo/app:no-such-tag)",
    "log-group": "awslogs names a log group that does not exist, without awslogs-create-group",
    "oom": "a hard memory limit (6 MiB) far below what the app needs to start",
    "port": "the app listens on 9090 while the task definition and the load balancer use container port 8080",
    "health-path": "the target group health-checks /healthz, a path the app answers with 404",
}


#: The services exercise 1 hands out, and what is wrong with each (the learner finds out).
EXERCISE_SERVICES = {"orders": "log-group", "payments": "oom", "search": "port", "profile": "health-path"}


class UnknownFault(ValueError):
    def __init__(self, fault: str) -> None:
        super().__init__(f"unknown fault {fault!r}: choose one of {', '.join(FAULTS)}")


def awslogs(group: str, *, create_group: bool = True, prefix: str = "ecs") -> dict[str, Any]:
    """A container's ``logConfiguration`` for the awslogs driver (streams are named PREFIX/CONTAINER/TASK-ID)."""
    options = {"awslogs-group": group, "awslogs-region": LOG_REGION, "awslogs-stream-prefix": prefix}
    if create_group:
        options["awslogs-create-group"] = "true"
    return {"logDriver": "awslogs", "options": options}


def web_container(service: str, **extra: Any) -> dict[str, Any]:
    """The demo app's container definition for a service: 128 MiB hard limit, port 8080, logs to /ecs/SERVICE."""
    body: dict[str, Any] = {"name": "web", "image": "ecsdojo/app:latest", "memory": 128,
                            "portMappings": [{"containerPort": APP_PORT, "hostPort": 0}],
                            "logConfiguration": awslogs(f"/ecs/{service}")}
    body.update(extra)
    return body


def log_group_of(ecs: Any, service: str, *, cluster: str = CLUSTER) -> str | None:
    """The awslogs group of the service's current task definition's first container (None without awslogs)."""
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not found:
        return None
    definition = ecs.describe_task_definition(taskDefinition=found[0]["taskDefinition"])["taskDefinition"]
    config = definition["containerDefinitions"][0].get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    return config.get("options", {}).get("awslogs-group")


def hand_out(local: Any, service: str, fault: str, *, cluster: str = CLUSTER, desired_count: int = 1) -> None:
    """Register a broken task definition family SERVICE and create service SERVICE from it (EC2), without
    waiting: the engine then fails it for the fault's real reason. "port" and "health-path" put the service
    behind a new load balancer SERVICE-lb (health checks every 5 s, 2 in a row to change state)."""
    if fault not in FAULTS:
        raise UnknownFault(fault)
    ecs = local.client("ecs")
    clusters = ecs.describe_clusters(clusters=[cluster])["clusters"]
    if not clusters or clusters[0]["status"] != "ACTIVE":
        ecs.create_cluster(clusterName=cluster)
    container = web_container(service)
    if fault == "crash":
        container["environment"] = [{"name": "APP_EXIT_AT_START", "value": "3"}]
    elif fault == "image":
        container["image"] = "ecsdojo/app:no-such-tag"
    elif fault == "log-group":
        container["logConfiguration"] = awslogs(f"/ecs/{service}", create_group=False)
    elif fault == "oom":
        container["memory"] = 6
    elif fault == "port":
        container["environment"] = [{"name": "PORT", "value": "9090"}]
    ecs.register_task_definition(family=service, containerDefinitions=[container])
    if fault in ("port", "health-path"):
        local.create_service_behind_load_balancer(
            cluster=cluster, service=service, task_definition=service, container_name="web",
            container_port=APP_PORT, port=APP_PORT, desired_count=desired_count,
            health_path="/healthz" if fault == "health-path" else "/health", wait=False)
    else:
        ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=service,
                           desiredCount=desired_count, launchType="EC2")


def hand_out_exercises(local: Any, *, cluster: str = CLUSTER) -> list[str]:
    """Hand out the exercise services (one task each); returns their names."""
    for service, fault in EXERCISE_SERVICES.items():
        hand_out(local, service, fault, cluster=cluster)
    return list(EXERCISE_SERVICES)


def stopped_tasks(ecs: Any, service: str, *, cluster: str = CLUSTER) -> list[dict[str, Any]]:
    """The service's STOPPED tasks as describe_tasks returns them, newest stop first."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    tasks = [t for t in tasks if t.get("lastStatus") == "STOPPED"]
    return sorted(tasks, key=lambda t: t.get("stoppedAt") or t.get("createdAt"), reverse=True)


def newest_stopped(ecs: Any, service: str, *, cluster: str = CLUSTER) -> dict[str, Any] | None:
    tasks = stopped_tasks(ecs, service, cluster=cluster)
    return tasks[0] if tasks else None


def recent_log_lines(logs: Any, group: str, *, task_id: str | None = None, limit: int = 5) -> list[str]:
    """The last `limit` lines of a log group (of one task's streams when `task_id` is given); [] when the group
    does not exist."""
    request: dict[str, Any] = {"logGroupName": group, "interleaved": True}
    try:
        events: list[dict[str, Any]] = []
        while True:
            page = logs.filter_log_events(**request)
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                break
            request["nextToken"] = token
    except logs.exceptions.ResourceNotFoundException:
        return []
    if task_id:
        events = [e for e in events if e["logStreamName"].endswith("/" + task_id)]
    events.sort(key=lambda e: e["timestamp"])
    return [e["message"].rstrip("\n") for e in events[-limit:]]


def diagnose(local: Any, service: str, *, cluster: str = CLUSTER, events: int = 3) -> str:
    """What an engineer reads first, in order: the counts, the latest events, the newest stopped task (stop code,
    reason, each container's exit code and reason) and that task's last log lines."""
    ecs, logs = local.client("ecs"), local.client("logs")
    body = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    lines = [f"service {service}: desired {body['desiredCount']}, running {body['runningCount']}, "
             f"pending {body['pendingCount']}", "latest events:"]
    lines += [f"  {e['message']}" for e in body.get("events", [])[:events]] or ["  (none)"]
    task = newest_stopped(ecs, service, cluster=cluster)
    if task is None:
        lines.append("no stopped task")
        return "\n".join(lines)
    lines.append(f"newest stopped task: stopCode {task.get('stopCode')}")
    lines.append(f"  stoppedReason: {task.get('stoppedReason')}")
    for container in task.get("containers", []):
        lines.append(f"  container {container['name']}: exitCode {container.get('exitCode')}, "
                     f"reason {container.get('reason')}")
    group = log_group_of(ecs, service, cluster=cluster)
    if group:
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        recent = recent_log_lines(logs, group, task_id=task_id)
        lines.append(f"its last log lines in {group}:" if recent else f"no log lines of it in {group}")
        lines += [f"  {line}" for line in recent]
    return "\n".join(lines)


def service_is_steady(ecs: Any, service: str, *, cluster: str = CLUSTER) -> bool:
    """ACTIVE, at least one task desired, all of them RUNNING, none pending, and one deployment left."""
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not found or found[0].get("status") != "ACTIVE":
        return False
    body = found[0]
    return (body["desiredCount"] > 0 and body["runningCount"] == body["desiredCount"]
            and body["pendingCount"] == 0 and len(body.get("deployments", [])) == 1)


def steady_and_stable(local: Any, service: str, *, cluster: str = CLUSTER, within: float = 20.0,
                      hold_s: float = 2.0, healthy: bool = False) -> bool:
    """Whether the service settles within `within` seconds: steady (see service_is_steady) — and with
    `healthy`, every running task a healthy target — with the same tasks for `hold_s` seconds in a row. A crash
    loop, RUNNING for a moment between crashes, or a target that keeps failing, does not pass."""
    ecs = local.client("ecs")
    deadline = time.monotonic() + within

    def settled_now() -> frozenset[str] | None:
        if not service_is_steady(ecs, service, cluster=cluster):
            return None
        tasks = frozenset(ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"])
        if healthy and healthy_targets(local, service, cluster=cluster) < len(tasks):
            return None
        return tasks

    while time.monotonic() < deadline:
        before = settled_now()
        if before is not None:
            time.sleep(hold_s)      # on purpose: "the same tasks a moment later" is the condition itself
            if settled_now() == before:
                return True
        else:
            time.sleep(0.5)
    return False


def healthy_targets(local: Any, service: str, *, cluster: str = CLUSTER) -> int:
    """How many of the service's RUNNING tasks its target groups report healthy (DescribeTargetHealth)."""
    ecs, elbv2 = local.client("ecs"), local.client("elbv2")
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not found:
        return 0
    running = ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
    ids = {arn.rsplit("/", 1)[-1] for arn in running}
    states = local.target_states()
    groups = [b["targetGroupArn"] for b in found[0].get("loadBalancers", []) if b.get("targetGroupArn")]
    for group in groups:        # the target group must still exist in the API
        elbv2.describe_target_groups(TargetGroupArns=[group])
    return sum(1 for task_id, state in states.items() if task_id in ids and state == "healthy")


def log_stream_has_lines(local: Any, service: str, *, cluster: str = CLUSTER) -> bool:
    """A RUNNING task of the service has a stream in the service's awslogs group with at least one line."""
    ecs, logs = local.client("ecs"), local.client("logs")
    group = log_group_of(ecs, service, cluster=cluster)
    if not group:
        return False
    for arn in ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]:
        if recent_log_lines(logs, group, task_id=arn.rsplit("/", 1)[-1], limit=1):
            return True
    return False
