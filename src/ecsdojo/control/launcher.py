"""The launcher: placement plus a new task, shared by RunTask and the service scheduler.

`launch` places up to `count` tasks of one task definition (a container instance chosen by `placement.place`
for the EC2 launch type; none for Fargate), creates each in moto and in the store (PROVISIONING), and queues
it for the task reconciler. It stops at the first placement failure and returns placement's sentence.

Example::

    result = launcher.launch(cluster="my-cluster", definition=view, count=2, group="service:web",
                             started_by="ecs-svc/123", launch_type="EC2", service="web", deployment_id="ecs-svc/123")
    result.task_arns, result.failure       # ["arn:...", "arn:..."], None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.placement import missing_resource, place, release, reserve
from ecsdojo.control.specs import container_records, task_requirements
from ecsdojo.control.store import ObservedState

__all__ = ["Launcher", "LaunchResult", "TaskCreator"]


class TaskCreator(Protocol):
    """What the launcher needs of control/moto/ (a fake in unit tests)."""

    def create_task(self, *, cluster: str, task_definition_arn: str, container_instance_arn: str | None, group: str,
                    started_by: str, launch_type: str, network_configuration: dict | None,
                    overrides: dict | None = None, tags: list | None = None) -> tuple[str, str]: ...


@dataclass
class LaunchResult:
    task_arns: list[str] = field(default_factory=list)
    failure: str | None = None          # placement's sentence for the first task that found no instance


class Launcher:
    def __init__(self, *, store: ObservedState, creator: TaskCreator, clock: Clock) -> None:
        self.store = store
        self.creator = creator
        self.clock = clock

    def launch(self, *, cluster: str, definition: TaskDefinitionView, count: int, group: str, started_by: str,
               launch_type: str, network_configuration: dict | None = None, strategy: list | None = None,
               service: str | None = None, deployment_id: str | None = None, overrides: dict | None = None,
               tags: list | None = None, enable_execute_command: bool = False) -> LaunchResult:
        """Place and create up to `count` tasks (under the store's lock)."""
        result = LaunchResult()
        for _ in range(count):
            instance, requirement, failure = self._choose_instance(cluster, definition, launch_type,
                                                                   strategy=strategy, group=group)
            if failure:
                result.failure = failure
                return result
            result.task_arns.append(self._new_task(
                cluster=cluster, definition=definition, group=group, started_by=started_by,
                launch_type=launch_type, network_configuration=network_configuration, instance=instance,
                requirement=requirement, service=service, deployment_id=deployment_id, overrides=overrides,
                tags=tags, enable_execute_command=enable_execute_command))
        return result

    def release(self, task: r.TaskRecord) -> None:
        """Give the task's cpu, memory and ports back to its container instance (once)."""
        if task.container_instance_arn and task.reserved.get("cpu") is not None:
            instance = self.store.instances.get(task.cluster, {}).get(task.container_instance_arn)
            if instance is not None:
                release(instance, task.reserved)
                self.store.save_instance(task.cluster, instance)
            task.reserved.pop("cpu", None)

    # ---- steps ----------------------------------------------------------------------------------------
    def _choose_instance(self, cluster: str, definition: TaskDefinitionView, launch_type: str, *,
                         strategy: list | None, group: str) -> tuple[r.InstanceRecord | None, dict | None, str | None]:
        """(instance, requirement, failure). Fargate needs no simulated instance."""
        if launch_type == "FARGATE":
            return None, None, None
        requirement = task_requirements(definition.containers(), task_cpu=definition.cpu,
                                        task_memory=definition.memory,
                                        network_mode=definition.network_mode or "bridge")
        instances = list(self.store.instances.get(cluster, {}).values())
        counts = self.store.group_counts(cluster, group) if group.startswith("service:") else {}
        chosen = place(requirement, instances, strategy=strategy or (), group_counts=counts)
        if chosen is None:
            return None, requirement, missing_resource(instances, requirement)
        return chosen, requirement, None

    def _new_task(self, *, cluster: str, definition: TaskDefinitionView, group: str, started_by: str,
                  launch_type: str, network_configuration: dict | None, instance: r.InstanceRecord | None,
                  requirement: dict[str, Any] | None, service: str | None, deployment_id: str | None,
                  overrides: dict | None, tags: list | None, enable_execute_command: bool = False) -> str:
        arn, task_id = self.creator.create_task(
            cluster=cluster, task_definition_arn=definition.arn,
            container_instance_arn=instance.arn if instance else None, group=group, started_by=started_by,
            launch_type=launch_type, network_configuration=network_configuration, overrides=overrides, tags=tags)
        record = r.TaskRecord(
            arn=arn, id=task_id, cluster=cluster, task_definition_arn=definition.arn, group=group,
            started_by=started_by, launch_type=launch_type, service=service,
            network_mode=definition.network_mode or "bridge", deployment_id=deployment_id,
            container_instance_arn=instance.arn if instance else None, created_at=self.clock.now(),
            cpu=str(definition.cpu) if definition.cpu else None,
            memory=str(definition.memory) if definition.memory else None,
            containers=container_records(definition.containers(), arn),
            task_role_arn=(overrides or {}).get("taskRoleArn") or definition.task_role_arn,
            execution_role_arn=(overrides or {}).get("executionRoleArn") or definition.execution_role_arn,
            enable_execute_command=enable_execute_command)
        if instance is not None and requirement is not None:
            record.reserved = reserve(instance, requirement)
            self.store.save_instance(cluster, instance)
        self.store.add_task(record)
        return arn
