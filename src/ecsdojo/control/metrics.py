"""MetricsPublisher: the CloudWatch metrics ECS and the load balancer would publish, from real containers.

Every (compressed) minute it puts into moto's CloudWatch:

* ``AWS/ECS`` ``CPUUtilization`` and ``MemoryUtilization`` per service (dimensions ClusterName, ServiceName,
  unit Percent), as the ECS developer guide ("Amazon ECS service utilization metrics") defines them::

      CPUUtilization    = CPU units used by the service's tasks x 100 / (CPU units of the task definition x tasks)
      MemoryUtilization = MiB used by the service's tasks x 100 / (MiB of the task definition x tasks)

  Each RUNNING task contributes one value (its own utilization), so the Average statistic is the formula
  above, Minimum / Maximum are the least and most loaded task and SampleCount is the number of tasks
  reporting -- the statistics the guide describes (the formula assumes one task definition; during a
  deployment with two differently sized revisions, Average is the mean of the tasks' percentages).
  Reservations: the task-level ``cpu`` / ``memory`` when the task definition has them, else the sum over its
  containers (``memoryReservation``, the soft limit, when given, else ``memory``, as the guide says).
  When neither the task nor any container reserves CPU units, ECS Dojo divides by 1024 units per task
  (one vCPU: the figure is then "percent of one vCPU", what ``docker stats`` shows). This is our choice: AWS
  does not document that case. Like ECS (which runs on CPU shares on EC2), CPUUtilization can exceed 100 %.
  Services with no RUNNING task publish nothing, as in ECS.
* ``AWS/ApplicationELB`` ``RequestCount`` (Sum of requests in the minute; dimensions LoadBalancer and
  LoadBalancer+TargetGroup) and ``RequestCountPerTarget`` (RequestCount divided by the healthy targets, or by
  all registered targets when none is healthy; dimensions TargetGroup and LoadBalancer+TargetGroup), only
  for minutes with requests, as Elastic Load Balancing reports them.

Time: the control plane's speed factor compresses ECS time. `EcsTime` maps wall time to "ECS time" (epoch
seconds that run `speed` times faster from the moment LocalECS started). Datapoints keep real timestamps
(what the API shows stays real); one datapoint per ECS minute is published, stamped at the middle of that
minute, so CloudWatch alarms evaluated on ECS time see one datapoint per period.

Example::

    publisher = MetricsPublisher(plane, local.client("cloudwatch"), ecs_time=EcsTime(plane.clock))
    publisher.start()                       # samples runtime.stats in parallel, continuously
    publisher.publish(start, end)           # one ECS minute [start, end) in ECS seconds
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ecsdojo.timeline import epoch_seconds

__all__ = ["EcsTime", "MetricsPublisher", "PublishedMetric", "TaskReservation", "TaskSample",
           "task_reservation", "service_utilization", "load_balancer_dimension", "target_group_dimension",
           "timeline_metric_label", "UNRESERVED_CPU_UNITS", "METRIC_PERIOD_S"]

log = logging.getLogger(__name__)

METRIC_PERIOD_S = 60             # ECS and ELB publish one-minute metrics
UNRESERVED_CPU_UNITS = 1024      # our choice when nothing reserves CPU: percent of one vCPU
SAMPLE_INTERVAL_S = 20           # ECS seconds between two rounds of runtime.stats
MIB = 1024 * 1024
ECS_NAMESPACE = "AWS/ECS"
ELB_NAMESPACE = "AWS/ApplicationELB"


class EcsTime:
    """Wall time <-> ECS time. ECS time is epoch seconds running `speed` times faster than the wall clock
    from `origin` (a wall epoch time, default: now). At speed 1 they are the same.

    Example::

        ecs_time = EcsTime(Clock(60))
        ecs_time.now()                  # ECS epoch seconds
        ecs_time.to_real(ecs_time.now() + 300)   # the wall time 300 ECS seconds from now (5 s later)
    """

    def __init__(self, clock: Any, *, origin: float | None = None) -> None:
        self.clock = clock
        self.origin = time.time() if origin is None else float(origin)

    @property
    def speed(self) -> float:
        return float(self.clock.speed)

    def to_ecs(self, real: float | datetime) -> float:
        seconds = epoch_seconds(real)
        return self.origin + (seconds - self.origin) * self.speed

    def to_real(self, ecs: float) -> float:
        return self.origin + (float(ecs) - self.origin) / self.speed

    def now(self) -> float:
        return self.to_ecs(time.time())

    def wall_until(self, ecs: float) -> float:
        """Wall seconds from now until ECS time `ecs` (negative when past)."""
        return self.to_real(ecs) - time.time()


# --- pure builders -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskReservation:
    """What one task of a task definition reserves: CPU units and MiB (None: nothing to divide by)."""
    cpu_units: float
    memory_mib: float | None
    cpu_reserved: bool = True        # False: nothing reserved CPU, UNRESERVED_CPU_UNITS used


def task_reservation(*, task_cpu: str | int | None, task_memory: str | int | None,
                     container_definitions: Sequence[Mapping[str, Any]]) -> TaskReservation:
    """The denominators of CPUUtilization / MemoryUtilization for one task.

    Example::

        task_reservation(task_cpu=None, task_memory=None,
                         container_definitions=[{"cpu": 256, "memory": 512, "memoryReservation": 256}])
        # TaskReservation(cpu_units=256, memory_mib=256)
    """
    cpu = _units(task_cpu) if task_cpu not in (None, "") else sum(
        int(d.get("cpu") or 0) for d in container_definitions)
    memory: float | None
    if task_memory not in (None, ""):
        memory = _mib(task_memory)
    else:
        memory = sum(int(d.get("memoryReservation") or d.get("memory") or 0) for d in container_definitions)
    if not cpu:
        return TaskReservation(UNRESERVED_CPU_UNITS, memory or None, cpu_reserved=False)
    return TaskReservation(float(cpu), memory or None)


def _units(value: str | int) -> float:
    text = str(value).strip().lower()
    if text.endswith("vcpu"):
        return float(text[:-4].strip()) * 1024
    return float(text)


def _mib(value: str | int) -> float:
    text = str(value).strip().lower().replace(" ", "")
    if text.endswith("gb"):
        return float(text[:-2]) * 1024
    if text.endswith("mb"):
        return float(text[:-2])
    return float(text)


def service_utilization(used_and_reserved: Sequence[tuple[float, float]]) -> tuple[list[float], float]:
    """Per-task utilizations and the service figure (total used x 100 / total reserved).

    Example::

        service_utilization([(512.0, 256.0), (0.0, 256.0)])     # ([200.0, 0.0], 100.0)
    """
    values = [used * 100.0 / reserved for used, reserved in used_and_reserved if reserved > 0]
    total_reserved = sum(reserved for _, reserved in used_and_reserved if reserved > 0)
    total_used = sum(used for used, reserved in used_and_reserved if reserved > 0)
    overall = total_used * 100.0 / total_reserved if total_reserved else 0.0
    return values, overall


def load_balancer_dimension(arn: str) -> str:
    """The LoadBalancer dimension of an ALB: ``app/NAME/ID`` from its ARN."""
    return arn.split(":loadbalancer/", 1)[1] if ":loadbalancer/" in arn else arn


def target_group_dimension(arn: str) -> str:
    """The TargetGroup dimension: ``targetgroup/NAME/ID`` from its ARN."""
    return "targetgroup/" + arn.split(":targetgroup/", 1)[1] if ":targetgroup/" in arn else arn


# --- the publisher -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskSample:
    """One reading of a task: CPU units and MiB in use, at a wall time."""
    at: float
    cpu_units: float
    memory_mib: float


@dataclass(frozen=True)
class PublishedMetric:
    """One datapoint put into CloudWatch (for tests and the timeline)."""
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    summary: float                  # the service figure (Average) or the sum
    ecs_time: float                 # the ECS minute's start


@dataclass
class _Watched:
    cluster: str
    service: str
    task_definition_arn: str
    runtime_ids: list[str] = field(default_factory=list)


class MetricsPublisher:
    """Samples service tasks' containers (runtime.stats, in parallel) and publishes ECS and ALB metrics.

    `publish(start, end)` is called by the auto-scaling loop once per ECS minute; `start()` runs the
    sampler thread. Keyword-only options: ``ecs_time`` (EcsTime), ``balancers`` (the BalancerReconciler, for
    ALB metrics), ``timeline`` (records each service figure), ``max_workers`` (parallel stats calls).
    """

    def __init__(self, plane: Any, cloudwatch: Any, *, ecs_time: EcsTime, balancers: Any = None,
                 timeline: Any = None, max_workers: int = 8) -> None:
        self.plane = plane
        self.cloudwatch = cloudwatch
        self.ecs_time = ecs_time
        self.balancers = balancers
        self.timeline = timeline
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ecsdojo-stats")
        self._samples: dict[str, deque[TaskSample]] = {}
        self._reservations: dict[str, TaskReservation] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._request_totals: dict[str, int] = {}            # listener arn -> total requests at last publish
        self.published: deque[PublishedMetric] = deque(maxlen=2000)
        self.on_published: list[Callable[[list[PublishedMetric]], None]] = []

    # ---- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._sample_forever, name="ecsdojo-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _sample_forever(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.sample_once()
            except Exception:  # noqa: BLE001 - a failed round is retried by the next one
                log.exception("sampling container stats failed")
            interval = max(self.plane.clock.wall(SAMPLE_INTERVAL_S), 0.05)
            self._stop.wait(max(interval - (time.monotonic() - began), 0.02))

    # ---- sampling --------------------------------------------------------------------------------------
    def _watched(self) -> dict[str, _Watched]:
        """Service tasks RUNNING now, with their running containers (read under the plane's lock)."""
        plane = self.plane
        found: dict[str, _Watched] = {}
        with plane.lock:
            for task in plane.tasks.values():
                if not task.service or task.last_status != "RUNNING":
                    continue
                ids = [c.runtime_id for c in task.containers if c.runtime_id and c.last_status == "RUNNING"]
                if ids:
                    found[task.arn] = _Watched(task.cluster, task.service, task.task_definition_arn, ids)
                if task.task_definition_arn not in self._reservations:
                    definition = plane.adapter.task_definition(task.task_definition_arn)
                    self._reservations[task.task_definition_arn] = task_reservation(
                        task_cpu=definition.cpu, task_memory=definition.memory,
                        container_definitions=definition.containers())
        return found

    def sample_once(self) -> int:
        """One round of runtime.stats over every running service task, in parallel; returns tasks sampled."""
        watched = self._watched()
        runtime = self.plane.runtime
        futures = {arn: [self._pool.submit(runtime.stats, cid) for cid in item.runtime_ids]
                   for arn, item in watched.items()}
        sampled = 0
        for arn, pending in futures.items():
            cpu = memory = 0.0
            seen = False
            for future in pending:
                try:
                    stats = future.result(timeout=30)
                except Exception:  # noqa: BLE001 - a container that vanished mid-sample
                    stats = None
                if stats is not None:
                    seen = True
                    cpu += stats.cpu_percent / 100.0 * 1024.0
                    memory += stats.memory_bytes / MIB
            if seen:
                sampled += 1
                with self._lock:
                    self._samples.setdefault(arn, deque(maxlen=64)).append(TaskSample(time.time(), cpu, memory))
        with self._lock:
            for arn in list(self._samples):
                if arn not in watched:
                    del self._samples[arn]
        return sampled

    def _task_reading(self, arn: str, real_start: float, real_end: float, max_age: float) -> TaskSample | None:
        """The mean of a task's samples in [real_start, real_end), else its latest one (if recent enough)."""
        with self._lock:
            samples = list(self._samples.get(arn, ()))
        inside = [s for s in samples if real_start <= s.at < real_end]
        if inside:
            return TaskSample(inside[-1].at, sum(s.cpu_units for s in inside) / len(inside),
                              sum(s.memory_mib for s in inside) / len(inside))
        before = [s for s in samples if s.at < real_end]
        if before and real_end - before[-1].at <= max_age:
            return before[-1]
        return None

    # ---- publishing ------------------------------------------------------------------------------------
    def publish(self, start: float, end: float, *, minutes: int = 1) -> list[PublishedMetric]:
        """Publish the ECS minute [start, end) (ECS seconds). `minutes` > 1: the loop fell behind and this
        call stands for that many minutes (ALB counts are split evenly)."""
        real_start, real_end = self.ecs_time.to_real(start), self.ecs_time.to_real(end)
        stamp = datetime.fromtimestamp(self.ecs_time.to_real((start + end) / 2), tz=timezone.utc)
        max_age = max(3 * (real_end - real_start), 5.0)
        published = self._ecs_metrics(start, real_start, real_end, max_age)
        published += self._elb_metrics(start, minutes)
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for metric in published:
            datum: dict[str, Any] = {"MetricName": metric.metric_name, "Timestamp": stamp,
                                     "Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions]}
            if metric.namespace == ECS_NAMESPACE:
                datum.update(Values=list(metric.values), Unit="Percent")
            else:
                datum.update(Value=metric.values[0], Unit="Count")
            by_namespace.setdefault(metric.namespace, []).append(datum)
        for namespace, data in by_namespace.items():
            for index in range(0, len(data), 500):
                try:
                    self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[index:index + 500])
                except Exception:  # noqa: BLE001 - the next minute publishes again
                    log.exception("put_metric_data to %s failed", namespace)
        self.published.extend(published)
        if self.timeline is not None:
            for metric in published:
                label = _timeline_label(metric)
                if label:
                    self.timeline.record_metric(label, start, metric.summary)
        for callback in list(self.on_published):
            callback(published)
        return published

    def _ecs_metrics(self, start: float, real_start: float, real_end: float, max_age: float) -> list[PublishedMetric]:
        watched = self._watched()
        per_service: dict[tuple[str, str], list[tuple[TaskSample, TaskReservation]]] = {}
        for arn, item in watched.items():
            reading = self._task_reading(arn, real_start, real_end, max_age)
            reservation = self._reservations.get(item.task_definition_arn)
            if reading is None or reservation is None:
                continue                          # not reporting yet: counts neither above nor below the line
            per_service.setdefault((item.cluster, item.service), []).append((reading, reservation))
        published = []
        for (cluster, service), readings in sorted(per_service.items()):
            dimensions = (("ClusterName", cluster), ("ServiceName", service))
            cpu_values, cpu = service_utilization([(s.cpu_units, r.cpu_units) for s, r in readings])
            published.append(PublishedMetric(ECS_NAMESPACE, "CPUUtilization", dimensions,
                                             tuple(round(v, 4) for v in cpu_values), round(cpu, 4), start))
            with_memory = [(s.memory_mib, r.memory_mib) for s, r in readings if r.memory_mib]
            if with_memory:
                memory_values, memory = service_utilization(with_memory)  # type: ignore[arg-type]
                published.append(PublishedMetric(ECS_NAMESPACE, "MemoryUtilization", dimensions,
                                                 tuple(round(v, 4) for v in memory_values), round(memory, 4), start))
        return published

    def _elb_metrics(self, start: float, minutes: int) -> list[PublishedMetric]:
        balancers = self.balancers
        if balancers is None:
            return []
        groups: dict[tuple[str, str], list[int]] = {}          # (lb arn, tg arn) -> [requests, healthy, registered]
        for listener_arn, balancer in list(balancers.balancers.items()):
            info = balancers.listener_info.get(listener_arn)
            if info is None or not info.target_group_arn:
                continue
            total = int(balancer.total_requests)
            delta = max(total - self._request_totals.get(listener_arn, 0), 0)
            self._request_totals[listener_arn] = total
            health = balancer.target_health()
            entry = groups.setdefault((info.load_balancer_arn, info.target_group_arn), [0, 0, 0])
            entry[0] += delta
            entry[1] = max(entry[1], sum(1 for state in health.values() if state == "healthy"))
            entry[2] = max(entry[2], sum(1 for state in health.values() if state != "draining"))
        published = []
        for (lb_arn, tg_arn), (requests, healthy, registered) in sorted(groups.items()):
            if requests <= 0:
                continue                           # ELB reports nothing for a minute without requests
            count = requests / max(minutes, 1)
            lb, tg = load_balancer_dimension(lb_arn), target_group_dimension(tg_arn)
            for dims in ((("LoadBalancer", lb),), (("LoadBalancer", lb), ("TargetGroup", tg))):
                published.append(PublishedMetric(ELB_NAMESPACE, "RequestCount", dims, (count,), count, start))
            divisor = healthy or registered
            if divisor:
                per_target = count / divisor
                for dims in ((("TargetGroup", tg),), (("LoadBalancer", lb), ("TargetGroup", tg))):
                    published.append(PublishedMetric(ELB_NAMESPACE, "RequestCountPerTarget", dims, (per_target,),
                                                     per_target, start))
        return published


def _timeline_label(metric: PublishedMetric) -> str | None:
    """One timeline line per service / target group (the two-dimension copies are skipped)."""
    dims = dict(metric.dimensions)
    if metric.namespace == ECS_NAMESPACE:
        return f"{dims['ServiceName']} {metric.metric_name}"
    if metric.metric_name == "RequestCountPerTarget" and "LoadBalancer" not in dims:
        return f"{dims['TargetGroup'].split('/')[1]} RequestCountPerTarget"
    if metric.metric_name == "RequestCount" and "TargetGroup" not in dims:
        return f"{dims['LoadBalancer'].split('/')[1]} RequestCount"
    return None


def timeline_metric_label(namespace: str, metric_name: str, dimensions: Mapping[str, str]) -> str | None:
    """The timeline label `MetricsPublisher` uses for a metric (to draw a policy's target next to it)."""
    if namespace == ECS_NAMESPACE and "ServiceName" in dimensions:
        return f"{dimensions['ServiceName']} {metric_name}"
    if namespace == ELB_NAMESPACE and metric_name == "RequestCountPerTarget" and "TargetGroup" in dimensions:
        return f"{dimensions['TargetGroup'].split('/')[1]} RequestCountPerTarget"
    return None

