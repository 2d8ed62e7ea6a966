"""`dojo doctor`: is this machine ready for the course? One line per check, ✓ or ✗ with a concrete fix.

Exit status 1 only for blocking problems (Python, packages, memory, an engine that answers but cannot start
containers); without a Docker engine the labs still run, on simulated containers, and the doctor says so.

Example::

    results = run_checks()
    print(render(results))
"""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

# distribution -> lowest version known to work (the same lower bounds as pyproject.toml)
REQUIRED_PACKAGES = {
    "jupyterlab": "4.2", "ipywidgets": "8.1", "boto3": "1.34", "moto": "5.1.12", "docker": "7",
    "nbval": "0.11", "nbclient": "0.10", "nbformat": "5.9", "awscli": "1.32", "PyYAML": "6", "matplotlib": "3.8",
}
MIN_FREE_MEMORY_MIB = 1024
COMFORTABLE_MEMORY_MIB = 3072


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    blocking: bool = False

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        text = f"{mark} {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f"\n    fix: {self.fix}"
        return text


def version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not piece.isdigit():
            break
    return tuple(parts)


def check_python() -> CheckOutcome:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return CheckOutcome("Python", ok, version, "install Python 3.11 or newer (or: conda env create -f environment.yml)",
                        blocking=True)


def check_packages() -> list[CheckOutcome]:
    outcomes = []
    for name, lowest in REQUIRED_PACKAGES.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            outcomes.append(CheckOutcome(f"package {name}", False, "not installed",
                                         "run `make lab` (it installs everything into .venv)", blocking=True))
            continue
        ok = version_tuple(installed) >= version_tuple(lowest)
        outcomes.append(CheckOutcome(f"package {name}", ok, f"{installed} (needs ≥ {lowest})",
                                     f"pip install --upgrade '{name}>={lowest}'", blocking=True))
    return outcomes


def check_memory() -> CheckOutcome:
    available = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) // 1024
    except OSError:
        pass
    if available is None:
        return CheckOutcome("free memory", True, "unknown on this system (labs need about 2 GiB)")
    ok = available >= MIN_FREE_MEMORY_MIB
    note = "" if available >= COMFORTABLE_MEMORY_MIB else " (tight: close other programs for the scaling labs)"
    return CheckOutcome("free memory", ok, f"{available} MiB available{note}",
                        "close programs or give Docker Desktop more memory (labs need about 2 GiB)", blocking=True)


def check_loopback_port() -> CheckOutcome:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return CheckOutcome("free ports", True, f"127.0.0.1 accepts listeners (e.g. :{port})")
    except OSError as error:
        return CheckOutcome("free ports", False, f"cannot listen on 127.0.0.1: {error}",
                            "free some ports or check local firewall rules", blocking=True)


def check_docker() -> list[CheckOutcome]:
    """Engine, a container, a port published on 127.0.0.1, the demo image."""
    from ecsdojo import images

    try:
        import docker

        client = docker.from_env(timeout=20)
        server = client.version().get("Version", "?")
    except Exception as error:  # noqa: BLE001 - any failure means no engine
        return [CheckOutcome("Docker engine", False, f"not reachable ({str(error).splitlines()[0][:100]}); "
                             "labs will use simulated containers (local processes)",
                             "start Docker Desktop, or on Debian/Ubuntu: sudo apt-get install docker.io && "
                             "sudo systemctl start docker")]
    outcomes = [CheckOutcome("Docker engine", True, f"server {server}")]
    limits = check_engine_limits(client)            # classroom (issue 12): rootless engines on cgroup v1
    if limits is not None:
        outcomes.append(limits)
    image_present = images.app_image_present()
    outcomes.append(CheckOutcome("demo image", image_present,
                                 images.APP_IMAGE + (" present" if image_present else " missing"),
                                 "dojo images build"))
    if not image_present:
        return outcomes
    outcomes.extend(check_container_runs())
    return outcomes


# ---- classroom (issue 12): can this engine enforce container limits? -------------------------------------
def engine_limits_outcome(info: dict) -> CheckOutcome | None:
    """A note when the engine cannot enforce memory/CPU limits: rootless on cgroup v1 (no cgroups at all).

    Docker's rootless mode needs cgroup v2 (with systemd delegation) for resource limits; on a cgroup v1 host it
    runs with the cgroup driver ``none`` and warns "Running in rootless-mode without cgroups"
    (https://docs.docker.com/engine/security/rootless/#limiting-resources). None when limits work.

    >>> engine_limits_outcome({"SecurityOptions": ["name=rootless"], "CgroupVersion": "1", "CgroupDriver": "none"}).ok
    False
    """
    from ecsdojo.runtime.base import engine_enforces_limits

    if engine_enforces_limits(info):
        return None
    return CheckOutcome(
        "container limits", False,
        "this is a rootless Docker engine on a cgroup v1 host: it runs without cgroups, so memory and CPU limits "
        "are NOT enforced: the out-of-memory demos of modules 01 and 04 are not OOM-killed at their limit here "
        "(on a classroom engine the app hits a per-process memory guard instead; expect exit 137 and "
        "OOMKilled=true on a normal engine)",
        "nothing to do for the other labs; for real limits use a cgroup v2 host "
        "(systemd.unified_cgroup_hierarchy=1) or a rootful engine")


def check_engine_limits(client) -> CheckOutcome | None:
    try:
        return engine_limits_outcome(client.info())
    except Exception:  # noqa: BLE001 - an engine that answers version but not info: nothing to add
        return None


def check_container_runs() -> list[CheckOutcome]:
    """Start the demo image through the runtime layer, publish on 127.0.0.1, ask /health, remove it."""
    from ecsdojo import images
    from ecsdojo.runtime.base import ENGINE_FIXES, ContainerSpec, PortMapping, RuntimeError_, owned_labels
    from ecsdojo.runtime.docker import DockerRuntime

    runtime = DockerRuntime()
    session = f"doctor-{uuid.uuid4().hex[:8]}"
    spec = ContainerSpec(name=f"ecsdojo-{session}", image=images.APP_IMAGE, labels=owned_labels(session),
                         ports=(PortMapping(8080),), memory_mib=128)
    try:
        state = runtime.start(spec)
    except RuntimeError_ as error:
        # Blocking: an engine that answers but cannot start containers fails every lab's tasks.
        return [CheckOutcome("a container runs", False, f"the engine answers but cannot start a container: {error}",
                             ENGINE_FIXES, blocking=True)]
    try:
        outcomes = [CheckOutcome("a container runs", True, f"{state.name} started")]
        host_port = state.ports.get(8080)
        try:
            body = _wait_for_health(host_port)
            outcomes.append(CheckOutcome("port published on 127.0.0.1", True,
                                         f"127.0.0.1:{host_port} → container :8080 answers /health ({body})"))
        except OSError as error:
            outcomes.append(CheckOutcome("port published on 127.0.0.1", False, f"127.0.0.1:{host_port}: {error}",
                                         "check that nothing blocks loopback traffic to Docker's proxy"))
        return outcomes
    finally:
        runtime.sweep({"ecsdojo.session": session})
        runtime.close()


def _wait_for_health(port: int | None, timeout: float = 10.0) -> str:
    import time
    import urllib.request

    if port is None:
        raise OSError("no host port was published")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                return response.read().decode().strip()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def run_checks(*, include_docker: bool = True) -> list[CheckOutcome]:
    outcomes = [check_python(), *check_packages(), check_memory(), check_loopback_port()]
    if include_docker:
        outcomes.extend(check_docker())
    return outcomes


def render(outcomes: list[CheckOutcome]) -> str:
    blocking = [o for o in outcomes if not o.ok and o.blocking]
    other = [o for o in outcomes if not o.ok and not o.blocking]
    lines = [o.line() for o in outcomes]
    if blocking:
        lines.append(f"{len(blocking)} blocking problem(s): fix them before the labs.")
    elif other:
        lines.append("Ready, with the notes above.")
    else:
        lines.append("All checks pass: ready for the labs.")
    return "\n".join(lines)


def _doctor_command(args) -> int:
    outcomes = run_checks(include_docker=not args.no_docker)
    print(render(outcomes))
    return 1 if any(not o.ok and o.blocking for o in outcomes) else 0


def register(commands) -> None:
    parser = commands.add("doctor", help="check this machine: Python, packages, Docker, image, ports, memory",
                          handler=_doctor_command)
    parser.add_argument("--no-docker", action="store_true", help="skip the Docker checks")


def doctor_in_notebook(print_: Callable[[str], None] = print) -> bool:
    """Run the checks and print them (used by notebook 00); returns True when nothing blocks."""
    outcomes = run_checks()
    print_(render(outcomes))
    return not any(not o.ok and o.blocking for o in outcomes)

