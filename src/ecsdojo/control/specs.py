"""Pure builders: container specs from a task definition (no I/O, no moto, no Docker).

Example::

    specs = container_specs(task_definition, task, clock=Clock(10), labels=owned_labels("s1"))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ecsdojo.control.clock import Clock
from ecsdojo.control.records import ContainerRecord, TaskRecord
from ecsdojo.runtime.base import (
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_TASK_ARN,
    ContainerSpec,
    HealthCheckSpec,
    PortMapping,
)

# ECS's healthCheck defaults (API model: HealthCheck)
HEALTH_INTERVAL_DEFAULT = 30
HEALTH_TIMEOUT_DEFAULT = 5
HEALTH_RETRIES_DEFAULT = 3
STOP_TIMEOUT_DEFAULT = 30
# Floors that keep compressed health checks meaningful (a python3 probe needs ~0.1-0.3 s to start).
MIN_WALL_INTERVAL_S = 0.5
MIN_WALL_TIMEOUT_S = 1.5
# Failures inside the start period do not count and a success ends it at once, so this floor costs a healthy
# app nothing, and keeps compressed checks from condemning an app that has not started listening yet.
MIN_WALL_START_PERIOD_S = 2.0
# The container that holds an awsvpc task's network namespace: the ECS agent's pause container is named
# "~internal~ecs~pause" (image amazon/amazon-ecs-pause; it shows in task metadata v2/v3 responses, not in
# describe-tasks). Ours runs the demo image (built offline, always present; nothing is pulled) with a process
# that only waits, and exits 0 on SIGTERM (PID 1 ignores signals it has no handler for).
PAUSE_CONTAINER_NAME = "~internal~ecs~pause"
PAUSE_IMAGE = "ecsdojo/app:latest"
PAUSE_COMMAND = ("python3", "-c", "import signal, sys; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
                 "signal.pause()")


def runtime_name(cluster: str, task_id: str, container: str) -> str:
    raw = f"ecsdojo-{cluster}-{task_id[:8]}-{container}"
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", raw)[:120]


def health_check_spec(health_check: Mapping[str, Any] | None, clock: Clock) -> HealthCheckSpec | None:
    if not health_check or not health_check.get("command"):
        return None
    return HealthCheckSpec(
        command=tuple(health_check["command"]),
        interval_s=max(clock.wall(health_check.get("interval", HEALTH_INTERVAL_DEFAULT)), MIN_WALL_INTERVAL_S),
        timeout_s=max(clock.wall(health_check.get("timeout", HEALTH_TIMEOUT_DEFAULT)), MIN_WALL_TIMEOUT_S),
        retries=int(health_check.get("retries", HEALTH_RETRIES_DEFAULT)),
        start_period_s=max(clock.wall(health_check.get("startPeriod", 0)), MIN_WALL_START_PERIOD_S),
    )


def container_records(container_definitions: list[Mapping[str, Any]], task_arn: str) -> list[ContainerRecord]:
    records = []
    for definition in container_definitions:
        bindings = [(int(p["containerPort"]), p.get("hostPort"), p.get("protocol", "tcp"))
                    for p in definition.get("portMappings", []) or [] if "containerPort" in p]
        records.append(ContainerRecord(
            name=definition["name"], image=definition.get("image", ""),
            essential=definition.get("essential", True) is not False,
            container_arn=f"{task_arn.replace(':task/', ':container/')}/{definition['name']}",
            has_health_check=bool((definition.get("healthCheck") or {}).get("command")),
            container_port_bindings=bindings, cpu=int(definition.get("cpu", 0) or 0),
            memory=definition.get("memory"), memory_reservation=definition.get("memoryReservation")))
    return records


def container_specs(container_definitions: list[Mapping[str, Any]], task: TaskRecord, *, clock: Clock,
                    labels: Mapping[str, str], task_memory: int | None = None,
                    service: str | None = None, network_mode: str = "bridge") -> list[ContainerSpec]:
    """One ContainerSpec per container definition, in order, labelled with the task's identity. In bridge mode a
    container's `links` ("name" or "name:alias") name the other container's runtime name."""
    specs = []
    for definition in container_definitions:
        name = definition["name"]
        environment = {item["name"]: str(item.get("value", "")) for item in definition.get("environment", []) or []}
        environment.update({"ECS_CLUSTER": task.cluster, "ECS_TASK_ARN": task.arn,
                            "ECS_TASK_DEFINITION": task.task_definition_arn, "ECS_CONTAINER_NAME": name,
                            "ECS_SERVICE": service or ""})
        command = tuple(definition.get("entryPoint") or ()) + tuple(definition.get("command") or ())
        memory = definition.get("memory") or task_memory
        ports = tuple(PortMapping(int(p["containerPort"]), None, p.get("protocol", "tcp"))
                      for p in definition.get("portMappings", []) or [] if "containerPort" in p)
        specs.append(ContainerSpec(
            name=runtime_name(task.cluster, task.id, name),
            image=definition.get("image", ""),
            labels={**labels, LABEL_CLUSTER: task.cluster, LABEL_TASK_ARN: task.arn, LABEL_CONTAINER_NAME: name},
            command=command or None,
            environment=environment,
            ports=ports,
            memory_mib=int(memory) if memory else None,
            memory_reservation_mib=definition.get("memoryReservation"),
            cpu_units=int(definition["cpu"]) if definition.get("cpu") else None,
            health_check=health_check_spec(definition.get("healthCheck"), clock),
            stop_timeout_s=clock.wall(definition.get("stopTimeout", STOP_TIMEOUT_DEFAULT)),
            links=tuple(_link(task, link) for link in definition.get("links") or ()) if network_mode == "bridge"
            else (),
        ))
    return specs


def _link(task: TaskRecord, link: str) -> tuple[str, str]:
    name, _, alias = str(link).partition(":")
    return runtime_name(task.cluster, task.id, name), alias or name


def pause_spec(task: TaskRecord, specs: list[ContainerSpec], *, labels: Mapping[str, str]) -> ContainerSpec:
    """The holder of an awsvpc task's network namespace: it publishes every port of the task's containers (on
    127.0.0.1), which join its namespace and so reach each other on localhost, as on ECS."""
    ports: dict[tuple[int, str], PortMapping] = {}
    for spec in specs:
        for port in spec.ports:
            ports.setdefault((port.container_port, port.protocol), port)
    return ContainerSpec(
        name=runtime_name(task.cluster, task.id, "pause"), image=PAUSE_IMAGE, command=PAUSE_COMMAND,
        labels={**labels, LABEL_CLUSTER: task.cluster, LABEL_TASK_ARN: task.arn,
                LABEL_CONTAINER_NAME: PAUSE_CONTAINER_NAME},
        ports=tuple(ports.values()), stop_timeout_s=2.0)


def task_requirements(container_definitions: list[Mapping[str, Any]], *, task_cpu: str | None,
                      task_memory: str | None, network_mode: str) -> dict[str, Any]:
    """What a task reserves on a container instance: CPU units, MiB, and fixed host ports."""
    cpu = sum(int(d.get("cpu", 0) or 0) for d in container_definitions)
    memory = sum(int(d.get("memory") or d.get("memoryReservation") or 0) for d in container_definitions)
    if task_cpu:
        cpu = max(cpu, _units(task_cpu))
    if task_memory:
        memory = max(memory, _mib(task_memory))
    ports: set[int] = set()
    if network_mode == "awsvpc":          # each task has its own network interface: no instance ports held
        return {"cpu": cpu, "memory": memory, "ports": ports}
    for definition in container_definitions:
        for mapping in definition.get("portMappings", []) or []:
            host = mapping.get("hostPort")
            if network_mode == "host":
                host = host or mapping.get("containerPort")
            if host:
                ports.add(int(host))
    return {"cpu": cpu, "memory": memory, "ports": ports}


def _units(value: str) -> int:
    text = str(value).strip().lower()
    if text.endswith("vcpu"):
        return int(float(text[:-4].strip()) * 1024)
    return int(float(text))


def _mib(value: str) -> int:
    text = str(value).strip().lower().replace(" ", "")
    if text.endswith("gb"):
        return int(float(text[:-2]) * 1024)
    if text.endswith("mb"):
        return int(float(text[:-2]))
    return int(float(text))
