"""LocalECS: moto for the ECS API plus a control plane that runs real containers — the engine of every lab.

Example (a notebook)::

    from ecsdojo import LocalECS
    with LocalECS(speed=10) as local:
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="my-cluster")
        ...
        local.wait_for_service("my-cluster", "my-service", running=2)

Inside the block, plain `boto3.client("ecs")` and the AWS CLI (with `local.cli_environment()`) reach moto too.
One LocalECS runs per process at a time (moto's state is per process).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ecsdojo.cloud import REGION, MotoServer, pointed_at_moto
from ecsdojo.control.clock import Clock
from ecsdojo.control.moto import MotoAdapter
from ecsdojo.control.plane import ControlPlane
from ecsdojo.control.store import BALANCERS_KEY
from ecsdojo.runtime.base import (LABEL_MANAGED, ContainerSpec, ExecNotSupportedError, ExecResult, PortMapping,
                                  Runtime, orphan_filter,
                                  owned_labels)

PREFLIGHT_IMAGE = "ecsdojo/app:latest"   # the labs' image: LocalECS starts it once to see the engine can run it
LISTENER_WAIT_S = 5.0      # how long `url()` waits for a listener created a moment ago to be served


class WaitTimeoutError(TimeoutError):
    """A condition on LocalECS's state did not hold in time; the message shows the last state seen."""


class LocalECSStoppedError(RuntimeError):
    """A call reached a LocalECS that was stopped (e.g. Run All ran the module's clean-up cell)."""

    def __init__(self) -> None:
        super().__init__("this LocalECS is stopped (the module's last cell stops it, and Run All runs that cell "
                         "too). Run the set-up cell at the top of the module again to start a new one, then this "
                         "cell.")


class LocalECS:
    def __init__(self, *, speed: float = 1.0, runtime: Runtime | str | None = None, instances: int = 2,
                 instance_cpu: int = 2048, instance_memory: int = 4096, region: str = REGION, port: int = 0,
                 load_balancers: bool = True, point_environment: bool = True,
                 snapshot_path: str | os.PathLike | None = None, autoscaling: bool = True) -> None:
        self.clock = Clock(speed)
        self.region = region
        self.session = f"s{uuid.uuid4().hex[:10]}"
        self._runtime_choice = runtime
        self._instances = instances
        self._instance_cpu = instance_cpu
        self._instance_memory = instance_memory
        self._port = port
        self._load_balancers = load_balancers
        self._point_environment = point_environment
        self._snapshot_path = Path(snapshot_path) if snapshot_path else None
        self._stack: ExitStack | None = None
        self._stopped = False
        self.moto: MotoServer | None = None
        self.runtime: Runtime | None = None
        self.plane: ControlPlane | None = None
        self.balancers: Any = None
        self.swept_orphans = 0
        self._autoscaling = autoscaling
        self.autoscaling: Any = None          # control/autoscaling.py: metrics, alarms, scaling policies
        self.timeline = _scaling_timeline(self.clock)   # what auto scaling saw and did, on ECS time

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LocalECS:
        from ecsdojo.runtime import detect_runtime

        stack = ExitStack()
        try:
            if isinstance(self._runtime_choice, Runtime):
                self.runtime = self._runtime_choice
            else:
                self.runtime = detect_runtime(self._runtime_choice)
            self.swept_orphans = sweep_orphans(self.runtime)
            self._preflight()
            self.moto = MotoServer(port=self._port, region=self.region).start()
            stack.callback(self.moto.stop)
            adapter = MotoAdapter(region=self.region)
            adapter.reset()
            agent = None
            if self.runtime.task_agent:     # metadata v4 + task-role credentials inside containers
                from ecsdojo.control.agent import TaskAgent

                agent = TaskAgent(moto_url=self.moto.endpoint_url, runtime=self.runtime, region=self.region,
                                  mode=self.runtime.task_agent).start()
                stack.callback(agent.stop)
            self.plane = ControlPlane(adapter=adapter, runtime=self.runtime, clock=self.clock,
                                      labels=owned_labels(self.session), instances_per_cluster=self._instances,
                                      instance_cpu=self._instance_cpu, instance_memory=self._instance_memory,
                                      snapshot_path=self._snapshot_path, agent=agent)
            self.plane.start()
            stack.callback(self.plane.stop)
            if self._load_balancers:
                from ecsdojo.control.elb import BalancerReconciler

                self.balancers = BalancerReconciler(store=self.plane.store, desired=adapter, clock=self.clock,
                                                    queue=self.plane.queue)
                self.plane.handle("balancers", self.balancers.sync_key)
                self.balancers.start()
                stack.callback(self.balancers.stop)
                self.plane.snapshot_extra = self.balancers.snapshot
            if self._autoscaling:
                from ecsdojo.control.autoscaling import AutoScaling

                self.autoscaling = AutoScaling(self.plane, self.moto, balancers=self.balancers,
                                               timeline=self.timeline)
                self.autoscaling.start()
                stack.callback(self.autoscaling.stop)
            if self._point_environment:
                stack.enter_context(pointed_at_moto(self.moto.endpoint_url, region=self.region))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        self._stopped = False
        return self

    def _preflight(self) -> None:
        """Say at once when the engine answers but cannot start containers (every task would fail)."""
        from ecsdojo.runtime import ENGINE_FIXES, EngineCannotRunContainersError

        spec = ContainerSpec(name=f"ecsdojo-{self.session}-preflight", image=PREFLIGHT_IMAGE, command=("true",),
                             labels=owned_labels(self.session), ports=(PortMapping(8080),))
        try:
            self.runtime.preflight(spec)
        except EngineCannotRunContainersError as error:
            engine = self.runtime.describe()
            raise EngineCannotRunContainersError(f"{error.detail}. Every task would fail to start on {engine}: "
                                                 f"{ENGINE_FIXES}; `dojo doctor` checks it again") from None

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
            self._stopped = True

    def __enter__(self) -> LocalECS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- clients ------------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return self._require_moto().endpoint_url

    def client(self, service: str) -> Any:
        """A boto3 client for `service` that reaches this LocalECS's moto only (and says so once it is stopped)."""
        client = self._require_moto().client(service)

        def refuse_when_stopped(**_: Any) -> None:
            if self._stopped:
                raise LocalECSStoppedError()

        client.meta.events.register_first("before-call", refuse_when_stopped)
        return client

    def cli_environment(self) -> dict[str, str]:
        return self._require_moto().cli_environment()

    def export_lines(self) -> list[str]:
        return self._require_moto().export_lines()

    def _require_moto(self) -> MotoServer:
        if self._stopped:
            raise LocalECSStoppedError()
        if self.moto is None:
            raise RuntimeError("LocalECS is not started: use `with LocalECS() as local:` or call start()")
        return self.moto

    # ---- state for labs ----------------------------------------------------------------------------------
    def tasks(self, cluster: str, *, service: str | None = None, include_stopped: bool = False) -> list[Any]:
        """Task records (observed state) of a cluster, newest first."""
        self._require_moto()
        with self.plane.lock:
            found = [t for t in self.plane.tasks.values() if t.cluster == cluster
                     and (service is None or t.service == service)
                     and (include_stopped or t.last_status != "STOPPED")]
        return sorted(found, key=lambda t: t.created_at, reverse=True)

    def service_events(self, cluster: str, service: str) -> list[str]:
        self._require_moto()
        with self.plane.lock:
            record = self.plane.services.get((cluster, service))
            return [e["message"] for e in record.events] if record else []

    def exec(self, task: Any, command: str, *, container: str | None = None,
             cluster: str | None = None) -> ExecResult:
        """ECS Exec from Python: what `aws ecs execute-command --interactive --command COMMAND` runs, with its output
        captured instead of joined to a terminal. `task` is a task record, ARN or id (its cluster is found).

        The same rules as the API: the task must have been started with enableExecuteCommand (else ECS's
        InvalidParameterException). On simulated containers it raises ExecNotSupportedError, which says why.

        >>> local.exec(task, "cat /etc/hostname").output      # doctest: +SKIP
        """
        from ecsdojo.control.ecs.exec import read_token

        self._require_moto()
        if not self.runtime.supports_exec:
            raise ExecNotSupportedError()
        task_ref = getattr(task, "arn", None) or str(task)
        if cluster is None:
            cluster = getattr(task, "cluster", None)
        if cluster is None:
            with self.plane.lock:
                found = [t.cluster for t in self.plane.tasks.values() if task_ref in (t.arn, t.id)]
            cluster = found[0] if found else "default"
        request = {"cluster": cluster, "task": task_ref, "command": command, "interactive": True}
        if container:
            request["container"] = container
        reply = self.client("ecs").execute_command(**request)
        target = read_token(reply["session"]["tokenValue"])
        return self.runtime.exec(target.container_id, target.argv)

    def wait_for(self, condition: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.1,
                 describe: str = "the condition") -> Any:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(interval)
        raise WaitTimeoutError(f"timed out after {timeout:.0f}s waiting for {describe} (last: {value!r})")

    def wait_for_service(self, cluster: str, service: str, *, running: int | None = None,
                         timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the service runs `running` tasks (default: its desiredCount) with none pending."""
        ecs = self.client("ecs")
        seen: dict[str, Any] = {}

        def check():
            body = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
            seen["body"] = body
            want = body["desiredCount"] if running is None else running
            return body if body["runningCount"] == want and body["pendingCount"] == 0 else None

        try:
            return self.wait_for(check, timeout=timeout, describe=f"service {service} to run its tasks")
        except WaitTimeoutError:
            raise WaitTimeoutError(self.service_forensics(cluster, service, seen.get("body"), timeout=timeout,
                                                          running=running)) from None

    def service_forensics(self, cluster: str, service: str, body: dict[str, Any] | None = None, *,
                          timeout: float | None = None, running: int | None = None) -> str:
        """Why a service is not where it should be, in the words a learner would look up: its counts, the
        newest stopped task's stop code, reason and exit codes, and the service's latest events."""
        lines = []
        waited = f"timed out after {timeout:.0f}s waiting for " if timeout is not None else ""
        if body is None:
            lines.append(f"{waited}service {service} in cluster {cluster}: not described yet")
        else:
            want = body["desiredCount"] if running is None else running
            lines.append(f"{waited}service {service} to run {want} task(s): running {body['runningCount']}, "
                         f"pending {body['pendingCount']}, desired {body['desiredCount']}")
        stopped = [t for t in self.tasks(cluster, service=service, include_stopped=True)
                   if t.last_status == "STOPPED"]
        if stopped:
            task = stopped[0]           # newest first
            exits = ", ".join(
                c.name + (f" exit {c.exit_code}" if c.exit_code is not None else "")
                + (f" ({c.reason})" if c.reason and c.reason != task.stopped_reason else "")
                for c in task.containers
                if c.exit_code is not None or (c.reason and c.reason != task.stopped_reason))
            lines.append(f"newest stopped task {task.id}: stopCode {task.stop_code}, "
                         f"stoppedReason {task.stopped_reason!r}" + (f"; {exits}" if exits else "")
                         + f" ({len(stopped)} stopped in all)")
        else:
            lines.append("no task of this service has stopped")
        events = self.service_events(cluster, service)[:3]      # the API lists events newest first
        lines.extend(["latest events:"] + [f"  {message}" for message in events] if events
                     else ["no service events yet"])
        return "\n".join(lines)

    def url(self, load_balancer: str | None = None) -> str:
        """The 127.0.0.1 URL of a load balancer's first listener (the only one when not named)."""
        if self.balancers is None:
            raise RuntimeError("load balancers are disabled for this LocalECS")
        try:
            return self.balancers.url(load_balancer)
        except LookupError:             # a listener created a moment ago: let the balancers look now
            self.plane.enqueue(BALANCERS_KEY)
            served = self._wait_quietly(lambda: self._served_url(load_balancer), timeout=LISTENER_WAIT_S)
            if served is None:
                raise
            return served

    def _served_url(self, load_balancer: str | None) -> str | None:
        try:
            return self.balancers.url(load_balancer)
        except LookupError:
            return None

    def _wait_quietly(self, condition: Callable[[], Any], *, timeout: float) -> Any:
        try:
            return self.wait_for(condition, timeout=timeout)
        except WaitTimeoutError:
            return None

    def create_load_balancer(self, name: str, *, port: int = 8080, listener_port: int | None = None,
                             health_path: str = "/health", interval_s: int = 5, healthy_threshold: int = 2) -> str:
        """An ALB with an HTTP target group `NAME-tg` on `port` and a forwarding listener on `listener_port`
        (default: `port`), through the elbv2 API (as a learner would create them); returns the target group
        ARN for a service's `loadBalancers`. The listener is served on 127.0.0.1:`listener_port` when that port
        is free and unprivileged, else on a free port: `url(NAME)` says which.

        Example::

            group = local.create_load_balancer("web-lb")
            ecs.create_service(..., loadBalancers=[{"targetGroupArn": group, "containerName": "web",
                                                    "containerPort": 8080}])
        """
        elbv2, ec2 = self.client("elbv2"), self.client("ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]][:2]
        balancer = elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]
        group = elbv2.create_target_group(Name=f"{name}-tg"[:32], Protocol="HTTP", Port=port, VpcId=vpc,
                                          HealthCheckPath=health_path, HealthCheckIntervalSeconds=interval_s,
                                          HealthyThresholdCount=healthy_threshold)["TargetGroups"][0]
        elbv2.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP",
                              Port=port if listener_port is None else listener_port,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
        if self.plane is not None:
            self.plane.enqueue(BALANCERS_KEY)       # served now, not at the next periodic look
        return group["TargetGroupArn"]

    def target_states(self, load_balancer: str | None = None) -> dict[str, str]:
        """Target health by task id ("healthy", "unhealthy", "initial", "draining") of a served load balancer
        (all of them when not named).

        Example::

            local.target_states("web-lb")      # {"3f2a...": "healthy", "9c1b...": "healthy"}
        """
        if self.balancers is None:
            raise RuntimeError("load balancers are disabled for this LocalECS")
        return self.balancers.target_states(load_balancer)

    def wait_for_healthy_targets(self, count: int, *, load_balancer: str | None = None,
                                 timeout: float = 60.0) -> dict[str, str]:
        """Wait until `count` targets are healthy (of one load balancer, or across all); returns their states."""
        def healthy() -> dict[str, str] | None:
            states = self.target_states(load_balancer)
            return states if sum(1 for state in states.values() if state == "healthy") >= count else None

        return self.wait_for(healthy, timeout=timeout, describe=f"{count} healthy target(s)")

    def create_service_behind_load_balancer(self, *, cluster: str, service: str, task_definition: str,
                                            container_name: str, container_port: int = 8080,
                                            load_balancer: str | None = None, port: int = 8080,
                                            listener_port: int | None = None, desired_count: int = 2,
                                            health_path: str = "/health", wait: bool = True,
                                            timeout: float = 60.0, **service_options: Any) -> str:
        """A load balancer (default name `SERVICE-lb`, see create_load_balancer: target group on `port`,
        listener on `listener_port`, default `port`, health-checking `health_path`) and an EC2 service of
        `desired_count` tasks registered in it; waits (unless wait=False) until the tasks run and their
        targets are healthy; returns the load balancer's URL. The cluster and the task definition must exist;
        `service_options` go to create_service (deploymentConfiguration, ...).

        Example::

            url = local.create_service_behind_load_balancer(cluster="demo", service="web", task_definition="web",
                                                            container_name="web", port=8080)
        """
        name = load_balancer or f"{service}-lb"
        group = self.create_load_balancer(name, port=port, listener_port=listener_port, health_path=health_path)
        self.client("ecs").create_service(
            cluster=cluster, serviceName=service, taskDefinition=task_definition, desiredCount=desired_count,
            launchType=service_options.pop("launchType", "EC2"),
            loadBalancers=[{"targetGroupArn": group, "containerName": container_name,
                            "containerPort": container_port}], **service_options)
        if wait:
            self.wait_for_service(cluster, service, timeout=timeout)
            self.wait_for_healthy_targets(desired_count, load_balancer=name, timeout=timeout)
        return self.url(name)


def _scaling_timeline(clock: Clock):
    from ecsdojo.control.autoscaling import ScalingTimeline
    from ecsdojo.control.metrics import EcsTime

    return ScalingTimeline(EcsTime(clock))


def sweep_orphans(runtime: Runtime) -> int:
    """Remove containers left by a LocalECS whose process is gone (a crashed kernel, a killed `dojo up`)."""
    orphans = orphan_filter(runtime.list({LABEL_MANAGED: "true"}))
    for state in orphans:
        runtime.remove(state.id)
    return len(orphans)
