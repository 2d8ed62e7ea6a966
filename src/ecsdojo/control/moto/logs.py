"""moto's CloudWatch Logs, as the awslogs log driver uses it: groups, streams and events.

The engine is the driver here: it creates a group when the task definition says `awslogs-create-group`, looks
up the group otherwise (a missing one fails the container's start), and puts each container's lines into its
stream. Learners read them back through the real Logs API (boto3, the AWS CLI, `dojo logs tail`).

Example::

    logs = MotoLogs()
    logs.create_group("us-east-1", "/ecs/web")
    logs.put_events("us-east-1", "/ecs/web", "web/web/0123abcd", [(1764633600.0, "hello")])
"""

from __future__ import annotations

import threading

from ecsdojo.cloud import ACCOUNT_ID

__all__ = ["MotoLogs"]


class MotoLogs:
    """The awslogs driver's side of CloudWatch Logs, per region (the task definition's `awslogs-region`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()        # moto's log streams are not thread-safe (its own TODO says so)

    @staticmethod
    def _backend(region: str):
        from moto.logs.models import logs_backends

        return logs_backends[ACCOUNT_ID][region]

    def group_exists(self, region: str, group: str) -> bool:
        with self._lock:
            return group in self._backend(region).groups

    def create_group(self, region: str, group: str) -> None:
        """CreateLogGroup, quietly when it exists (as the driver's awslogs-create-group does)."""
        with self._lock:
            backend = self._backend(region)
            if group not in backend.groups:
                backend.create_log_group(group, tags={})

    def put_events(self, region: str, group: str, stream: str, events: list[tuple[float, str]]) -> bool:
        """Put (epoch seconds, line) events, oldest first, creating the stream; False when the group is gone."""
        if not events:
            return True
        from moto.logs.exceptions import ResourceNotFoundException

        body = [{"timestamp": int(at * 1000), "message": line} for at, line in events]
        with self._lock:
            try:
                backend = self._backend(region)
                backend.ensure_log_stream(group, stream)
                backend.put_log_events(group, stream, body)
            except ResourceNotFoundException:
                return False
        return True
