"""Kept for `ecsdojo.cli.COMMAND_MODULES`: the benchmarks live in `ecsdojo.bench` (heal, scale, idle)."""

from __future__ import annotations

from ecsdojo.bench import register

__all__ = ["register"]
