"""Pure builders of the task metadata endpoint v4 answers, shaped as the ECS agent serves them.

Field names and shapes follow the Amazon ECS Developer Guide, "Amazon ECS task metadata endpoint version 4"
(the container response of `${ECS_CONTAINER_METADATA_URI_V4}`, the task response of `.../task`, and
"task metadata v4 examples"). Differences, on purpose: `Networks` lists the network mode without addresses
(containers here are never addressed by their bridge IPs), `ImageID` is the image reference when no digest is
known, and there is no `AvailabilityZone` (EC2 tasks on the agent report none either).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecsdojo.control.records import ContainerRecord, TaskRecord

__all__ = ["ContainerIdentity", "container_metadata", "task_metadata"]


@dataclass(frozen=True)
class ContainerIdentity:
    """What the agent knows of one container from its task definition, fixed at start."""
    task_arn: str
    name: str
    docker_name: str
    image: str
    family: str
    revision: int
    cpu: int
    memory: int | None
    log_driver: str | None = None
    log_options: tuple[tuple[str, str], ...] = ()


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def container_metadata(identity: ContainerIdentity, task: TaskRecord, container: ContainerRecord | None,
                       *, started_at: datetime | None = None) -> dict[str, Any]:
    """The answer of `${ECS_CONTAINER_METADATA_URI_V4}` for one container."""
    known = container.last_status if container is not None else "PENDING"
    body: dict[str, Any] = {
        "DockerId": (container.runtime_id or "") if container is not None else "",
        "Name": identity.name,
        "DockerName": identity.docker_name,
        "Image": identity.image,
        "ImageID": identity.image,
        "Labels": {
            "com.amazonaws.ecs.cluster": task.cluster,
            "com.amazonaws.ecs.container-name": identity.name,
            "com.amazonaws.ecs.task-arn": task.arn,
            "com.amazonaws.ecs.task-definition-family": identity.family,
            "com.amazonaws.ecs.task-definition-version": str(identity.revision),
        },
        "DesiredStatus": task.desired_status,
        "KnownStatus": known,
        "Limits": {"CPU": identity.cpu, **({"Memory": identity.memory} if identity.memory else {})},
        "Type": "NORMAL",
        "ContainerARN": container.container_arn if container is not None else "",
        "Networks": [{"NetworkMode": task.network_mode}],
    }
    if started_at is not None:
        body["StartedAt"] = _stamp(started_at)
    if identity.log_driver:
        body["LogDriver"] = identity.log_driver
        body["LogOptions"] = dict(identity.log_options)
    if container is not None and container.host_ports:
        body["Ports"] = [{"ContainerPort": port, "Protocol": "tcp", "HostPort": host, "HostIp": "127.0.0.1"}
                         for port, host in sorted(container.host_ports.items())]
    if container is not None and container.exit_code is not None:
        body["ExitCode"] = container.exit_code
    return body


def task_metadata(task: TaskRecord, identities: list[ContainerIdentity]) -> dict[str, Any]:
    """The answer of `${ECS_CONTAINER_METADATA_URI_V4}/task`: the task and each of its containers."""
    by_name = {c.name: c for c in task.containers}
    first = identities[0] if identities else None
    body: dict[str, Any] = {
        "Cluster": task.cluster,
        "TaskARN": task.arn,
        "Family": first.family if first else "",
        "Revision": str(first.revision) if first else "",
        "DesiredStatus": task.desired_status,
        "KnownStatus": task.last_status,
        "Containers": [container_metadata(identity, task, by_name.get(identity.name)) for identity in identities],
        "LaunchType": task.launch_type,
    }
    if task.service:
        body["ServiceName"] = task.service
    limits = {}
    if task.cpu:
        limits["CPU"] = int(task.cpu) / 1024 if str(task.cpu).isdigit() else task.cpu
    if task.memory and str(task.memory).isdigit():
        limits["Memory"] = int(task.memory)
    if limits:
        body["Limits"] = limits
    for key, moment in (("PullStartedAt", task.pull_started_at), ("PullStoppedAt", task.pull_stopped_at)):
        if moment is not None:
            body[key] = _stamp(moment)
    return body
