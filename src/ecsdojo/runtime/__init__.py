"""The runtime layer: the only code that touches containers.

``detect_runtime()`` picks DockerRuntime when a Docker engine answers, else ProcessRuntime (simulated);
``DOJO_RUNTIME=docker|process`` forces one. Runtimes are imported lazily, so importing this package
neither imports the docker SDK nor contacts an engine.

Example::

    from ecsdojo.runtime import detect_runtime
    runtime = detect_runtime()
    print(runtime.describe(), "(simulated)" if runtime.simulated else "")
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ecsdojo.runtime.base import (
    LABEL_CLUSTER,
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_OWNER_PID,
    LABEL_SESSION,
    LABEL_TASK_ARN,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    ContainerStats,
    ENGINE_FIXES,
    EngineCannotRunContainersError,
    ExecNotSupportedError,
    ExecResult,
    HealthCheckSpec,
    ImageNotFoundError,
    InvalidImageReferenceError,
    PortMapping,
    Runtime,
    RuntimeError_,
    RuntimeEvent,
    RuntimeUnavailableError,
    SIMULATED_EXEC_NOTE,
    alive,
    orphan_filter,
    owned_labels,
)

RUNTIME_VARIABLE = "DOJO_RUNTIME"
RUNTIME_CHOICES = ("docker", "process")

# name -> module that defines it (imported on first use)
_LAZY = {
    "DockerRuntime": "ecsdojo.runtime.docker",
    "ContainerNotManagedError": "ecsdojo.runtime.docker",
    "ProcessRuntime": "ecsdojo.runtime.process",
    "FakeRuntime": "ecsdojo.runtime.fake",
}

__all__ = sorted([
    "LABEL_CLUSTER", "LABEL_CONTAINER_NAME", "LABEL_MANAGED", "LABEL_OWNER_PID", "LABEL_SESSION",
    "LABEL_TASK_ARN", "ContainerSpec", "ContainerStartError", "ContainerState", "ContainerStats",
    "ENGINE_FIXES", "EngineCannotRunContainersError", "ExecNotSupportedError", "ExecResult", "HealthCheckSpec", "ImageNotFoundError",
    "InvalidImageReferenceError", "PortMapping", "Runtime", "RuntimeError_", "RuntimeEvent",
    "RuntimeUnavailableError", "SIMULATED_EXEC_NOTE", "alive", "orphan_filter", "owned_labels", "detect_runtime",
    "RUNTIME_VARIABLE", *_LAZY,
])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ecsdojo.runtime' has no attribute {name!r}")


def detect_runtime(prefer: str | None = None, *, ping_timeout_s: float = 3.0) -> Runtime:
    """The runtime to use: `prefer`, else $DOJO_RUNTIME, else Docker when an engine answers, else processes.

    A forced "docker" raises RuntimeUnavailableError when no engine answers (it never falls back).

    >>> detect_runtime("process").simulated
    True
    """
    choice = (prefer or os.environ.get(RUNTIME_VARIABLE, "")).strip().lower()
    if choice and choice not in RUNTIME_CHOICES:
        source = "detect_runtime(prefer=...)" if prefer else f"the environment variable {RUNTIME_VARIABLE}"
        raise ValueError(f"{source} is {choice!r}; expected one of: {', '.join(RUNTIME_CHOICES)}")
    from ecsdojo.runtime.process import ProcessRuntime

    if choice == "process":
        return ProcessRuntime()
    from ecsdojo.runtime.docker import DockerRuntime

    try:
        return DockerRuntime(ping_timeout_s=ping_timeout_s)
    except RuntimeUnavailableError:
        if choice == "docker":
            raise
        return ProcessRuntime()
