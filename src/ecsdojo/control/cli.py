"""`dojo up`, `dojo status`, `dojo down`: LocalECS for the terminal and the AWS CLI."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from ecsdojo.progress_store import default_home
from ecsdojo.runtime.base import alive

DEFAULT_PORT = 4599


def state_dir() -> Path:
    path = default_home() / "up"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _preferred_port(port: int) -> int:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return port
        except OSError:
            return 0


def _say(text: str) -> None:
    """Print for `dojo up`; a closed stdout (`dojo up | head -2`, a closed terminal) must not stop the clean-up."""
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _up(args) -> int:
    from ecsdojo.control.local import LocalECS

    directory = state_dir()
    info_path = directory / "endpoint.json"
    env_path = directory / "env.sh"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if alive(int(info.get("pid", 0))) and info.get("pid") != os.getpid():
            print(f"dojo up is already running (pid {info['pid']}) at {info['endpoint']}; `dojo down` stops it")
            return 1
    local = LocalECS(speed=args.speed, runtime=args.runtime, instances=args.instances, port=_preferred_port(args.port),
                     point_environment=False, snapshot_path=directory / "status.json")
    stop = threading.Event()
    # Ctrl-C, `dojo down` (SIGTERM) and a closed terminal (SIGHUP) all end with the same clean-up.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    local.start()
    try:
        info_path.write_text(json.dumps({"pid": os.getpid(), "endpoint": local.endpoint_url,
                                         "session": local.session, "speed": args.speed}))
        lines = local.export_lines()
        # The course's JupyterLab terminals read this file at each prompt (ecsdojo.lab.terminal_rcfile).
        env_path.write_text("\n".join([*lines, f"export DOJO_UP_ENDPOINT={local.endpoint_url}"]) + "\n")
        runtime = local.runtime
        kind = "simulated containers (local processes)" if runtime.simulated else f"{runtime.describe()} containers"
        _say(f"ECS Dojo control plane up: moto at {local.endpoint_url}, {kind}, speed ×{args.speed:g}"
             + (f", swept {local.swept_orphans} orphaned container(s)" if local.swept_orphans else ""))
        _say("Terminals of the course's JupyterLab are pointed here already. Elsewhere, copy these lines:\n")
        for line in lines:
            _say(f"  {line}")
        _say("\nThen, for example:  aws ecs create-cluster --cluster-name my-cluster\n"
             "`dojo status` shows clusters, services, tasks and ports. Ctrl-C stops everything.")
        while not stop.wait(0.5):
            pass
    finally:
        _say("stopping: removing this session's containers ...")
        env_path.unlink(missing_ok=True)
        local.stop()
        info_path.unlink(missing_ok=True)
        _say("stopped.")
    return 0


def render_status(snapshot: dict) -> str:
    lines = []
    for name, cluster in sorted(snapshot.get("clusters", {}).items()):
        lines.append(f"cluster {name}: {cluster['instances']} container instance(s)")
    for service in snapshot.get("services", []):
        lines.append(f"  service {service['name']} ({service['cluster']}) {service['status']}: desired "
                     f"{service['desired']}, running {service['running']}, pending {service['pending']}")
        for deployment in service["deployments"]:
            lines.append(f"    deployment {deployment['id']} {deployment['status']} {deployment['rollout']} "
                         f"({deployment['taskDefinition']})")
        for event in service["events"][:3]:
            lines.append(f"    event: {event}")
    for task in snapshot.get("tasks", []):
        owner = f"service {task['service']}" if task["service"] else "standalone"
        lines.append(f"  task {task['id'][:8]} {task['lastStatus']:<12} desired {task['desiredStatus']:<8} "
                     f"health {task['health']:<9} {task['taskDefinition']} ({owner})"
                     + (f" — {task['stoppedReason']}" if task.get("stoppedReason") else ""))
        for container in task["containers"]:
            ports = ", ".join(f"127.0.0.1:{host}->{port}" for port, host in container["ports"].items()) or "no ports"
            exit_code = f" exit {container['exitCode']}" if container.get("exitCode") is not None else ""
            if container.get("restartCount"):
                exit_code += f" restarted {container['restartCount']}x"
            lines.append(f"    container {container['name']} {container['status']}{exit_code} "
                         f"{container['runtimeId']} {ports}")
    for balancer in snapshot.get("load_balancers", []):
        lines.append(f"load balancer {balancer['name']}: listener :{balancer['listener_port']} served at "
                     f"{balancer['served_at']}")
        for target, state in balancer["targets"].items():
            lines.append(f"    target {target[:8]} {state} ({balancer['requests'].get(target, 0)} requests)")
    return "\n".join(lines) or "no clusters yet"


def _status(args) -> int:
    directory = state_dir()
    info_path = directory / "endpoint.json"
    if not info_path.exists() or not alive(int(json.loads(info_path.read_text()).get("pid", 0))):
        print("dojo up is not running: start it with `dojo up`")
        return 1
    snapshot_path = directory / "status.json"
    deadline = time.monotonic() + 3
    while not snapshot_path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not snapshot_path.exists():
        print("no status yet: try again in a second")
        return 1
    snapshot = json.loads(snapshot_path.read_text())
    print(json.dumps(snapshot, indent=1, default=str) if args.json else render_status(snapshot))
    return 0


def _down(args) -> int:
    from ecsdojo.control.local import sweep_orphans
    from ecsdojo.runtime import detect_runtime

    info_path = state_dir() / "endpoint.json"
    if info_path.exists():
        pid = int(json.loads(info_path.read_text()).get("pid", 0))
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            print(f"stopped dojo up (pid {pid})")
        info_path.unlink(missing_ok=True)
    if args.sweep:
        print(f"removed {sweep_orphans(detect_runtime())} orphaned container(s)")
    return 0


def register(commands) -> None:
    up = commands.add("up", help="run moto + the control plane for the AWS CLI (prints the export lines)", handler=_up)
    up.add_argument("--speed", type=float, default=1.0, help="compress ECS intervals by this factor (default 1)")
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"moto's port on 127.0.0.1 (default {DEFAULT_PORT})")
    up.add_argument("--instances", type=int, default=2, help="simulated EC2 container instances per new cluster")
    up.add_argument("--runtime", choices=("docker", "process"), default=None, help="default: Docker when it answers")
    status = commands.add("status", help="clusters, services, tasks, containers and ports of `dojo up`",
                          handler=_status)
    status.add_argument("--json", action="store_true")
    down = commands.add("down", help="stop `dojo up`; --sweep also removes orphaned containers", handler=_down)
    down.add_argument("--sweep", action="store_true")
