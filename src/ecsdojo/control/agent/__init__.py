"""The task agent: what a task's containers see of ECS from inside (metadata v4, task-role credentials, AWS)."""

from ecsdojo.control.agent.server import MOUNT_POINT, TaskAgent

__all__ = ["TaskAgent", "MOUNT_POINT"]
