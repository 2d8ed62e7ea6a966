"""`dojo bench idle`: what an idle engine costs — CPU (percent of one core) and resident memory.

Prints one JSON line. A LocalECS on real containers with one service of two tasks behind a load balancer,
brought to a steady state (tasks running, targets healthy), then left alone for ``--seconds``: the engine
process's CPU time over that window (user + system, from ``resource.getrusage``) as a percentage of one
core, its resident memory (VmRSS) at the end, and its thread count. A classroom server runs one engine per
learner, so this is the figure that decides how many learners fit on a machine.

Example::

    $ dojo bench idle --seconds 60
    {"benchmark": "idle", "cpu_pct_of_core": 0.4, "rss_mib": 210.5, ...}
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["idle_benchmark", "rss_mib", "cpu_seconds"]

CLUSTER = "idle"
SERVICE = "web"


def cpu_seconds() -> float:
    """User + system CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    """This process's resident memory in MiB (Linux: VmRSS of /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # peak, where /proc is missing


def idle_benchmark(*, seconds: float = 60.0, speed: float = 1.0, desired: int = 2, runtime: str = "docker",
                   progress: Callable[[str], object] = lambda line: None) -> dict[str, Any]:
    """Bring a service of `desired` tasks behind a load balancer to steady state, then measure `seconds` idle."""
    from ecsdojo.bench.scale import service_behind_load_balancer
    from ecsdojo.control.local import LocalECS

    with LocalECS(speed=speed, runtime=runtime) as local:
        url = service_behind_load_balancer(local, min_capacity=desired, cpu_units=256, cluster=CLUSTER,
                                           service=SERVICE)
        progress(f"{desired} tasks healthy behind {url}; idle for {seconds:g}s")
        cpu_before, wall_before = cpu_seconds(), time.monotonic()
        time.sleep(seconds)     # the measurement itself: the engine is left alone for this long
        cpu_used, wall = cpu_seconds() - cpu_before, time.monotonic() - wall_before
        memory = rss_mib()
        threads = threading.active_count()
        running = len(local.tasks(CLUSTER, service=SERVICE))
    return {"benchmark": "idle", "seconds": round(wall, 1), "speed": speed, "tasks": running,
            "cpu_pct_of_core": round(100.0 * cpu_used / wall, 2), "cpu_s": round(cpu_used, 2),
            "rss_mib": round(memory, 1), "threads": threads, "runtime": runtime}


def _idle_command(args) -> int:
    from ecsdojo.bench import demo_image_ready

    if not demo_image_ready(args.runtime):
        return 1
    result = idle_benchmark(seconds=args.seconds, speed=args.speed, runtime=args.runtime,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0


def register(commands) -> None:
    idle = commands.add_bench("idle", help="an idle engine (one service, 2 tasks, a load balancer): CPU %% of a "
                                           "core and resident memory", handler=_idle_command)
    idle.add_argument("--seconds", type=float, default=60.0, help="idle window (default 60)")
    idle.add_argument("--speed", type=float, default=1.0, help="clock compression (default 1)")
    idle.add_argument("--runtime", choices=("docker", "process"), default="docker")
