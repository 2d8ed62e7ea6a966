"""Kept for `ecsdojo.cli.COMMAND_MODULES` and old imports: `dojo bench scale` is `ecsdojo.bench.scale`, registered
with the other benchmarks by `ecsdojo.bench.register` (through `ecsdojo.benchmarks`)."""

from __future__ import annotations

from ecsdojo.bench.scale import CLUSTER, DIMENSION, RESOURCE_ID, SERVICE, scale_benchmark, service_behind_load_balancer

__all__ = ["CLUSTER", "DIMENSION", "RESOURCE_ID", "SERVICE", "scale_benchmark", "service_behind_load_balancer",
           "register"]


def register(commands) -> None:
    """Nothing to add: `ecsdojo.benchmarks` registers every `dojo bench` figure, scale included."""
