"""The task resync's sweep: containers of this session that no running task owns.

A container with this session's labels whose task no record owns (a record lost, a replacement started twice),
or that is not the container its task recorded, is removed; a container still running for a STOPPED task (a
leak: `docker start` by hand) is stopped. The engine keeps a stopped task's exited containers, as the ECS agent
keeps them until its clean-up. A container of a task whose launch is in progress (PROVISIONING, PENDING) is left
alone: the launch records each container's id once it has started, and stops it itself if the task was asked to
stop meanwhile (control/ecs/tasks.py). The listing is a snapshot: a container found running for a STOPPED task is
inspected again before it is stopped, since the task's own sync (another worker) may have stopped it in between.

Example::

    sweep_leftovers(runtime=runtime, store=store, labels=owned_labels("s1"), stop_timeout_s=30)
    # [("remove", "3f2a..."), ("stop", "9b10...")]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ecsdojo.control.store import ObservedState
from ecsdojo.runtime.base import LABEL_SESSION, LABEL_TASK_ARN, Runtime, RuntimeError_

__all__ = ["sweep_leftovers"]

log = logging.getLogger("ecsdojo.control.ecs.tasks")      # the task reconciler's log, where these always were


def sweep_leftovers(*, runtime: Runtime, store: ObservedState, labels: Mapping[str, str],
                    stop_timeout_s: float) -> list[tuple[str, str]]:
    """Remove or stop the containers no running task owns; returns the actions taken, ("remove" | "stop", id)."""
    session = labels.get(LABEL_SESSION)
    if not session:
        return []
    found = runtime.list({LABEL_SESSION: session})
    actions: list[tuple[str, str]] = []
    with store.lock:
        for state in found:
            arn = state.labels.get(LABEL_TASK_ARN)
            if not arn:
                continue                              # not a task's container
            task = store.tasks.get(arn)
            if task is None:
                actions.append(("remove", state.id))   # no record owns it
            elif task.last_status in ("PROVISIONING", "PENDING"):
                continue
            elif state.id not in {c.runtime_id for c in task.containers} | {task.pause_runtime_id}:
                actions.append(("remove", state.id))   # not the container its task recorded
            elif task.last_status == "STOPPED" and state.alive:
                actions.append(("stop", state.id))
    for action, runtime_id in list(actions):
        if action == "stop" and not _still_alive(runtime, runtime_id):
            actions.remove((action, runtime_id))     # its task's sync stopped it after our listing: nothing to do
            continue
        log.warning("container %s: %s (no running task owns it)", runtime_id[:12],
                    "removing" if action == "remove" else "stopping")
        try:
            if action == "remove":
                runtime.remove(runtime_id)
            else:
                runtime.stop(runtime_id, timeout_s=stop_timeout_s)
        except RuntimeError_ as error:
            log.warning("%s of %s failed: %s", action, runtime_id[:12], error)
    return actions


def _still_alive(runtime: Runtime, runtime_id: str) -> bool:
    """The listing is a snapshot taken before the task records are read: a task's sync (another worker) may have
    stopped the container in between, and must not be reported as a leak."""
    try:
        state = runtime.inspect(runtime_id)
    except RuntimeError_:
        return True                    # cannot tell: try the stop, which reports its own failure
    return state is not None and state.alive
