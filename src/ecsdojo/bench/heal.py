"""`dojo bench heal`: how fast LocalECS replaces a dead container, against Docker's own restart policy.

Prints one JSON line. Both sides are measured in the same run on the same image, from Docker's event stream
(nanosecond timestamps): Docker's restart policy (die → start of the same container, a fresh container per
sample so its restart back-off does not grow) and LocalECS (die of a service task's container → start of
its replacement; → the replacement answering through the local load balancer), with steady traffic through
the load balancer during the kills.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.request
import uuid
from typing import Any

from ecsdojo.images import APP_IMAGE_LATEST
from ecsdojo.runtime.base import LABEL_SESSION, owned_labels


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


class DockerEventLog:
    """Collects container events (die/start) with their nanosecond timestamps, filtered by a label."""

    def __init__(self, client, label: str) -> None:
        self.client = client
        self.label = label
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stream = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> DockerEventLog:
        self._stream = self.client.events(decode=True, filters={"type": "container", "label": self.label})
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for event in self._stream:
                with self._lock:
                    self.events.append(event)
        except Exception:  # noqa: BLE001 - the stream closes when we stop
            pass

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def first(self, action: str, *, after_ns: int, exclude_id: str | None = None, container_id: str | None = None,
              timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for event in self.events:
                    if (event.get("Action") == action and event.get("timeNano", 0) >= after_ns
                            and (container_id is None or event.get("id") == container_id)
                            and (exclude_id is None or event.get("id") != exclude_id)):
                        return event
            time.sleep(0.005)
        raise TimeoutError(f"no {action} event after {after_ns}")


def crash(port: int) -> None:
    """Ask the demo app to exit (as a crashing process would: Docker ignores restart policies after `docker kill`)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/crash?code=1", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def docker_restart_samples(client, *, samples: int) -> list[float]:
    """Docker's restart policy: die → start of the same container, in seconds.

    These baseline containers are started with the Docker SDK, not the runtime (the runtime has no restart
    policy: ECS replaces tasks instead), but they carry the labels every container of ours carries
    (`owned_labels`), so a crashed benchmark's leftovers are removed by the next LocalECS's orphan sweep."""
    from docker import errors as docker_errors

    session = f"bench-{uuid.uuid4().hex[:8]}"
    labels = owned_labels(session)
    log = DockerEventLog(client, f"{LABEL_SESSION}={session}").start()
    durations = []
    try:
        for _ in range(samples):
            container = client.containers.run(APP_IMAGE_LATEST, detach=True, restart_policy={"Name": "always"},
                                              labels=labels, ports={"8080/tcp": ("127.0.0.1", None)})
            try:
                log.first("start", after_ns=0, container_id=container.id)
                container.reload()
                port = int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
                before = time.time_ns()
                crash(port)
                died = log.first("die", after_ns=before, container_id=container.id)
                started = log.first("start", after_ns=died["timeNano"], container_id=container.id)
                durations.append((started["timeNano"] - died["timeNano"]) / 1e9)
            finally:
                try:
                    container.remove(force=True)
                except docker_errors.NotFound:
                    pass
    finally:
        log.stop()
    return durations


class Traffic:
    """Steady, bounded GET traffic through the load balancer; records which task answered when."""

    def __init__(self, url: str, *, concurrency: int = 2, max_seconds: float = 300.0) -> None:
        self.url = url
        self.concurrency = concurrency
        self.max_seconds = max_seconds
        self.answers: list[tuple[float, str]] = []    # (wall time, task arn)
        self.requests = 0
        self.failed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(concurrency)]

    def start(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    arn = json.loads(response.read()).get("ecs_task_arn", "")
                with self._lock:
                    self.requests += 1
                    self.answers.append((time.time(), arn))
            except OSError:
                with self._lock:
                    self.requests += 1
                    self.failed += 1
            time.sleep(0.005)

    def first_answer_from(self, arn: str, *, after: float, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for moment, who in self.answers:
                    if who == arn and moment >= after:
                        return moment
            time.sleep(0.005)
        raise TimeoutError(f"{arn} never answered through the load balancer")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


def heal_benchmark(*, kills: int = 20, baseline_samples: int = 10, desired: int = 3,
                   progress=lambda line: None) -> dict[str, Any]:
    import docker

    from ecsdojo.control.local import LocalECS

    client = docker.from_env()
    progress(f"Docker restart policy: {baseline_samples} samples ...")
    baseline = docker_restart_samples(client, samples=baseline_samples)
    started_s, serving_s = [], []
    with LocalECS(speed=1, runtime="docker") as local:
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="bench")
        ecs.register_task_definition(family="bench", containerDefinitions=[{
            "name": "web", "image": APP_IMAGE_LATEST, "memory": 128,
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
        url = local.create_service_behind_load_balancer(cluster="bench", service="web", task_definition="bench",
                                                        container_name="web", load_balancer="bench-lb",
                                                        desired_count=desired)
        log = DockerEventLog(client, f"ecsdojo.session={local.session}").start()
        traffic = Traffic(url).start()
        try:
            for number in range(kills):
                victim = local.tasks("bench", service="web")[0]
                known = {t.arn for t in local.tasks("bench", include_stopped=True)}
                before = time.time_ns()
                crash(victim.containers[0].host_ports[8080])
                died = log.first("die", after_ns=before, container_id=victim.containers[0].runtime_id)
                started = log.first("start", after_ns=died["timeNano"], exclude_id=victim.containers[0].runtime_id)
                started_s.append((started["timeNano"] - died["timeNano"]) / 1e9)
                replacement = local.wait_for(
                    lambda: next((t for t in local.tasks("bench", service="web") if t.arn not in known), None),
                    timeout=30, describe="the replacement task")
                answered = traffic.first_answer_from(replacement.arn, after=died["timeNano"] / 1e9)
                serving_s.append(answered - died["timeNano"] / 1e9)
                progress(f"kill {number + 1}/{kills}: started {started_s[-1]:.3f}s, serving {serving_s[-1]:.3f}s")
                local.wait_for_service("bench", "web", timeout=30)
        finally:
            traffic.stop()
            log.stop()
    return {
        "benchmark": "heal", "kills": len(started_s), "desired_count": desired,
        "restart_policy_samples": len(baseline),
        "restart_policy_p50_s": round(statistics.median(baseline), 3),
        "replace_started_p50_s": round(percentile(started_s, 0.5), 3),
        "replace_started_p95_s": round(percentile(started_s, 0.95), 3),
        "replace_serving_p50_s": round(percentile(serving_s, 0.5), 3),
        "replace_serving_p95_s": round(percentile(serving_s, 0.95), 3),
        "started_vs_restart_ratio": round(percentile(started_s, 0.5) / statistics.median(baseline), 2),
        "lb_requests": traffic.requests, "lb_failed_requests": traffic.failed,
    }


def _heal_command(args) -> int:
    import sys
    from ecsdojo.bench import demo_image_ready

    if not demo_image_ready("docker"):
        return 1

    result = heal_benchmark(kills=args.kills, baseline_samples=args.baseline,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result))
    return 0


def register(commands) -> None:
    heal = commands.add_bench("heal", help="container death → replacement (started, serving) vs Docker's restart",
                              handler=_heal_command)
    heal.add_argument("--kills", type=int, default=20)
    heal.add_argument("--baseline", type=int, default=10, help="Docker restart-policy samples")
