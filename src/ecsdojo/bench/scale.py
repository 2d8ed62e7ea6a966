"""`dojo bench scale`: a CPU target-tracking policy scales a real service out under load and back in after.

Prints one JSON line. On real containers (Docker) behind the local load balancer: a service at its minimum
capacity, a scalable target, a target-tracking policy on ECSServiceAverageCPUUtilization; then bounded load
through the load balancer against /cpu?ms=N (`ecsdojo.load`), stopped once the scale-out has settled, and
the wait until the service is back at its minimum. Every interval (alarm periods, cooldowns, health checks)
runs on the control plane's compressed clock (``--speed``).

Figures: ``scale_out_s`` load start → the first task added by scaling answers through the load balancer;
``alarm_s`` load start → the first scale-out activity; ``scale_in_s`` load stop → desired and running back
at the minimum; ``wall_s`` the whole run, set-up and tear-down included. ``*_ecs_s`` are the same spans in
ECS seconds (wall × speed).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ecsdojo.images import APP_IMAGE_LATEST

CLUSTER = "bench"
SERVICE = "web"
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"


def scale_benchmark(*, speed: float = 60.0, min_capacity: int = 1, max_capacity: int = 4, target: float = 50.0,
                    cpu_units: int = 256, rate: float = 10.0, burn_ms: int = 50, load_limit_s: float = 45.0,
                    settle_ecs_s: float = 240.0, scale_in_limit_s: float = 60.0, runtime: str = "docker",
                    progress: Callable[[str], object] = lambda line: None) -> dict[str, Any]:
    """Run the scale-out / scale-in cycle and return the figures (see the module docstring)."""
    from ecsdojo.control.local import LocalECS
    from ecsdojo.load import LoadGenerator

    began = time.monotonic()
    result: dict[str, Any] = {"benchmark": "scale", "speed": speed, "min_capacity": min_capacity,
                              "max_capacity": max_capacity, "target_cpu_percent": target, "task_cpu_units": cpu_units,
                              "load": f"{rate:g} requests/s of /cpu?ms={burn_ms}"}
    with LocalECS(speed=speed, runtime=runtime) as local:
        ecs, aas = local.client("ecs"), local.client("application-autoscaling")
        url = service_behind_load_balancer(local, min_capacity=min_capacity, cpu_units=cpu_units)
        balancer = next(iter(local.balancers.balancers.values()))
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
                                     MinCapacity=min_capacity, MaxCapacity=max_capacity)
        aas.put_scaling_policy(
            PolicyName="cpu-target", ServiceNamespace="ecs", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        result["setup_s"] = round(time.monotonic() - began, 2)
        progress(f"service up at {min_capacity} task(s) behind {url}; load starts")

        def desired() -> int:
            return int(ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["desiredCount"])

        initial = {task.id for task in local.tasks(CLUSTER, service=SERVICE)}
        local.timeline.mark("load starts")
        load = LoadGenerator(url, rate=rate, duration_s=load_limit_s, max_requests=int(rate * load_limit_s) + 10,
                             path=f"/cpu?ms={burn_ms}", progress=False).start()
        load_start = time.monotonic()
        alarm_at = serving_at = None
        max_desired = min_capacity
        last_change = load_start
        try:
            while load.running:
                now = time.monotonic()
                current = desired()
                if current > max_desired:
                    max_desired, last_change = current, now
                    alarm_at = alarm_at or now
                    progress(f"desired {current} after {now - load_start:.1f}s of load")
                if serving_at is None and any(count > 0 for target_id, count in balancer.request_counts().items()
                                              if target_id not in initial):
                    serving_at = now
                    progress(f"a new task serves after {now - load_start:.1f}s")
                settled = local.clock.ecs_elapsed(last_change) >= settle_ecs_s
                if serving_at is not None and (settled or max_desired >= max_capacity):
                    break
                time.sleep(0.05)
        finally:
            report = load.stop()
        local.timeline.mark("load stops")
        load_stop = time.monotonic()
        progress(f"load stopped after {load_stop - load_start:.1f}s at desired {max_desired}; waiting for scale-in")

        def at_minimum() -> bool:
            body = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
            return body["desiredCount"] == min_capacity and body["runningCount"] == min_capacity

        deadline = time.monotonic() + scale_in_limit_s
        while not at_minimum() and time.monotonic() < deadline:
            time.sleep(0.1)
        back_at = time.monotonic() if at_minimum() else None
        final = desired()
        activities = aas.describe_scaling_activities(ServiceNamespace="ecs",
                                                     ResourceId=RESOURCE_ID)["ScalingActivities"]
    result.update({
        "max_desired": max_desired, "final_desired": final,
        "scaled_out": max_desired > min_capacity, "returned_to_min": back_at is not None and final == min_capacity,
        "alarm_s": _span(load_start, alarm_at), "scale_out_s": _span(load_start, serving_at),
        "scale_in_s": _span(load_stop, back_at),
        "scale_out_ecs_s": _span(load_start, serving_at, speed), "scale_in_ecs_s": _span(load_stop, back_at, speed),
        "load_requests": report.requests, "load_errors": report.error_count, "load_p50_ms": report.p50_ms,
        "activities": [a["Description"] for a in reversed(activities)],
        "wall_s": round(time.monotonic() - began, 2),
    })
    return result


def _span(start: float, end: float | None, speed: float = 1.0) -> float | None:
    return None if end is None else round((end - start) * speed, 2)


def service_behind_load_balancer(local: Any, *, min_capacity: int, cpu_units: int, cluster: str = CLUSTER,
                                  service: str = SERVICE) -> str:
    """A cluster, an ALB with a target group and listener, and a service of the demo app registered in it."""
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="bench", containerDefinitions=[{
        "name": "web", "image": APP_IMAGE_LATEST, "cpu": cpu_units, "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
    return local.create_service_behind_load_balancer(cluster=cluster, service=service, task_definition="bench",
                                                     container_name="web", load_balancer="bench-lb",
                                                     desired_count=min_capacity)


def _scale_command(args) -> int:
    from ecsdojo.bench import demo_image_ready

    if not demo_image_ready(args.runtime):
        return 1
    result = scale_benchmark(speed=args.speed, min_capacity=args.min, max_capacity=args.max, target=args.target,
                             rate=args.rate, burn_ms=args.ms, runtime=args.runtime,
                             progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0 if result["scaled_out"] and result["returned_to_min"] else 1


def register(commands) -> None:
    scale = commands.add_bench("scale", help="CPU target tracking on real containers: load → scale out → scale in",
                               handler=_scale_command)
    scale.add_argument("--speed", type=float, default=60.0, help="clock compression (default 60: 1 ECS minute = 1 s)")
    scale.add_argument("--min", type=int, default=1, help="MinCapacity (default 1)")
    scale.add_argument("--max", type=int, default=4, help="MaxCapacity (default 4)")
    scale.add_argument("--target", type=float, default=50.0, help="target CPU utilization in percent (default 50)")
    scale.add_argument("--rate", type=float, default=10.0, help="requests per second (default 10)")
    scale.add_argument("--ms", type=int, default=50, help="CPU milliseconds each request burns (default 50)")
    scale.add_argument("--runtime", choices=("docker", "process"), default="docker")
