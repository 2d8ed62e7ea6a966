"""`dojo bench chaos`: random faults against a service behind the local load balancer, under bounded load; does the
engine tell the truth?

Prints one JSON line. A service of `desired` tasks (the demo image, 128 MiB each) runs behind a load balancer on
127.0.0.1 while a few requests per second go through it. One fault at a time, drawn at random (seeded):

- from outside, through the runtime (runtime/faults.py): `kill` (SIGKILL), `stop` (docker stop), `pause` (a hung
  container: frozen, not exited), `rm` (docker rm -f);
- from inside the app, by HTTP to the container's 127.0.0.1 port: `crash` (exit with a code), `oom` (allocate
  until the kernel kills it; skipped, with the reason, on an engine that cannot enforce memory limits), `hang`
  (its /health stops answering);
- `several`: two or more of the above on different tasks at the same moment (sometimes every task).

After each fault the benchmark waits until the service is back (the victims STOPPED, `desired` tasks RUNNING, the
targets healthy) and compares what the ECS API says with what Docker has:

- `disagreements`: describe_services' runningCount against Docker's running containers; the RUNNING tasks'
  containers (describe_tasks `runtimeId`) against Docker's running (or paused) containers of the session; each
  victim's stopCode, stoppedReason, exitCode and reason against what ECS reports for that fault
  (EXPECTED below: an exit is EssentialContainerExited with its exit code, OOM with ECS's OOM reason; a hung
  container is stopped by the scheduler for failed ELB health checks);
- `tasks_lost`: a victim that never reaches STOPPED, or a service that does not get back to `desired` tasks each
  with a running container, within `settle_s`;
- `orphans`: containers of the session still running that no RUNNING task owns (when not settled), plus every
  container of the session left after LocalECS stopped (`orphans_after_stop`);
- `lb_failed_requests`, split into those made while every task was down at once (no healthy target that was not
  hit by a fault), those sent to a hung target before its health checks failed it (an ALB too answers 504 when
  a target does not answer; a client gives up sooner), and the rest (`lb_failed_otherwise`, which should be 0).
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ecsdojo.images import APP_IMAGE_LATEST

__all__ = ["chaos_benchmark", "FAULT_KINDS", "EXPECTED", "register"]

SINGLE_FAULTS = ("kill", "stop", "pause", "rm", "oom", "crash", "hang")
FAULT_KINDS = SINGLE_FAULTS + ("several",)
ELB_REASON_PREFIX = "Task failed ELB health checks in (elb "
EXIT = ("EssentialContainerExited", "Essential container in task exited")
# What ECS reports for each fault: (stopCode, stoppedReason or its prefix, the container's exitCode, its reason).
# None: not checked (a removed container's exit code is whatever Docker recorded before the removal: 137).
EXPECTED: dict[str, tuple[str, str, int | None, str | None]] = {
    "kill": (*EXIT, 137, None),
    "stop": (*EXIT, 0, None),
    "rm": (*EXIT, 137, None),
    "oom": (*EXIT, 137, "OutOfMemoryError: Container killed due to memory usage"),
    "crash": (*EXIT, None, None),           # the code the crash asked for (checked against it)
    "pause": ("ServiceSchedulerInitiated", ELB_REASON_PREFIX, None, None),
    "hang": ("ServiceSchedulerInitiated", ELB_REASON_PREFIX, None, None),
}
HUNG = ("pause", "hang")


@dataclass
class Victim:
    task_arn: str
    task_id: str
    runtime_id: str
    fault: str
    injected_at: float
    crash_code: int | None = None
    deregistered_at: float | None = None      # when its target left the load balancer (hung victims)


@dataclass
class Load:
    """Bounded GET traffic through the load balancer: `rate` requests per second, at most `workers` in flight,
    for at most `max_seconds`; each request's (start, end, ok, error)."""
    url: str
    rate: float = 4.0
    workers: int = 8
    timeout_s: float = 5.0
    max_seconds: float = 3600.0
    results: list[tuple[float, float, bool, str]] = field(default_factory=list)
    skipped: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight = threading.Semaphore(self.workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="chaos-load")
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._inflight.acquire(blocking=False):
                self._pool.submit(self._one)
            else:
                with self._lock:
                    self.skipped += 1
            next_at += 1.0 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _one(self) -> None:
        start = time.time()
        ok, error = True, ""
        try:
            with urllib.request.urlopen(self.url + "/", timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as failure:
            ok, error = False, f"HTTP {failure.code}"
        except OSError as failure:
            ok, error = False, type(failure).__name__
        finally:
            self._inflight.release()
        with self._lock:
            self.results.append((start, time.time(), ok, error))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)


class Watch:
    """Samples the load balancer's targets 20 times a second: when was every task down at once (no healthy
    target that a fault has not hit), and when did each hung victim's target leave the balancer."""

    def __init__(self, local, load_balancer: str) -> None:
        self.local = local
        self.load_balancer = load_balancer
        self.hit: set[str] = set()                    # task ids a fault has hit
        self.hung: dict[str, Victim] = {}
        self.samples: list[tuple[float, bool]] = []   # (time, every task down)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="chaos-watch", daemon=True)

    def start(self) -> Watch:
        self._thread.start()
        return self

    def mark(self, victims: list[Victim]) -> None:
        with self._lock:
            for victim in victims:
                self.hit.add(victim.task_id)
                if victim.fault in HUNG:
                    self.hung[victim.task_id] = victim

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            try:
                states = self.local.target_states(self.load_balancer)
            except Exception:  # noqa: BLE001 - a listener being replaced: look again
                states = None
            if states is not None:
                with self._lock:
                    serving = [t for t, state in states.items() if state == "healthy" and t not in self.hit]
                    self.samples.append((now, not serving))
                    for task_id, victim in self.hung.items():
                        if victim.deregistered_at is None and states.get(task_id) in (None, "draining", "unused"):
                            victim.deregistered_at = now
            self._stop.wait(0.05)

    def all_down_during(self, start: float, end: float) -> bool:
        with self._lock:
            return any(down for moment, down in self.samples if start - 0.25 <= moment <= end + 0.25)

    def hung_target_during(self, start: float, end: float) -> bool:
        with self._lock:
            return any(v.injected_at - 0.25 <= end and start <= (v.deregistered_at or end) + 0.25
                       for v in self.hung.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _http(port: int, path: str) -> None:
    """One request to a container's own published port (127.0.0.1); a crash may cut the answer short."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3).read()
    except OSError:
        pass


def chaos_benchmark(*, faults: int = 50, desired: int = 3, seed: int | None = None, speed: float = 5.0,
                    grace_s: int = 60,
                    rate: float = 4.0, settle_s: float = 90.0, kinds: tuple[str, ...] = FAULT_KINDS,
                    schedule: list[str] | None = None, progress=lambda line: None) -> dict[str, Any]:
    """`faults` fault events drawn from `kinds` (or exactly `schedule`, in order: the short CI run); see the
    module docstring for what is measured."""
    from ecsdojo.control.local import LocalECS
    from ecsdojo.runtime.base import LABEL_SESSION
    from ecsdojo.runtime.docker import DockerRuntime
    from ecsdojo.runtime.faults import Faults

    seed = random.randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    started = time.monotonic()
    result: dict[str, Any] = {"benchmark": "chaos", "seed": seed, "desired_count": desired, "speed": speed,
                              "health_check_grace_period_s": grace_s,
                              "load_rps": rate, "skipped": {}}
    injected: dict[str, int] = {}
    details: list[str] = []
    counts = {"faults": 0, "fault_events": 0, "faults_survived": 0, "tasks_lost": 0, "orphans": 0,
              "disagreements": 0}

    with LocalECS(speed=speed, runtime="docker") as local:
        session = local.session
        if not local.runtime.enforces_memory_limits:
            result["skipped"]["oom"] = ("this Docker engine cannot enforce memory limits (rootless on cgroup v1), "
                                        "so the kernel would never OOM-kill the container")
        single = tuple(k for k in SINGLE_FAULTS if k in kinds and k not in result["skipped"])
        plan = tuple(k for k in kinds if k in single or (k == "several" and single))
        if not plan:
            raise ValueError(f"no fault left to inject among {', '.join(kinds)}")
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="chaos")
        ecs.register_task_definition(family="chaos", containerDefinitions=[{
            "name": "web", "image": APP_IMAGE_LATEST, "memory": 128, "essential": True,
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
        # A grace period as a service behind a load balancer should have: a container's app needs a moment to
        # listen, longer on a busy machine, and the balancer's first failed checks must not replace it.
        url = local.create_service_behind_load_balancer(cluster="chaos", service="web", task_definition="chaos",
                                                        container_name="web", load_balancer="chaos-lb",
                                                        desired_count=desired, timeout=180,
                                                        healthCheckGracePeriodSeconds=grace_s)
        progress(f"service of {desired} tasks behind {url}; {faults if schedule is None else len(schedule)} "
                 f"fault event(s) ...")
        faulter = Faults(local.runtime)
        watch = Watch(local, "chaos-lb").start()
        load = Load(url, rate=rate).start()

        def docker_alive() -> set[str]:
            return {s.id for s in local.runtime.list({LABEL_SESSION: session}) if s.alive}

        def api_view() -> tuple[int, set[str], set[str]]:
            """(runningCount, RUNNING tasks' container ids, RUNNING task arns) from the ECS API."""
            service = ecs.describe_services(cluster="chaos", services=["web"])["services"][0]
            arns = ecs.list_tasks(cluster="chaos", serviceName="web", desiredStatus="RUNNING")["taskArns"]
            tasks = ecs.describe_tasks(cluster="chaos", tasks=arns)["tasks"] if arns else []
            running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
            return (service["runningCount"], {c.get("runtimeId", "") for t in running for c in t["containers"]},
                    {t["taskArn"] for t in running})

        def settled(victims: list[Victim]) -> bool:
            if victims:
                body = ecs.describe_tasks(cluster="chaos", tasks=[v.task_arn for v in victims])["tasks"]
                if any(t["lastStatus"] != "STOPPED" for t in body):
                    return False
            running_count, api_ids, _ = api_view()
            states = local.target_states("chaos-lb")
            return (running_count == desired and api_ids == docker_alive() and len(api_ids) == desired
                    and sum(1 for s in states.values() if s == "healthy") == desired)

        def wait_settled(victims: list[Victim]) -> bool:
            deadline = time.monotonic() + settle_s
            while time.monotonic() < deadline:
                if settled(victims):
                    return True
                time.sleep(0.2)
            return False

        def inject(victim: Victim, port: int) -> None:
            if victim.fault == "crash":
                _http(port, f"/crash?code={victim.crash_code}")
            elif victim.fault == "oom":
                _http(port, "/oom")
            elif victim.fault == "hang":
                _http(port, "/hang")
            else:
                faulter.inject(victim.fault, victim.runtime_id, stop_timeout_s=2)

        def check(victims: list[Victim]) -> None:
            body = {t["taskArn"]: t for t in ecs.describe_tasks(
                cluster="chaos", tasks=[v.task_arn for v in victims])["tasks"]}
            for victim in victims:
                task = body.get(victim.task_arn)
                if task is None or task["lastStatus"] != "STOPPED":
                    counts["tasks_lost"] += 1
                    details.append(f"{victim.fault} {victim.task_id[:8]}: never STOPPED "
                                   f"({task['lastStatus'] if task else 'gone'})")
                    continue
                code, reason, exit_code, container_reason = EXPECTED[victim.fault]
                if victim.fault == "crash":
                    exit_code = victim.crash_code
                container = task["containers"][0]
                problems = []
                if task.get("stopCode") != code:
                    problems.append(f"stopCode {task.get('stopCode')}")
                if not (task.get("stoppedReason") or "").startswith(reason):
                    problems.append(f"stoppedReason {task.get('stoppedReason')!r}")
                if exit_code is not None and container.get("exitCode") != exit_code:
                    problems.append(f"exitCode {container.get('exitCode')} (expected {exit_code})")
                if container_reason is not None and container.get("reason") != container_reason:
                    problems.append(f"reason {container.get('reason')!r}")
                if victim.runtime_id in docker_alive():
                    problems.append("its container still runs in Docker")
                if problems:
                    counts["disagreements"] += 1
                    details.append(f"{victim.fault} {victim.task_id[:8]}: " + "; ".join(problems))

        def account_unsettled() -> None:
            details.append("not settled in time; the service's last events: " + " | ".join(
                local.service_events("chaos", "web")[:3]))
            running_count, api_ids, _ = api_view()
            alive = docker_alive()
            owned = api_ids & alive
            counts["tasks_lost"] += max(0, desired - len(owned))
            counts["orphans"] += len(alive - api_ids)
            if running_count != len(alive):
                counts["disagreements"] += 1
                details.append(f"runningCount {running_count} while Docker runs {len(alive)}")
            if api_ids != alive:
                counts["disagreements"] += 1
                details.append(f"RUNNING tasks' containers and Docker's differ by {len(api_ids ^ alive)}")

        try:
            if schedule is not None:
                faults = len(schedule)
            for number in range(faults):
                if not wait_settled([]):
                    account_unsettled()
                tasks = [t for t in local.tasks("chaos", service="web") if t.last_status == "RUNNING"
                         and t.desired_status == "RUNNING" and t.containers and t.containers[0].runtime_id]
                if not tasks:
                    continue
                kind = rng.choice(plan) if schedule is None else schedule[number]
                if kind not in plan:
                    result["skipped"].setdefault(kind, "not among the kinds to inject")
                    continue
                if kind == "several" and len(tasks) >= 2:
                    chosen = rng.sample(tasks, rng.randint(2, len(tasks)))
                    kinds_now = [rng.choice(single) for _ in chosen]
                else:
                    kind = kind if kind != "several" else rng.choice(single)
                    chosen, kinds_now = [rng.choice(tasks)], [kind]
                now = time.time()
                victims = [Victim(task_arn=t.arn, task_id=t.id, runtime_id=t.containers[0].runtime_id, fault=k,
                                  injected_at=now, crash_code=rng.choice((1, 2, 3, 42)) if k == "crash" else None)
                           for t, k in zip(chosen, kinds_now)]
                ports = [t.containers[0].host_ports.get(8080) for t in chosen]
                watch.mark(victims)
                threads = [threading.Thread(target=inject, args=(v, p)) for v, p in zip(victims, ports)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=30)
                counts["fault_events"] += 1
                counts["faults"] += len(victims)
                for victim in victims:
                    injected[victim.fault] = injected.get(victim.fault, 0) + 1
                if wait_settled(victims):
                    counts["faults_survived"] += 1
                else:
                    account_unsettled()
                check(victims)
                progress(f"fault {number + 1}/{faults}: {'+'.join(kinds_now)} on {len(victims)} task(s); "
                         f"lost {counts['tasks_lost']}, orphans {counts['orphans']}, "
                         f"disagreements {counts['disagreements']}")
            if not wait_settled([]):
                account_unsettled()
        finally:
            load.stop()
            watch.stop()
    leftovers = DockerRuntime().list({LABEL_SESSION: session})

    failed = [(start, end, error) for start, end, ok, error in load.results if not ok]
    all_down = [f for f in failed if watch.all_down_during(f[0], f[1])]
    hung = [f for f in failed if f not in all_down and watch.hung_target_during(f[0], f[1])]
    otherwise = [f for f in failed if f not in all_down and f not in hung]
    result.update(counts)
    result.update({
        "faults_by_kind": dict(sorted(injected.items())),
        "orphans_after_stop": len(leftovers),
        "lb_requests": len(load.results), "lb_requests_not_sent_busy": load.skipped,
        "lb_failed_requests": len(failed), "lb_failed_while_all_down": len(all_down),
        "lb_failed_to_hung_target": len(hung), "lb_failed_otherwise": len(otherwise),
        "lb_failed_otherwise_errors": sorted({error for _, _, error in otherwise}),
        "lb_failed_only_while_all_down": len(failed) == len(all_down),
        "lb_failed_only_while_all_down_or_to_a_hung_target": not otherwise,
        "details": details[:20],
        "seconds": round(time.monotonic() - started, 1),
    })
    result["orphans"] += len(leftovers)
    return result


def _chaos_command(args) -> int:
    import sys

    from ecsdojo.bench import demo_image_ready

    if not demo_image_ready("docker"):
        return 1
    kinds = tuple(args.kinds.split(",")) if args.kinds else FAULT_KINDS
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        print(f"dojo bench chaos: unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}",
              file=sys.stderr)
        return 2
    if args.faults < 1 or args.desired < 2:
        print("dojo bench chaos: --faults must be at least 1 and --desired at least 2", file=sys.stderr)
        return 2
    result = chaos_benchmark(faults=args.faults, desired=args.desired, seed=args.seed, speed=args.speed,
                             rate=args.rate, kinds=kinds,
                             progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0


def register(commands) -> None:
    chaos = commands.add_bench("chaos", help="random faults (kill, stop, pause, rm, OOM, crash, hang, several) "
                                             "against a service behind the load balancer: lost, orphans, "
                                             "API-vs-Docker disagreements, failed requests",
                               handler=_chaos_command)
    chaos.add_argument("--faults", type=int, default=50, help="fault events to inject")
    chaos.add_argument("--desired", type=int, default=3, help="the service's desired count (at least 2)")
    chaos.add_argument("--seed", type=int, default=None, help="random seed (printed in the result)")
    chaos.add_argument("--speed", type=float, default=5.0, help="the engine's speed factor")
    chaos.add_argument("--rate", type=float, default=4.0, help="requests per second through the load balancer")
    chaos.add_argument("--kinds", default="", help=f"comma-separated subset of {','.join(FAULT_KINDS)}")
