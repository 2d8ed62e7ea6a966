"""ECS's scheduling: the API semantics moto lacks (api.py), the task and service reconcilers, service status.

Example::

    from ecsdojo.control.ecs import ServiceReconciler, TaskReconciler
"""

from __future__ import annotations

from ecsdojo.control.ecs.services import ServiceReconciler
from ecsdojo.control.ecs.tasks import TaskReconciler

__all__ = ["ServiceReconciler", "TaskReconciler"]
