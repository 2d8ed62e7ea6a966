"""Module 01's demos: the demo service run straight on one Docker Engine, with no orchestrator.

Every container a demo starts is published on 127.0.0.1 only and carries ECS Dojo's ownership labels plus
``ecsdojo.demo=docker-limits``, so ``remove_all()`` (and, after a crashed kernel, ``dojo down --sweep`` or the
next LocalECS start) removes it.

Example::

    demo = DockerDemo.connect()                   # NoDockerEngine (with the fix) when no engine answers
    web = demo.run("plain")                       # ecsdojo/app:latest; waits until it answers /health
    demo.get(web, "/crash?code=3")                # the process exits with code 3
    facts = demo.wait_for(web, lambda f: f.status == "exited")
    facts.line()                                  # 'status=exited exit_code=3 restarts=0 oom_killed=False'
    demo.remove_all()
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ecsdojo.runtime.base import NO_MEMORY_LIMITS_NOTE, engine_enforces_limits, owned_labels

__all__ = ["NO_MEMORY_LIMITS_NOTE", "DockerDemo", "ContainerFacts", "Reply", "DemoEvent", "NoDockerEngine", "DemoImageMissing", "DemoTimeout",
           "facts_from_state", "docker_health_check", "restart_policy", "lifetime_plot", "DEMO_LABEL", "APP_IMAGE"]

APP_IMAGE = "ecsdojo/app:latest"
DEMO_LABEL = "ecsdojo.demo"
DEMO_NAME = "docker-limits"
NANOSECONDS = 1_000_000_000
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")


class NoDockerEngine(Exception):
    """No Docker engine answers (modules 01 and 10 run real containers and need one; course.DOCKER_ONLY_MODULES)."""

    def __init__(self, detail: str, *, module: str = "01", why: str = "runs real Docker containers") -> None:
        super().__init__(
            f"Module {module} {why}, and no Docker engine answers here "
            f"({detail}). Start Docker Desktop, or on Debian/Ubuntu `sudo apt-get install docker.io && "
            "sudo systemctl start docker`, then run `dojo doctor`. The other modules (but 01 and 10) also run "
            "without Docker, on simulated containers.")


class DemoImageMissing(Exception):
    """The demo image has not been built on this engine."""

    def __init__(self, image: str) -> None:
        super().__init__(f"The demo image {image} is missing: run `dojo images build` (no registry needed), "
                         f"then run this cell again.")


class DemoTimeout(TimeoutError):
    """A container did not reach the awaited state in time; the message shows the last state seen."""

    def __init__(self, describe: str, timeout: float, last: Any) -> None:
        super().__init__(f"timed out after {timeout:g} s waiting for {describe} (last seen: {last})")


@dataclass(frozen=True)
class ContainerFacts:
    """What `docker inspect` says about one container, in the fields the module reads."""

    name: str
    status: str                     # State.Status: created | running | restarting | exited | dead | ...
    exit_code: int
    oom_killed: bool
    restart_count: int
    health: str | None              # State.Health.Status, None without a HEALTHCHECK
    restart_policy: str

    @property
    def running(self) -> bool:
        return self.status == "running"

    def line(self) -> str:
        """A stable one-line summary (no ids, ports or times)."""
        text = (f"status={self.status} exit_code={self.exit_code} restarts={self.restart_count} "
                f"oom_killed={self.oom_killed}")
        return text + (f" health={self.health}" if self.health else "")


@dataclass(frozen=True)
class Reply:
    """One HTTP answer from a demo container; `status` is None when no answer came (`error` says why)."""

    status: int | None
    body: Any = None
    error: str = ""

    def line(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"


@dataclass(frozen=True)
class DemoEvent:
    """One Docker event of a demo container: seconds since the demo began, the container, the action."""

    seconds: float
    container: str
    action: str              # start | die | oom | kill | stop | health_status: healthy | ...


KEPT_ACTIONS = ("start", "die", "oom", "kill", "stop", "health_status")


def facts_from_state(name: str, attrs: Mapping[str, Any]) -> ContainerFacts:
    """Pure: ContainerFacts from the dict `docker inspect` returns (``container.attrs``)."""
    state = attrs.get("State") or {}
    health = (state.get("Health") or {}).get("Status") or None
    policy = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {})
    policy_text = policy.get("Name") or "no"
    if policy_text == "on-failure" and policy.get("MaximumRetryCount"):
        policy_text += f":{policy['MaximumRetryCount']}"
    return ContainerFacts(name=name, status=str(state.get("Status", "unknown")),
                          exit_code=int(state.get("ExitCode") or 0), oom_killed=bool(state.get("OOMKilled")),
                          restart_count=int(attrs.get("RestartCount") or 0),
                          health=None if health == "none" else health, restart_policy=policy_text)


def docker_health_check(*, path: str = "/health", interval_s: float = 1.0, timeout_s: float = 1.0,
                        retries: int = 2, start_period_s: float = 0.0, port: int = 8080) -> dict[str, Any]:
    """Pure: the `healthcheck` argument of ``containers.run`` (Docker's HEALTHCHECK) probing the demo app.

    The image has python3 and no curl, so the probe is a one-line urllib request.

    >>> docker_health_check(interval_s=2)["interval"]
    2000000000
    """
    probe = (f"python3 -c \"import urllib.request as u; "
             f"u.urlopen('http://localhost:{port}{path}', timeout={timeout_s:g})\"")
    return {"test": ["CMD-SHELL", probe], "interval": int(interval_s * NANOSECONDS),
            "timeout": int(timeout_s * NANOSECONDS), "retries": int(retries),
            "start_period": int(start_period_s * NANOSECONDS)}


def restart_policy(policy: str | None) -> dict[str, Any] | None:
    """Pure: ``"on-failure:2"`` -> ``{"Name": "on-failure", "MaximumRetryCount": 2}``; None/"no" -> None.

    >>> restart_policy("always")
    {'Name': 'always'}
    """
    if policy in (None, "", "no"):
        return None
    name, _, retries = policy.partition(":")
    if name not in RESTART_POLICIES:
        raise ValueError(f"restart policy must be one of {', '.join(RESTART_POLICIES)} (or on-failure:N), "
                         f"not {policy!r}")
    if retries:
        if name != "on-failure" or not retries.isdigit():
            raise ValueError(f"only on-failure takes a retry count (on-failure:N), not {policy!r}")
        return {"Name": name, "MaximumRetryCount": int(retries)}
    return {"Name": name}


class DockerDemo:
    """Runs and observes demo containers on the local Docker Engine for one notebook session."""

    def __init__(self, client: Any, *, image: str = APP_IMAGE) -> None:
        self.client = client
        self.image = image
        self.session = f"m01-{uuid.uuid4().hex[:8]}"
        self.labels = owned_labels(self.session, **{DEMO_LABEL: DEMO_NAME})
        self.started_at = time.time()

    @classmethod
    def connect(cls, *, image: str = APP_IMAGE, timeout_s: float = 10.0) -> DockerDemo:
        """A demo bound to the engine from the environment; raises NoDockerEngine / DemoImageMissing."""
        try:
            import docker

            client = docker.from_env(timeout=timeout_s)
            client.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "no engine"
            raise NoDockerEngine(str(error).splitlines()[0][:120] if str(error) else type(error).__name__) from None
        try:
            client.images.get(image)
        except Exception:  # noqa: BLE001
            raise DemoImageMissing(image) from None
        return cls(client, image=image)

    # ---- containers --------------------------------------------------------------------------------
    @property
    def memory_limits_enforced(self) -> bool:
        """False on an engine that cannot enforce memory limits (rootless on cgroup v1): no OOM kill there."""
        try:
            return engine_enforces_limits(self.client.info())
        except Exception:  # noqa: BLE001 - an engine that does not answer `info`: assume the usual
            return True

    def run(self, name: str, *, restart: str | None = None, memory_mib: int | None = None,
            health: Mapping[str, Any] | None = None, environment: Mapping[str, str] | None = None,
            wait_ready: bool = True, timeout: float = 20.0) -> Any:
        """Start the demo app like ``docker run -d -p 127.0.0.1::8080 [--restart R] [-m M] ecsdojo/app``.

        `restart` is a Docker restart policy ("no", "on-failure", "on-failure:N", "always",
        "unless-stopped"); `memory_mib` a hard memory limit (swap included, so exceeding it is an OOM kill);
        `health` a Docker healthcheck (see docker_health_check). Waits until the app answers unless
        ``wait_ready=False``. A container of this session with the same `name` is replaced (a cell run
        again). Returns the docker SDK Container.
        """
        full_name = f"dojo-{self.session}-{name}"
        for earlier in self.containers():          # running a cell again replaces its container
            if earlier.name == full_name:
                earlier.remove(force=True)
        options: dict[str, Any] = {
            "name": full_name, "detach": True, "labels": dict(self.labels),
            "ports": {"8080/tcp": ("127.0.0.1", None)}, "environment": dict(environment or {}),
        }
        policy = restart_policy(restart)
        if policy is not None:
            options["restart_policy"] = policy
        if memory_mib is not None:
            options["mem_limit"] = f"{int(memory_mib)}m"
            options["memswap_limit"] = f"{int(memory_mib)}m"
        if health is not None:
            options["healthcheck"] = dict(health)
        container = self.client.containers.run(self.image, **options)
        if wait_ready:
            self.wait_ready(container, timeout=timeout)
        return container

    def containers(self) -> list[Any]:
        """This session's containers, running or not, sorted by name."""
        found = self.client.containers.list(all=True, filters={"label": f"ecsdojo.session={self.session}"})
        return sorted(found, key=lambda c: c.name)

    def remove_all(self) -> int:
        """Force-remove every container of this session; returns how many were removed."""
        def remove(container: Any) -> bool:
            try:
                container.remove(force=True)
                return True
            except Exception:  # noqa: BLE001 - already gone
                return False

        with ThreadPoolExecutor(max_workers=8) as pool:
            return sum(pool.map(remove, self.containers()))

    # ---- observing ---------------------------------------------------------------------------------
    def state(self, container: Any) -> dict[str, Any]:
        """The fresh ``State`` section of `docker inspect` (a dict), as `docker inspect -f '{{json .State}}'`."""
        container.reload()
        return dict(container.attrs.get("State") or {})

    def facts(self, container: Any) -> ContainerFacts:
        container.reload()
        return facts_from_state(_short_name(container.name), container.attrs)

    def wait_for(self, container: Any, condition: Callable[[ContainerFacts], bool], *, timeout: float = 30.0,
                 describe: str = "the condition", interval: float = 0.1) -> ContainerFacts:
        """Poll `docker inspect` until `condition(facts)` holds; returns those facts (DemoTimeout otherwise)."""
        deadline = time.monotonic() + timeout
        facts = self.facts(container)
        while not condition(facts):
            if time.monotonic() > deadline:
                raise DemoTimeout(describe, timeout, facts.line())
            time.sleep(interval)
            facts = self.facts(container)
        return facts

    def crash(self, container: Any, code: int = 1, *, quiet_s: float = 1.5, timeout: float = 20.0) -> ContainerFacts:
        """GET /crash?code=N, then wait until Docker has acted on the exit: the container runs again (and
        answers), or it stayed exited for `quiet_s` seconds. Returns the facts then."""
        before = self.facts(container).restart_count
        self.get(container, f"/crash?code={int(code)}")

        def acted(facts: ContainerFacts) -> bool:
            return (facts.restart_count > before and facts.running) or facts.status == "exited"

        facts = self.wait_for(container, acted, timeout=timeout, describe="Docker to act on the exit")
        if facts.status == "exited" and not self.stays(container, lambda f: f.status == "exited", seconds=quiet_s):
            facts = self.wait_for(container, lambda f: f.running, timeout=timeout, describe="the restart")
        if facts.running:
            self.wait_ready(container, timeout=timeout)
        return self.facts(container)

    def stays(self, container: Any, condition: Callable[[ContainerFacts], bool], *, seconds: float = 2.0,
              interval: float = 0.1) -> bool:
        """True when `condition(facts)` holds at every poll for `seconds` (e.g. "it stays exited")."""
        deadline = time.monotonic() + seconds
        while True:
            if not condition(self.facts(container)):
                return False
            if time.monotonic() > deadline:
                return True
            time.sleep(interval)

    def events(self) -> list[DemoEvent]:
        """What Docker's event stream recorded for this session's containers since the demo began.

        Health-check probe executions (exec_*) and create/destroy are left out.
        """
        stream = self.client.events(since=int(self.started_at), until=round(time.time(), 3), decode=True,
                                    filters={"type": "container", "label": f"ecsdojo.session={self.session}"})
        found = []
        for event in stream:
            action = str(event.get("Action", ""))
            if not action.startswith(KEPT_ACTIONS):
                continue
            seconds = event.get("timeNano", 0) / NANOSECONDS - self.started_at
            name = ((event.get("Actor") or {}).get("Attributes") or {}).get("name", "?")
            found.append(DemoEvent(round(max(seconds, 0.0), 3), _short_name(name), action))
        return found

    # ---- talking to the app ------------------------------------------------------------------------
    def host_port(self, container: Any) -> int | None:
        """The 127.0.0.1 port published for :8080 now (a restart may pick a new one), or None when stopped."""
        container.reload()
        bindings = ((container.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get("8080/tcp") or []
        for binding in bindings:
            if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
                return int(binding["HostPort"])
        return None

    def url(self, container: Any, path: str = "/") -> str:
        port = self.host_port(container)
        if port is None:
            raise ConnectionError(f"{_short_name(container.name)} publishes no port: it is not running")
        return f"http://127.0.0.1:{port}{path}"

    def get(self, container: Any, path: str = "/", *, timeout: float = 3.0) -> Reply:
        """GET a path of the app; never raises for a refused connection or a timeout (see Reply.error)."""
        try:
            target = self.url(container, path)
        except ConnectionError as error:
            return Reply(None, error=str(error))
        try:
            with urllib.request.urlopen(target, timeout=timeout) as response:
                raw = response.read()
                return Reply(response.status, _json_or_text(raw))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _json_or_text(error.read()))
        except (TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            text = "timed out" if "timed out" in str(reason) else type(reason).__name__
            return Reply(None, error=text)

    def wait_ready(self, container: Any, *, timeout: float = 20.0) -> None:
        """Wait until the app answers /health (a fresh container needs a moment to listen)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.get(container, "/health", timeout=1.0).status == 200:
                return
            if time.monotonic() > deadline:
                raise DemoTimeout(f"{_short_name(container.name)} to answer /health", timeout,
                                  self.facts(container).line())
            time.sleep(0.1)

    def load(self, container: Any, *, requests: int = 40, concurrency: int = 4, cpu_ms: int = 100,
             timeout: float = 10.0) -> dict[str, int]:
        """A bounded burst of ``/cpu?ms=cpu_ms`` requests; returns {"ok": n, "failed": m}."""
        requests = max(0, min(int(requests), 500))
        target_path = f"/cpu?ms={max(0, min(int(cpu_ms), 1000))}"

        def one(_: int) -> bool:
            return self.get(container, target_path, timeout=timeout).status == 200

        with ThreadPoolExecutor(max_workers=max(1, min(int(concurrency), 16))) as pool:
            results = list(pool.map(one, range(requests)))
        return {"ok": sum(results), "failed": len(results) - sum(results)}


def lifetime_plot(events: list[DemoEvent], *, title: str = "What Docker did to each container") -> Any:
    """A matplotlib Figure: one row per container, a bar while it runs, markers for dies, OOM kills and
    health changes. Built without pyplot (no global state); Jupyter shows a returned Figure inline."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    names: list[str] = []
    for event in events:
        if event.container not in names:
            names.append(event.container)
    end = max((event.seconds for event in events), default=1.0) + 1.0
    figure = Figure(figsize=(9, 0.6 * max(len(names), 1) + 1.4))
    axes = figure.add_subplot()
    markers = {"die": ("x", "tab:red"), "oom": ("v", "tab:purple"), "kill": ("X", "black"),
               "health_status: healthy": ("o", "tab:green"), "health_status: unhealthy": ("^", "tab:orange")}
    for row, name in enumerate(names):
        mine = [event for event in events if event.container == name]
        running_since = None
        for event in mine:
            if event.action == "start":
                running_since = event.seconds
            elif event.action == "die" and running_since is not None:
                axes.broken_barh([(running_since, event.seconds - running_since)], (row - 0.2, 0.4),
                                 color="tab:green", alpha=0.35)
                running_since = None
        if running_since is not None:
            axes.broken_barh([(running_since, end - running_since)], (row - 0.2, 0.4), color="tab:green", alpha=0.35)
        for event in mine:
            if event.action in markers:
                shape, colour = markers[event.action]
                axes.plot(event.seconds, row, marker=shape, color=colour, markersize=9, linestyle="none")
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.7, len(names) - 0.3)
    axes.invert_yaxis()
    axes.set_xlim(0, end)
    axes.set_xlabel("seconds since the first demo container")
    axes.set_title(title)
    legend = [Line2D([0], [0], color="tab:green", alpha=0.35, linewidth=8, label="running")]
    legend += [Line2D([0], [0], marker=shape, color=colour, linestyle="none", label=label)
               for label, (shape, colour) in (("exited", markers["die"]), ("OOM kill", markers["oom"]),
                                              ("healthy", markers["health_status: healthy"]),
                                              ("unhealthy", markers["health_status: unhealthy"]))]
    axes.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=5, frameon=False)
    figure.tight_layout()
    return figure


def _short_name(name: str) -> str:
    """``dojo-m01-1a2b3c4d-plain`` -> ``plain``."""
    parts = name.split("-", 3)
    return parts[3] if len(parts) == 4 and parts[0] == "dojo" else name


def _json_or_text(raw: bytes) -> Any:
    text = raw.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()
