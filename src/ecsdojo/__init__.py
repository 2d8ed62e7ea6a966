"""ECS Dojo: an offline, interactive course on Amazon ECS.

The public API (imported lazily, so `import ecsdojo` has no side effects and stays fast)::

    from ecsdojo import LocalECS, check, quiz
    with LocalECS(speed=10) as ecs:
        ecs.client("ecs").create_cluster(clusterName="my-cluster")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "LocalECS": "ecsdojo.control.local",
    "MotoServer": "ecsdojo.cloud",
    "ProgressStore": "ecsdojo.progress_store",
    "check": "ecsdojo.grading.checks",
    "hint": "ecsdojo.grading.checks",
    "progress": "ecsdojo.grading.checks",
    "quiz": "ecsdojo.quiz.widgets",
    "mock_interview": "ecsdojo.quiz.widgets",
    "review": "ecsdojo.quiz.widgets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ecsdojo' has no attribute {name!r}")
