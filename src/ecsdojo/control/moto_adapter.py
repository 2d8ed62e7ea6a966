"""The one module that reaches into moto: it reads desired state and writes observed state.

moto keeps the ECS API's desired state (clusters, task definitions, services and their desired counts). This
adapter:
- intercepts the ECS API calls whose behaviour moto does not model (validation, run_task placement, stop_task,
  list_tasks filters, service settings that moto drops) and hands them to the control plane;
- reads services and task definitions for the reconcilers;
- writes what really happened (task status, timestamps, containers, stop codes, service counts, events and
  deployments) onto moto's objects, so that describe_* and the AWS CLI show it.

All access to moto's ECS backend goes through `MotoAdapter.lock`, shared with the intercepted API handlers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ecsdojo.cloud import ACCOUNT_ID, LOOPBACK
from ecsdojo.control.records import ContainerRecord, InstanceRecord, ServiceRecord, TaskRecord

# The ECS response handlers we wrap, and what the control plane does with each.
INTERCEPTED = ("create_cluster", "register_task_definition", "run_task", "stop_task", "list_tasks",
               "describe_tasks", "create_service", "update_service", "delete_service", "describe_services",
               "list_services", "describe_container_instances", "list_container_instances", "delete_cluster")


class MotoAdapter:
    def __init__(self, *, region: str) -> None:
        self.region = region
        self.lock = threading.RLock()
        self._originals: dict[str, Callable] = {}

    # ---- moto's objects ------------------------------------------------------------------------
    @property
    def ecs(self):
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT_ID][self.region]

    @property
    def ec2(self):
        from moto.ec2.models import ec2_backends

        return ec2_backends[ACCOUNT_ID][self.region]

    @property
    def elbv2(self):
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[ACCOUNT_ID][self.region]

    def reset(self) -> None:
        """Forget every resource in moto (a fresh account) and pin moto's task state machine."""
        from moto.moto_api import state_manager
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        # moto advances a task one state per describe_tasks; the control plane sets states itself.
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**12})

    # ---- interception --------------------------------------------------------------------------
    def install(self, handlers: dict[str, Callable[[Any, dict, Callable[[], Any]], Any]]) -> None:
        """Wrap moto's ECS response methods: handler(response, params, call_original) -> result."""
        from moto.ecs.responses import EC2ContainerServiceResponse

        lock = self.lock
        for name in INTERCEPTED:
            original = getattr(EC2ContainerServiceResponse, name)
            self._originals[name] = original
            handler = handlers.get(name)

            def wrapper(response, _original=original, _handler=handler):
                with lock:
                    if _handler is None:
                        return _original(response)
                    params = response._get_params() if hasattr(response, "_get_params") else {}
                    return _handler(response, params, lambda: _original(response))

            setattr(EC2ContainerServiceResponse, name, wrapper)

    def uninstall(self) -> None:
        from moto.ecs.responses import EC2ContainerServiceResponse

        for name, original in self._originals.items():
            setattr(EC2ContainerServiceResponse, name, original)
        self._originals.clear()

    # ---- reads -----------------------------------------------------------------------------------
    def clusters(self) -> dict[str, Any]:
        return dict(self.ecs.clusters)

    def services(self) -> list[Any]:
        return list(self.ecs.services.values())

    def service(self, cluster: str, name: str):
        for service in self.ecs.services.values():
            if service.cluster_name == cluster and service.name == name:
                return service
        return None

    def task_definition(self, arn: str):
        return self.ecs.describe_task_definition(arn)

    def moto_task(self, cluster: str, arn: str):
        return self.ecs.tasks.get(cluster, {}).get(arn)

    def find_task(self, cluster: str, task: str):
        """A moto task by ARN or id, or None."""
        task_id = task.rsplit("/", 1)[-1]
        for arn, candidate in self.ecs.tasks.get(cluster, {}).items():
            if arn == task or arn.rsplit("/", 1)[-1] == task_id:
                return candidate
        return None

    def cluster(self, name_or_arn: str | None):
        """The moto cluster, raising moto's ClusterNotFoundException as AWS does."""
        return self.ecs._get_cluster(name_or_arn or "default")

    # ---- writes: tasks -----------------------------------------------------------------------------
    def create_task(self, *, cluster: str, task_definition, container_instance_arn: str | None, group: str,
                    started_by: str, launch_type: str, network_configuration: dict | None,
                    overrides: dict | None = None, tags: list | None = None):
        """A new moto task object (moto's Task creates the awsvpc ENI); state is written by write_task."""
        from moto.ecs.models import Task

        cluster_object = self.ecs.clusters[cluster]
        task = Task(cluster_object, task_definition, container_instance_arn, None, backend=self.ecs, group=group,
                    launch_type=launch_type, overrides=overrides or {}, started_by=started_by, tags=tags or [],
                    networking_configuration=network_configuration)
        self.ecs.tasks.setdefault(cluster, {})[task.task_arn] = task
        return task

    def write_task(self, record: TaskRecord, *, instances: dict[str, InstanceRecord]) -> None:
        task = self.moto_task(record.cluster, record.arn)
        if task is None:
            return
        task.last_status = record.last_status
        task.desired_status = record.desired_status
        task.stopped_reason = record.stopped_reason or ""
        task.stop_code = record.stop_code
        task.created_at = record.created_at
        task.pull_started_at = record.pull_started_at
        task.pull_stopped_at = record.pull_stopped_at
        task.started_at = record.started_at
        task.stopping_at = record.stopping_at
        task.stopped_at = record.stopped_at
        task.execution_stopped_at = record.execution_stopped_at
        task.health_status = record.health_status
        task.connectivity = "CONNECTED" if record.last_status not in ("PROVISIONING", "STOPPED") else None
        task.cpu = record.cpu
        task.memory = record.memory
        task.container_instance_arn = record.container_instance_arn
        task.containers = [self._container_body(record, container, instances) for container in record.containers]

    @staticmethod
    def _container_body(task: TaskRecord, container: ContainerRecord,
                        instances: dict[str, InstanceRecord]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "containerArn": container.container_arn, "taskArn": task.arn, "name": container.name,
            "image": container.image, "lastStatus": container.last_status, "healthStatus": container.health,
            "cpu": str(container.cpu),
        }
        if container.runtime_id:
            body["runtimeId"] = container.runtime_id
        if container.exit_code is not None:
            body["exitCode"] = container.exit_code
        if container.reason:
            body["reason"] = container.reason
        if container.memory:
            body["memory"] = str(container.memory)
        if container.memory_reservation:
            body["memoryReservation"] = str(container.memory_reservation)
        if container.host_ports and task.network_mode != "awsvpc":   # awsvpc tasks report ENIs, not bindings
            bindings = []
            for container_port, declared_host, protocol in container.container_port_bindings:
                # What is true here: ports are published on 127.0.0.1 only. (On an EC2 instance the ECS agent
                # reports 0.0.0.0: Docker publishes on every interface of the instance, bounded by its
                # security groups.)
                bindings.append({"bindIP": LOOPBACK, "containerPort": container_port,
                                 "hostPort": declared_host or container.host_ports.get(container_port, 0),
                                 "protocol": protocol})
            body["networkBindings"] = bindings
        return body

    # ---- writes: services ----------------------------------------------------------------------------
    def write_service(self, record: ServiceRecord, *, running: int, pending: int) -> None:
        service = self.service(record.cluster, record.name)
        if service is None:
            return
        service.running_count = running
        service.pending_count = pending
        service.events = [dict(event) for event in record.events[:100]]
        service.deployments = [d.as_api() for d in record.deployments if d.status != "INACTIVE"]
        settings = record.settings
        service.deployment_configuration = {
            "maximumPercent": settings.maximum_percent, "minimumHealthyPercent": settings.minimum_healthy_percent,
            "deploymentCircuitBreaker": {"enable": settings.circuit_breaker_enable,
                                         "rollback": settings.circuit_breaker_rollback}}
        service.health_check_grace_period_seconds = settings.health_check_grace_period_s
        service.placement_strategy = settings.placement_strategy
        service.placement_constraints = settings.placement_constraints

    def write_cluster_counts(self, cluster: str, *, running: int, pending: int, services: int) -> None:
        cluster_object = self.ecs.clusters.get(cluster)
        if cluster_object is not None:
            cluster_object.running_tasks_count = running
            cluster_object.pending_tasks_count = pending
            cluster_object.active_services_count = services

    # ---- container instances ---------------------------------------------------------------------------
    def add_container_instance(self, cluster: str, *, cpu: int, memory: int, index: int) -> InstanceRecord:
        """Launch a moto EC2 instance and register it as a container instance with cpu/memory resources."""
        image_id = next(iter(self.ec2.amis)) if self.ec2.amis else "ami-12c6146b"
        zones = [z.name for z in self.ec2.describe_availability_zones()]
        zone = zones[index % len(zones)] if zones else f"{self.region}a"
        reservation = self.ec2.run_instances(image_id, 1, None, [], instance_type="c5.large",
                                             placement=zone, is_instance_type_default=False)
        ec2_instance = reservation.instances[0]
        instance = self.ecs.register_container_instance(cluster, ec2_instance.id)
        for resources in (instance.registered_resources, instance.remaining_resources):
            for resource in resources:
                if resource["name"] == "CPU":
                    resource["integerValue"] = cpu
                elif resource["name"] == "MEMORY":
                    resource["integerValue"] = memory
        instance.attributes["ecs.availability-zone"] = zone
        return InstanceRecord(arn=instance.container_instance_arn, ec2_instance_id=ec2_instance.id,
                              availability_zone=zone, cpu=cpu, memory=memory)

    def write_instance(self, cluster: str, record: InstanceRecord) -> None:
        instance = self.ecs.container_instances.get(cluster, {}).get(record.arn.rsplit("/", 1)[-1])
        if instance is None:
            return
        for resource in instance.remaining_resources:
            if resource["name"] == "CPU":
                resource["integerValue"] = record.remaining_cpu
            elif resource["name"] == "MEMORY":
                resource["integerValue"] = record.remaining_memory
            elif resource["name"] == "PORTS":
                resource["stringSetValue"] = sorted({"22", "2375", "2376", "51678", "51679"}
                                                    | {str(p) for p in record.used_ports})
        instance.running_tasks_count = record.running_tasks

    # ---- elbv2 -----------------------------------------------------------------------------------------
    def listeners(self) -> list[dict[str, Any]]:
        """Every HTTP listener with its load balancer and default forward target group."""
        found = []
        for lb in list(self.elbv2.load_balancers.values()):
            for listener in list(lb.listeners.values()):
                target_group = None
                for action in listener.default_actions:
                    data = action.data if hasattr(action, "data") else action
                    target_group = data.get("TargetGroupArn") or (
                        (data.get("ForwardConfig") or {}).get("TargetGroups") or [{}])[0].get("TargetGroupArn")
                    if target_group:
                        break
                found.append({"load_balancer_arn": lb.arn, "load_balancer_name": lb.name,
                              "listener_arn": listener.arn, "port": int(listener.port),
                              "protocol": listener.protocol, "target_group_arn": target_group})
        return found

    def target_group(self, arn: str):
        return self.elbv2.target_groups.get(arn)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


# ---- CloudWatch and Application Auto Scaling (used by control/metrics.py and control/autoscaling.py) ----------

# Application Auto Scaling operations that run under the adapter's lock (so readers see consistent state);
# the ones with a handler get it. describe_scaling_activities is missing from moto and is added.
AUTOSCALING_WRAPPED = ("register_scalable_target", "deregister_scalable_target", "put_scaling_policy",
                       "delete_scaling_policy", "put_scheduled_action", "delete_scheduled_action")
AUTOSCALING_ADDED = ("describe_scaling_activities",)
CLOUDWATCH_WRAPPED = ("set_alarm_state", "put_metric_alarm",
                      "describe_alarms")     # describe_alarms under the lock: never mid-put_scaling_policy
CLOUDWATCH_ADDED = ("describe_alarm_history",)


def _autoscaling_backend(region: str):
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    return applicationautoscaling_backends[ACCOUNT_ID][region]


def _cloudwatch_backend(region: str):
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT_ID][region]


def _install_on(cls, handlers: dict[str, Callable], wrapped: tuple[str, ...], added: tuple[str, ...],
                lock, originals: dict[tuple[type, str], Any]) -> None:
    """Wrap `wrapped` methods of a moto response class (under `lock`) and add the `added` ones."""
    for name in wrapped + added:
        original = cls.__dict__.get(name)
        if original is None and name not in added:
            continue
        originals[(cls, name)] = original
        handler = handlers.get(name)
        if original is None and handler is None:
            continue

        def wrapper(response, _original=original, _handler=handler):
            with lock:
                call = (lambda: _original(response)) if _original is not None else (lambda: None)
                if _handler is None:
                    return call()
                return _handler(response, _request_params(response), call)

        setattr(cls, name, wrapper)


def _request_params(response) -> dict[str, Any]:
    """The request's parameters (PascalCase): moto's parsed ones, else the JSON body."""
    if getattr(response, "automated_parameter_parsing", False) and isinstance(getattr(response, "params", None), dict):
        return dict(response.params)
    try:
        params = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return params if isinstance(params, dict) else {}


def install_autoscaling(adapter: MotoAdapter, handlers: dict[str, Callable[[Any, dict, Callable[[], Any]], Any]],
                        *, cloudwatch_handlers: dict[str, Callable] | None = None) -> None:
    """Wrap moto's Application Auto Scaling (and CloudWatch) response methods, like `MotoAdapter.install`:
    handler(response, params, call_original) -> result. Adds describe_scaling_activities and
    describe_alarm_history, which moto lacks. Undo with `uninstall_autoscaling(adapter)`."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.cloudwatch.responses import CloudWatchResponse

    originals = adapter.__dict__.setdefault("_autoscaling_originals", {})
    _install_on(ApplicationAutoScalingResponse, handlers, AUTOSCALING_WRAPPED, AUTOSCALING_ADDED, adapter.lock,
                originals)
    _install_on(CloudWatchResponse, cloudwatch_handlers or {}, CLOUDWATCH_WRAPPED, CLOUDWATCH_ADDED, adapter.lock,
                originals)


def uninstall_autoscaling(adapter: MotoAdapter) -> None:
    originals = adapter.__dict__.get("_autoscaling_originals", {})
    for (cls, name), original in originals.items():
        if original is None:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, original)
    originals.clear()


def action_result(body: dict[str, Any]) -> Any:
    """A moto ActionResult (serialized with the service's botocore model, e.g. datetimes for CloudWatch)."""
    from moto.core.responses import ActionResult

    return ActionResult(body)


def validation_error(message: str) -> Exception:
    """Application Auto Scaling's ValidationException, to raise from a handler."""
    from moto.applicationautoscaling.exceptions import AWSValidationException

    return AWSValidationException(message)


def object_not_found(message: str) -> Exception:
    """Application Auto Scaling's ObjectNotFoundException."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ObjectNotFoundException", message)


def metric_datapoints(adapter: MotoAdapter, *,
                      since: float) -> list[tuple[str, str, frozenset, str | None, float, list[float]]]:
    """Every datapoint in moto's CloudWatch stamped at or after `since` (epoch seconds):
    (namespace, metric name, frozenset of (dimension, value), unit, epoch seconds, values).

    A StatisticValues datapoint becomes its SampleCount copies of the average (capped at 1000): Sum,
    Average and SampleCount stay right, Minimum/Maximum/percentiles of such data are approximate."""
    from datetime import timezone as _tz

    found = []
    for datum in list(_cloudwatch_backend(adapter.region).metric_data):
        stamp = datum.timestamp
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=_tz.utc)
        seconds = stamp.timestamp()
        if seconds < since:
            continue
        if hasattr(datum, "value"):
            values = [float(datum.value)]
        else:
            count = max(int(float(datum.sample_count)), 1)
            values = [float(datum.sum_stat) / count] * min(count, 1000)
        dimensions = frozenset((d.name, d.value) for d in datum.dimensions)
        found.append((datum.namespace, datum.name, dimensions, datum.unit, seconds, values))
    return found


def put_alarm(adapter: MotoAdapter, params: dict[str, Any]) -> None:
    """PutMetricAlarm straight into moto's backend (PascalCase parameters, single-metric alarms)."""
    _cloudwatch_backend(adapter.region).put_metric_alarm(
        name=params["AlarmName"], namespace=params.get("Namespace"), metric_name=params.get("MetricName"),
        comparison_operator=params["ComparisonOperator"], evaluation_periods=params["EvaluationPeriods"],
        period=params["Period"], threshold=params["Threshold"], statistic=params.get("Statistic"),
        extended_statistic=params.get("ExtendedStatistic"), description=params.get("AlarmDescription", ""),
        dimensions=params.get("Dimensions", []), alarm_actions=params.get("AlarmActions", []),
        datapoints_to_alarm=params.get("DatapointsToAlarm"), unit=params.get("Unit"),
        treat_missing_data=params.get("TreatMissingData"))


def set_alarm_fields(adapter: MotoAdapter, name: str, *, state: str, reason: str, reason_data: str = "{}") -> None:
    """Set an alarm's state without a history entry (a new alarm's INSUFFICIENT_DATA, a kept state)."""
    alarm = _cloudwatch_backend(adapter.region).alarms.get(name)
    if alarm is not None:
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = state, reason, reason_data


def delete_alarms(adapter: MotoAdapter, names: list[str]) -> None:
    _cloudwatch_backend(adapter.region).delete_alarms(list(names))


def alarm_summary(adapter: MotoAdapter, name: str) -> dict[str, Any] | None:
    """An alarm's state, reason, threshold and actions (by state), or None."""
    alarm = _cloudwatch_backend(adapter.region).alarms.get(name)
    if alarm is None:
        return None
    return {"name": alarm.name, "arn": alarm.alarm_arn, "state": alarm.state_value, "reason": alarm.state_reason,
            "reason_data": alarm.state_reason_data, "threshold": alarm.threshold,
            "actions_enabled": bool(alarm.actions_enabled),
            "actions": {"ALARM": list(alarm.alarm_actions or []), "OK": list(alarm.ok_actions or []),
                        "INSUFFICIENT_DATA": list(alarm.insufficient_data_actions or [])}}


def alarm_names(adapter: MotoAdapter) -> set[str]:
    return set(_cloudwatch_backend(adapter.region).alarms)


def scalable_targets(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scalable_targets' entries (PascalCase)."""
    backend = _autoscaling_backend(adapter.region)
    return [{"ServiceNamespace": t.service_namespace, "ResourceId": t.resource_id,
             "ScalableDimension": t.scalable_dimension, "MinCapacity": t.min_capacity,
             "MaxCapacity": t.max_capacity, "SuspendedState": t.suspended_state or {},
             "CreationTime": t.creation_time}
            for t in backend._flatten_scalable_targets(namespace)]


def write_scalable_target(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str,
                          min_capacity: int | None = None, max_capacity: int | None = None) -> None:
    """Set a scalable target's MinCapacity / MaxCapacity (what a scheduled action does)."""
    target = _autoscaling_backend(adapter.region).targets.get(dimension, {}).get(resource_id)
    if target is not None and target.service_namespace == namespace:
        target.update(min_capacity, max_capacity, None)


def scaling_policies(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scaling_policies' entries (PascalCase), each with its alarms' names."""
    found = []
    for policy in list(_autoscaling_backend(adapter.region).policies.values()):
        if policy.service_namespace != namespace:
            continue
        found.append({"PolicyARN": policy.policy_arn, "PolicyName": policy.policy_name,
                      "ServiceNamespace": policy.service_namespace, "ResourceId": policy.resource_id,
                      "ScalableDimension": policy.scalable_dimension, "PolicyType": policy.policy_type,
                      "StepScalingPolicyConfiguration": policy.step_scaling_policy_configuration,
                      "TargetTrackingScalingPolicyConfiguration": policy.target_tracking_scaling_policy_configuration,
                      "Alarms": [{"AlarmName": a.name, "AlarmARN": a.alarm_arn,
                                  "AlarmActions": list(a.alarm_actions)} for a in policy.alarms]})
    return found


def scaling_policy(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str,
                   name: str) -> dict[str, Any] | None:
    for policy in scaling_policies(adapter, namespace):
        if (policy["ResourceId"], policy["ScalableDimension"], policy["PolicyName"]) == (resource_id, dimension, name):
            return policy
    return None


def replace_policy_alarms(adapter: MotoAdapter, policy_arn: str, alarms: list[dict[str, Any]]) -> None:
    """Put `alarms` (PutMetricAlarm parameters) for a policy and make them its alarms; the policy's
    other alarms are deleted."""
    backend = _autoscaling_backend(adapter.region)
    policy = next((p for p in backend.policies.values() if p.policy_arn == policy_arn), None)
    if policy is None:
        return
    keep = {params["AlarmName"] for params in alarms}
    delete_alarms(adapter, [a.name for a in policy.alarms if a.name not in keep])
    for params in alarms:
        put_alarm(adapter, params)
        set_alarm_fields(adapter, params["AlarmName"], state="INSUFFICIENT_DATA",
                         reason="Unchecked: Initial alarm creation")
    cloudwatch = _cloudwatch_backend(adapter.region)
    policy.alarms = [cloudwatch.alarms[name] for name in (p["AlarmName"] for p in alarms) if name in cloudwatch.alarms]


def scheduled_actions(adapter: MotoAdapter, namespace: str = "ecs") -> list[dict[str, Any]]:
    """describe_scheduled_actions' entries (PascalCase; times as moto keeps them)."""
    return [{"ScheduledActionName": a.scheduled_action_name, "ScheduledActionARN": a.arn,
             "ServiceNamespace": a.service_namespace, "Schedule": a.schedule, "Timezone": a.timezone,
             "ResourceId": a.resource_id, "ScalableDimension": a.scalable_dimension, "StartTime": a.start_time,
             "EndTime": a.end_time, "CreationTime": a.creation_time,
             "ScalableTargetAction": a.scalable_target_action or {}}
            for a in list(_autoscaling_backend(adapter.region).scheduled_actions) if a.service_namespace == namespace]


def forget_target(adapter: MotoAdapter, *, namespace: str, resource_id: str, dimension: str) -> None:
    """What DeregisterScalableTarget also does in AWS: delete the target's scaling policies (with their
    alarms) and scheduled actions."""
    backend = _autoscaling_backend(adapter.region)
    for key, policy in list(backend.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, resource_id,
                                                                                          dimension):
            delete_alarms(adapter, [a.name for a in policy.alarms])
            del backend.policies[key]
    backend.scheduled_actions = [a for a in backend.scheduled_actions
                                 if (a.service_namespace, a.resource_id, a.scalable_dimension)
                                 != (namespace, resource_id, dimension)]
