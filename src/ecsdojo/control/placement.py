"""Task placement on simulated EC2 container instances: a pure function (no I/O).

Honours CPU and memory reservations and host ports, and the strategies binpack (cpu | memory), spread
(instanceId | attribute:ecs.availability-zone) and random, applied in order as ECS applies them.

Example::

    chosen = place({"cpu": 256, "memory": 512, "ports": {8080}}, instances,
                   strategy=[{"type": "binpack", "field": "memory"}])
"""

from __future__ import annotations

import random as random_module
from collections.abc import Mapping, Sequence
from typing import Any

from ecsdojo.control.records import InstanceRecord


def fits(instance: InstanceRecord, requirement: Mapping[str, Any]) -> bool:
    return (instance.remaining_cpu >= requirement.get("cpu", 0)
            and instance.remaining_memory >= requirement.get("memory", 0)
            and not (set(requirement.get("ports", ())) & instance.used_ports))


def missing_resource(instances: Sequence[InstanceRecord], requirement: Mapping[str, Any]) -> str:
    """Which requirement no instance meets, in ECS's words (for the placement-failure event)."""
    if not instances:
        return "No Container Instances were found in your cluster."
    reasons = []
    if all(i.remaining_cpu < requirement.get("cpu", 0) for i in instances):
        reasons.append("has insufficient CPU units available")
    if all(i.remaining_memory < requirement.get("memory", 0) for i in instances):
        reasons.append("has insufficient memory available")
    if all(set(requirement.get("ports", ())) & i.used_ports for i in instances):
        reasons.append("is already using a port required by your task")
    return "; ".join(f"The closest matching container-instance {instances[0].arn.rsplit('/', 1)[-1]} {r}"
                     for r in reasons) or "no container instance met all of its requirements"


def place(requirement: Mapping[str, Any], instances: Sequence[InstanceRecord], *,
          strategy: Sequence[Mapping[str, str]] = (), group_counts: Mapping[str, int] | None = None,
          rng: random_module.Random | None = None) -> InstanceRecord | None:
    """The instance the task goes to, or None when nothing fits. `group_counts`: tasks of the same
    service per instance arn, which spread balances."""
    candidates = [i for i in instances if fits(i, requirement)]
    if not candidates:
        return None
    group_counts = group_counts or {}
    rng = rng or random_module.Random(0)
    zone_counts: dict[str, int] = {}
    for instance in instances:
        zone_counts[instance.availability_zone] = (zone_counts.get(instance.availability_zone, 0)
                                                   + group_counts.get(instance.arn, 0))
    steps = list(strategy) or [{"type": "spread", "field": "instanceId"}]

    def key(instance: InstanceRecord) -> tuple:
        parts: list[Any] = []
        for step in steps:
            kind, field = step.get("type", ""), step.get("field", "")
            if kind == "binpack":
                parts.append(instance.remaining_memory if field.lower() == "memory" else instance.remaining_cpu)
            elif kind == "spread":
                if field.lower() in ("instanceid", "host"):
                    parts.append(group_counts.get(instance.arn, 0))
                else:
                    parts.append(zone_counts.get(instance.availability_zone, 0))
            elif kind == "random":
                parts.append(rng.random())
        parts.append(instance.arn)
        return tuple(parts)

    return min(candidates, key=key)


def reserve(instance: InstanceRecord, requirement: Mapping[str, Any]) -> dict[str, Any]:
    instance.used_cpu += requirement.get("cpu", 0)
    instance.used_memory += requirement.get("memory", 0)
    instance.used_ports |= set(requirement.get("ports", ()))
    instance.running_tasks += 1
    return {"cpu": requirement.get("cpu", 0), "memory": requirement.get("memory", 0),
            "ports": set(requirement.get("ports", ()))}


def release(instance: InstanceRecord, reserved: Mapping[str, Any]) -> None:
    instance.used_cpu -= reserved.get("cpu", 0)
    instance.used_memory -= reserved.get("memory", 0)
    instance.used_ports -= set(reserved.get("ports", ()))
    instance.running_tasks = max(0, instance.running_tasks - 1)
