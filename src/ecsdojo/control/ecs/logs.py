"""LogShipper: the awslogs log driver — a container's stdout and stderr in CloudWatch Logs (moto).

On ECS, a container whose `logConfiguration.logDriver` is `awslogs` has its lines sent to CloudWatch Logs by
the Docker daemon's awslogs driver (EC2) or by Fargate's agent. Here the engine plays the driver:

- before a task's containers start, `prepare` creates each log group whose `awslogs-create-group` is "true",
  and fails the start (TaskFailedToStart, ECS's wording in control/events.py) when a group does not exist;
- while the task runs, the lines each container wrote since the last look are put into its stream, about once a
  second (`LOGS_KEY` on the work queue, re-added only while some task ships logs: an idle engine does nothing);
- when the task stops, `flush` ships the last lines, so a stopped task's final words stay readable.

Stream names are ECS's: `prefix/container-name/task-id` with `awslogs-stream-prefix`; without it, Docker's
default, the container's ID (Amazon ECS Developer Guide, "Using the awslogs log driver"). Timestamps are the
runtime's (when the line was written), not ECS time.

The container itself still logs to Docker's default driver too (`docker logs` keeps working); that differs from
EC2, where `awslogs` replaces it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.runtime.base import Runtime, RuntimeError_

__all__ = ["LogShipper", "LogSink", "LOGS_KEY", "awslogs_settings", "stream_name"]

log = logging.getLogger(__name__)

LOGS_KEY = ("logs",)
SHIP_INTERVAL_S = 1.0          # lines arrive within about a second, as the issue and the awslogs driver do


class LogSink(Protocol):
    def group_exists(self, region: str, group: str) -> bool: ...
    def create_group(self, region: str, group: str) -> None: ...
    def put_events(self, region: str, group: str, stream: str, events: list[tuple[float, str]]) -> bool: ...


class KeyQueue(Protocol):
    def add_after(self, key: tuple, delay_s: float) -> None: ...


@dataclass(frozen=True)
class AwsLogs:
    """One container's awslogs options."""
    container: str
    group: str
    region: str
    prefix: str | None
    create_group: bool


@dataclass
class _Stream:
    settings: AwsLogs
    name: str
    runtime_id: str
    shipped_until: float | None = None      # the runtime's time of the last line shipped


def awslogs_settings(definition: TaskDefinitionView, *, default_region: str) -> list[AwsLogs]:
    """The containers of a task definition that log with awslogs, and their options.

    >>> view = TaskDefinitionView(arn="a", family="f", container_definitions=({"name": "web", "logConfiguration": {
    ...         "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/f", "awslogs-stream-prefix": "ecs",
    ...         "awslogs-create-group": "true"}}},))
    >>> awslogs_settings(view, default_region="us-east-1")
    [AwsLogs(container='web', group='/ecs/f', region='us-east-1', prefix='ecs', create_group=True)]
    """
    found = []
    for container in definition.containers():
        config: dict[str, Any] = container.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            continue
        options = config.get("options") or {}
        group = options.get("awslogs-group")
        if not group:           # register_task_definition already refuses this; nothing to ship to
            continue
        found.append(AwsLogs(container=container["name"], group=group,
                             region=options.get("awslogs-region") or default_region,
                             prefix=options.get("awslogs-stream-prefix") or None,
                             create_group=str(options.get("awslogs-create-group", "")).lower() == "true"))
    return found


def stream_name(settings: AwsLogs, task_id: str, runtime_id: str) -> str:
    """`prefix/container-name/task-id`; without a prefix, the container's ID (Docker's default).

    >>> stream_name(AwsLogs("web", "/ecs/f", "us-east-1", "ecs", False), "abc123", "f00d")
    'ecs/web/abc123'
    """
    return f"{settings.prefix}/{settings.container}/{task_id}" if settings.prefix else runtime_id


class LogShipper:
    def __init__(self, *, sink: LogSink, runtime: Runtime, queue: KeyQueue, default_region: str) -> None:
        self.sink = sink
        self.runtime = runtime
        self.queue = queue
        self.default_region = default_region
        self._lock = threading.RLock()
        self._tracked: dict[str, list[_Stream]] = {}      # task ARN -> its awslogs streams
        self._scheduled = False

    # ---- called by the task reconciler ---------------------------------------------------------------
    def prepare(self, task: r.TaskRecord, definition: TaskDefinitionView) -> tuple[str, str] | None:
        """Create the groups to create; (container name, stopped reason) for the first group that is missing."""
        for settings in awslogs_settings(definition, default_region=self.default_region):
            if settings.create_group:
                self.sink.create_group(settings.region, settings.group)
            elif not self.sink.group_exists(settings.region, settings.group):
                return settings.container, events.log_group_missing_reason(task.launch_type)
        return None

    def track(self, task: r.TaskRecord, definition: TaskDefinitionView) -> None:
        """The task's containers run: ship their lines from now on."""
        by_name = {c.name: c for c in task.containers}
        streams = []
        for settings in awslogs_settings(definition, default_region=self.default_region):
            container = by_name.get(settings.container)
            if container is not None and container.runtime_id:
                streams.append(_Stream(settings, stream_name(settings, task.id, container.runtime_id),
                                       container.runtime_id))
        if not streams:
            return
        with self._lock:
            # Called again as more of the task's containers start: a container already tracked keeps its stream
            # (and what it shipped), so no line is shipped twice.
            known = {stream.runtime_id: stream for stream in self._tracked.get(task.arn, [])}
            self._tracked[task.arn] = [known.get(stream.runtime_id, stream) for stream in streams]
            self._schedule()

    def flush(self, task: r.TaskRecord) -> None:
        """The task stopped: ship its last lines and forget it."""
        with self._lock:
            streams = self._tracked.pop(task.arn, [])
            for stream in streams:
                self._ship(stream)

    # ---- the periodic key -----------------------------------------------------------------------------
    def sync_key(self, key: tuple) -> None:
        with self._lock:
            self._scheduled = False
            for streams in list(self._tracked.values()):
                for stream in streams:
                    self._ship(stream)
            self._schedule()

    def _schedule(self) -> None:
        if self._tracked and not self._scheduled:
            self._scheduled = True
            self.queue.add_after(LOGS_KEY, SHIP_INTERVAL_S)

    def _ship(self, stream: _Stream) -> None:
        try:
            lines = self.runtime.log_events(stream.runtime_id, since=stream.shipped_until)
        except RuntimeError_ as error:         # the engine went away: the next look tries again
            log.debug("reading the logs of %s failed: %s", stream.runtime_id, error)
            return
        if not lines:
            return
        settings = stream.settings
        if self.sink.put_events(settings.region, settings.group, stream.name, lines):
            stream.shipped_until = lines[-1][0]
        else:                                  # the group was deleted while the task ran: ECS's driver fails too
            log.warning("log group %s is gone; lines of %s are dropped", settings.group, stream.name)
            stream.shipped_until = lines[-1][0]
