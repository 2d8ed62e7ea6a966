"""Factories for reconciler unit tests (Kubernetes sample-controller style): an in-memory store, the fake
runtime, a fake desired-state reader standing in for control/moto/, a queue that records keys, a clock the
test moves by hand. Nothing here starts moto, a thread or a container."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from ecsdojo.control import records as r
from ecsdojo.control.clock import Clock
from ecsdojo.control.ecs.services import ServiceReconciler
from ecsdojo.control.ecs.tasks import TaskReconciler
from ecsdojo.control.elb.reconciler import BalancerReconciler
from ecsdojo.control.launcher import Launcher
from ecsdojo.control.moto.views import (
    ListenerSpec,
    LoadBalancerBinding,
    ServiceSpec,
    TargetGroupSpec,
    TaskDefinitionView,
)
from ecsdojo.control.store import ObservedState, new_deployment_id
from ecsdojo.runtime.base import owned_labels
from ecsdojo.runtime.fake import FakeRuntime

ACCOUNT = "123456789012"
IMAGE = "ecsdojo/app:latest"


class ManualClock(Clock):
    """A Clock whose monotonic time moves only when the test says so."""

    def __init__(self, speed: float = 1.0) -> None:
        super().__init__(speed)
        self.now_monotonic = 1000.0

    def monotonic(self) -> float:
        return self.now_monotonic

    def advance(self, seconds: float) -> None:
        self.now_monotonic += seconds


class RecordingQueue:
    """Keys added now and keys added for later, in order."""

    def __init__(self) -> None:
        self.added: list[Hashable] = []
        self.delayed: list[tuple[Hashable, float]] = []

    def add(self, key: Hashable) -> None:
        self.added.append(key)

    def add_after(self, key: Hashable, delay_s: float) -> None:
        self.delayed.append((key, delay_s))

    def clear(self) -> None:
        self.added.clear()
        self.delayed.clear()


class FakeDesiredState:
    """control/moto/'s reader and writer, in memory: definitions, services, listeners; records every write."""

    def __init__(self) -> None:
        self.definitions: dict[str, TaskDefinitionView] = {}
        self.services: dict[tuple[str, str], ServiceSpec] = {}
        self.listener_specs: list[ListenerSpec] = []
        self.groups: dict[str, TargetGroupSpec] = {}
        self.written_services: dict[tuple[str, str], dict[str, Any]] = {}
        self.written_tasks: dict[str, str] = {}                 # arn -> last status written
        self.registered: list[tuple[str, list[tuple[str, int]]]] = []
        self.requests: dict[tuple[str, str], dict[str, Any]] = {}   # what another route asked for (discovery)
        self.extra_clusters: set[str] = set()
        self.forward_weights: list[tuple[str, list[tuple[str, int]]]] = []     # (listener or rule, weights) written
        self.alarm_states: dict[str, str] = {}
        self._numbers = itertools.count(1)

    # definitions and services
    def add_definition(self, family: str, *, memory: int = 128, health_check: bool = False,
                       image: str = IMAGE) -> TaskDefinitionView:
        revision = sum(1 for d in self.definitions.values() if d.family == family) + 1
        container: dict[str, Any] = {"name": "web", "image": image, "memory": memory, "essential": True,
                                     "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
        if health_check:
            container["healthCheck"] = {"command": ["CMD-SHELL", "true"], "interval": 5, "retries": 1}
        view = TaskDefinitionView(arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:{revision}",
                                  family=family, container_definitions=(container,), network_mode="bridge")
        self.definitions[view.arn] = view
        return view

    def add_service(self, cluster: str, name: str, *, definition: TaskDefinitionView, desired: int,
                    target_group: str | None = None) -> ServiceSpec:
        bindings = (LoadBalancerBinding(target_group, "web", 8080),) if target_group else ()
        spec = ServiceSpec(cluster=cluster, name=name, arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{cluster}/{name}",
                           status="ACTIVE", desired_count=desired, task_definition_arn=definition.arn,
                           launch_type="EC2", load_balancers=bindings)
        self.services[(cluster, name)] = spec
        return spec

    def set_desired(self, cluster: str, name: str, count: int) -> None:
        self.services[(cluster, name)] = replace(self.services[(cluster, name)], desired_count=count)

    def add_listener(self, *, name: str, target_group: str, port: int = 8080,
                     interval_s: float = 5.0) -> ListenerSpec:
        listener = ListenerSpec(load_balancer_arn=f"arn:lb/{name}", load_balancer_name=name,
                                listener_arn=f"arn:listener/{name}", port=port, protocol="HTTP",
                                target_group_arn=target_group)
        self.listener_specs.append(listener)
        self.groups[target_group] = TargetGroupSpec(arn=target_group, health_path="/health", interval_s=interval_s)
        return listener

    # the reader
    def task_definition(self, name_or_arn: str) -> TaskDefinitionView:
        return self.definitions[name_or_arn]

    def service(self, cluster: str, name: str) -> ServiceSpec | None:
        return self.services.get((cluster, name))

    def listeners(self) -> list[ListenerSpec]:
        return list(self.listener_specs)

    def clusters(self) -> list[str]:
        return sorted({cluster for cluster, _ in self.services} | self.extra_clusters)

    def all_services(self) -> list[tuple[str, str]]:
        return sorted(self.services)

    def service_request(self, cluster: str, name: str) -> dict[str, Any]:
        return dict(self.requests.get((cluster, name), {"launchType": "EC2"}))

    def target_group(self, arn: str) -> TargetGroupSpec | None:
        return self.groups.get(arn)

    # the writer
    def set_forward_weights(self, listener_or_rule_arn: str, weights: list[tuple[str, int]]) -> None:
        self.forward_weights.append((listener_or_rule_arn, list(weights)))

    def alarm_state(self, name: str) -> str | None:
        return self.alarm_states.get(name)

    def set_service_task_definition(self, cluster: str, name: str, arn: str) -> None:
        self.services[(cluster, name)] = replace(self.services[(cluster, name)], task_definition_arn=arn)

    def write_service(self, record: r.ServiceRecord, *, running: int, pending: int) -> None:
        self.written_services[(record.cluster, record.name)] = {"running": running, "pending": pending}

    def write_task(self, record: r.TaskRecord, *, instances: dict[str, r.InstanceRecord]) -> None:
        self.written_tasks[record.arn] = record.last_status

    def write_instance(self, cluster: str, record: r.InstanceRecord) -> None:
        pass

    def create_task(self, *, cluster: str, task_definition_arn: str, container_instance_arn: str | None, group: str,
                    started_by: str, launch_type: str, network_configuration: dict | None,
                    overrides: dict | None = None, tags: list | None = None) -> tuple[str, str]:
        task_id = hashlib.sha256(f"task-{next(self._numbers)}".encode()).hexdigest()[:32]
        return f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{cluster}/{task_id}", task_id

    def register_targets(self, target_group_arn: str, targets: list[tuple[str, int]]) -> None:
        self.registered.append((target_group_arn, list(targets)))


@dataclass
class Engine:
    """The parts a reconciler is built from, wired as the control plane wires them (minus moto and threads)."""
    store: ObservedState
    desired: FakeDesiredState
    runtime: FakeRuntime
    queue: RecordingQueue
    clock: ManualClock
    launcher: Launcher
    tasks: TaskReconciler
    services: ServiceReconciler
    cluster: str = "demo"
    extra: dict[str, Any] = field(default_factory=dict)

    # set-up helpers (they bypass the reconcilers under test)
    def service(self, name: str = "web", *, desired: int = 2, definition: TaskDefinitionView | None = None,
                target_group: str | None = None, **settings: Any) -> r.ServiceRecord:
        definition = definition or self.desired.add_definition(name)
        self.desired.add_service(self.cluster, name, definition=definition, desired=desired,
                                 target_group=target_group)
        record = r.ServiceRecord(cluster=self.cluster, name=name, arn=self.desired.services[(self.cluster, name)].arn,
                                 settings=r.ServiceSettings(**settings))
        record.deployments.append(r.Deployment(id=new_deployment_id(), task_definition_arn=definition.arn,
                                               desired_count=desired, created_at=self.clock.now(),
                                               launch_type="EC2"))
        self.store.add_service(record)
        return record

    def run_all_tasks(self) -> None:
        """Let the task reconciler take every queued task to its next state (as the workers would)."""
        for arn in [key[1] for key in self.queue.added if key[0] == "task"]:
            self.tasks.sync(arn)

    def service_tasks(self, name: str = "web", *, active_only: bool = True) -> list[r.TaskRecord]:
        return self.store.tasks_of_service(self.cluster, name, active_only=active_only)

    def events(self, name: str = "web") -> list[str]:
        record = self.store.service(self.cluster, name)
        return [e["message"] for e in record.events] if record else []


def make_engine(*, speed: float = 1.0, instances: int = 2, instance_memory: int = 4096,
                runtime: FakeRuntime | None = None, exit_settle_s: float = 0.0) -> Engine:
    desired = FakeDesiredState()
    queue = RecordingQueue()
    clock = ManualClock(speed)
    store = ObservedState(writer=desired, queue=queue, clock=clock)
    store.instances["demo"] = {
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/demo/{i}": r.InstanceRecord(
            arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/demo/{i}", ec2_instance_id=f"i-{i:017x}",
            availability_zone="us-east-1a", cpu=2048, memory=instance_memory)
        for i in range(instances)}
    runtime = runtime or FakeRuntime()
    launcher = Launcher(store=store, creator=desired, clock=clock)
    tasks = TaskReconciler(store=store, launcher=launcher, desired=desired, runtime=runtime, clock=clock,
                           labels=owned_labels("unit"), exit_settle_s=exit_settle_s)
    services = ServiceReconciler(store=store, launcher=launcher, desired=desired, clock=clock, queue=queue)
    return Engine(store=store, desired=desired, runtime=runtime, queue=queue, clock=clock, launcher=launcher,
                  tasks=tasks, services=services)


class FakeBalancer:
    """Stands in for lb.LocalLoadBalancer: records targets; the test sets target health."""

    def __init__(self, *, name: str, on_change=None, **settings: Any) -> None:
        self.name = name
        self.settings = settings
        self.on_change = on_change
        self.targets: list[Any] = []
        self.health: dict[str, str] = {}
        self.url = ""
        self.stopped = False

    def start(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def set_health_check(self, *, path: str, matcher: str) -> None:
        self.settings.update(health_path=path, matcher=matcher)

    def stop(self) -> None:
        self.stopped = True

    def set_targets(self, targets: list[Any]) -> None:
        self.targets = list(targets)
        self.health = {t.id: self.health.get(t.id, "initial") for t in targets}

    def target_health(self) -> dict[str, str]:
        return dict(self.health)

    def set_weights(self, weights: dict[str, int] | None) -> None:
        self.weights = dict(weights or {})

    def request_counts(self) -> dict[str, int]:
        return {}


def make_balancers(engine: Engine) -> BalancerReconciler:
    return BalancerReconciler(store=engine.store, desired=engine.desired, clock=engine.clock, queue=engine.queue,
                              balancer_factory=FakeBalancer)
