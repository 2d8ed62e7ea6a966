"""The containers inside one task, as the ECS agent orders and restarts them (pure: no I/O, no runtime calls, no
moto).

- `dependsOn` (and bridge-mode `links`, which imply START): a container starts only once each dependency has
  reached its condition — START (it started), COMPLETE (it exited), SUCCESS (it exited 0), HEALTHY (its health
  check passed); API model ContainerDependency.condition. A dependency that can never reach it makes the waiting
  container fail to start, as the agent's dependency graph decides (amazon-ecs-agent, agent/engine/
  dependencygraph/graph.go verifyContainerOrderingStatusResolvable): SUCCESS of a container that exited non-zero;
  a dependency that will never start; a dependency that outlived its own `startTimeout` without reaching COMPLETE,
  SUCCESS or HEALTHY. Ours, labelled: HEALTHY of a container that already exited, or that has no healthCheck, can
  never be met either; we fail the waiting container with the "will never start" words. (For a container without
  healthCheck the agent refuses the whole task at once — dependencygraph.ValidDependencies, TaskDependencyError;
  for one that exited it would leave the task PENDING until a startTimeout, if any.)
- Shutdown is the reverse: "When a dependency is defined for container startup, for container shutdown it is
  reversed" (API model ContainerDependency), so `stop_order` stops dependents first.
- `restartPolicy` (API model ContainerRestartPolicy): restart a container that exited, in place, unless the policy
  is off, the exit code is ignored, or it ran less than `restartAttemptPeriod` (default 300 s) since it last
  started — the agent's RestartTracker.ShouldRestart (amazon-ecs-agent, ecs-agent/api/container/restart/
  restart_tracker.go).

Example::

    graph = dependencies(definition.container_definitions, network_mode="bridge")
    verdict = start_verdict("app", graph, observed, now=clock.now(), start_timeouts={})
    verdict.action          # "start" | "wait" | "fail"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecsdojo.control.records import ContainerRecord
from ecsdojo.runtime.base import ContainerState, PortMapping

__all__ = ["Dependency", "Observed", "Verdict", "dependencies", "observed_of", "container_ports", "start_verdict",
           "stop_order",
           "restart_period_s", "should_restart", "DEFAULT_RESTART_ATTEMPT_PERIOD_S"]

DEFAULT_RESTART_ATTEMPT_PERIOD_S = 300       # API model ContainerRestartPolicy.restartAttemptPeriod
_WAITS_FOR_EXIT_OR_HEALTH = ("COMPLETE", "SUCCESS", "HEALTHY")


@dataclass(frozen=True)
class Dependency:
    container: str
    condition: str          # START | COMPLETE | SUCCESS | HEALTHY


@dataclass(frozen=True)
class Observed:
    """What the reconciler knows of one container of the task right now."""
    started: bool = False               # it was started (it has a runtime id)
    never_starts: bool = False          # it failed to start, or its own dependencies failed
    alive: bool = False
    exit_code: int | None = None
    healthy: bool = False
    has_health_check: bool = True
    started_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    action: str                          # "start" | "wait" | "fail"
    dependency: Dependency | None = None  # what it waits for, or what can never be met
    why: str | None = None               # for "fail": failed | never | timeout (events.dependency_failed_reason)


def dependencies(container_definitions: Iterable[Mapping[str, Any]], *,
                 network_mode: str) -> dict[str, tuple[Dependency, ...]]:
    """Each container's dependencies: its dependsOn, plus START on every container it links to (bridge mode)."""
    graph: dict[str, tuple[Dependency, ...]] = {}
    for definition in container_definitions:
        found = [Dependency(str(d.get("containerName")), str(d.get("condition") or "START").upper())
                 for d in definition.get("dependsOn") or ()]
        if network_mode == "bridge":
            named = {d.container for d in found}
            for link in definition.get("links") or ():
                target = str(link).partition(":")[0]
                if target not in named:
                    found.append(Dependency(target, "START"))
                    named.add(target)
        graph[definition["name"]] = tuple(found)
    return graph


def observed_of(container: ContainerRecord, state: ContainerState | None, *, pending: bool) -> Observed:
    """What dependsOn needs to know of one container: its record and the runtime's state of it."""
    checked = container.has_health_check
    if pending:
        return Observed(has_health_check=checked)
    if not container.runtime_id:       # never started: failed, or its own dependency failed
        return Observed(never_starts=container.last_status == "STOPPED", has_health_check=checked)
    if state is None:
        return Observed(started=True, exit_code=container.exit_code if container.exit_code is not None else 137,
                        has_health_check=checked)
    return Observed(started=True, alive=state.alive, exit_code=state.exit_code, healthy=state.health == "healthy",
                    has_health_check=checked, started_at=state.started_at)


def container_ports(container_definitions: Iterable[Mapping[str, Any]], name: str) -> list[PortMapping]:
    """The container ports one container definition maps."""
    for item in container_definitions:
        if item["name"] == name:
            return [PortMapping(int(p["containerPort"]), None, p.get("protocol", "tcp"))
                    for p in item.get("portMappings", []) or [] if "containerPort" in p]
    return []


def start_verdict(name: str, graph: Mapping[str, tuple[Dependency, ...]], observed: Mapping[str, Observed], *,
                  now: datetime, start_timeouts: Mapping[str, float]) -> Verdict:
    """Whether container `name` may start now, must wait, or can never start (and why).

    `start_timeouts`: a dependency's own startTimeout, in wall seconds, by container name."""
    waiting: Dependency | None = None
    for dependency in graph.get(name, ()):
        target = observed.get(dependency.container)
        if target is None or target.never_starts:
            return Verdict("fail", dependency, "never")
        exited = target.started and not target.alive
        timeout = start_timeouts.get(dependency.container)
        if (timeout is not None and target.alive and target.started_at is not None
                and dependency.condition in _WAITS_FOR_EXIT_OR_HEALTH
                and not (dependency.condition == "HEALTHY" and target.healthy)
                and (now - target.started_at).total_seconds() > timeout):
            return Verdict("fail", dependency, "timeout")
        if dependency.condition == "SUCCESS" and exited and target.exit_code not in (None, 0):
            return Verdict("fail", dependency, "failed")
        if dependency.condition == "HEALTHY" and (exited or not target.has_health_check):
            return Verdict("fail", dependency, "never")
        met = {"START": target.started, "COMPLETE": exited, "SUCCESS": exited and target.exit_code == 0,
               "HEALTHY": target.alive and target.healthy}.get(dependency.condition, False)
        if not met and waiting is None:
            waiting = dependency
    return Verdict("wait", waiting) if waiting is not None else Verdict("start")


def stop_order(names: Iterable[str], graph: Mapping[str, tuple[Dependency, ...]]) -> list[str]:
    """`names` ordered so that a container stops before the containers it depends on (start order reversed);
    containers without dependencies keep their definition order."""
    ordered: list[str] = []
    seen: set[str] = set()
    wanted = list(names)

    def visit(name: str, path: frozenset[str]) -> None:
        if name in seen or name in path:
            return
        for dependency in graph.get(name, ()):
            visit(dependency.container, path | {name})
        seen.add(name)
        ordered.append(name)

    for name in wanted:
        visit(name, frozenset())
    start = [name for name in ordered if name in set(wanted)]
    return list(reversed(start))


def restart_period_s(policy: Mapping[str, Any]) -> int:
    """restartAttemptPeriod in ECS seconds (default 300)."""
    return int(policy.get("restartAttemptPeriod") or DEFAULT_RESTART_ATTEMPT_PERIOD_S)


def should_restart(policy: Mapping[str, Any] | None, exit_code: int | None, *, ran_s: float,
                   period_wall_s: float) -> bool:
    """Whether a container that exited with `exit_code` after running `ran_s` wall seconds since its last start is
    restarted in place (`period_wall_s`: restartAttemptPeriod converted by the clock).

    >>> should_restart({"enabled": True, "ignoredExitCodes": [0]}, 1, ran_s=400, period_wall_s=300)
    True
    >>> should_restart({"enabled": True, "ignoredExitCodes": [0]}, 0, ran_s=400, period_wall_s=300)
    False
    >>> should_restart({"enabled": True}, 1, ran_s=10, period_wall_s=300)
    False
    """
    if not policy or not policy.get("enabled"):
        return False
    if exit_code is None or exit_code in set(policy.get("ignoredExitCodes") or ()):
        return False
    return ran_s >= period_wall_s
