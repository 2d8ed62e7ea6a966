"""The classroom's JupyterHub: start it on 127.0.0.1 from labs/classroom/jupyterhub_config.py, talk to its REST API.

``start_hub`` writes the run's settings (ports, learners, paths, a fresh API token for the instructor's tools)
to ``STATE/hub/settings.json``, starts ``jupyterhub`` (which starts configurable-http-proxy) from the shared
learner environment, and waits until the API answers. ``HubClient`` wraps the few REST calls the instructor's
tools make (https://jupyterhub.readthedocs.io/en/stable/reference/rest-api.html).

Example::

    hub = start_hub(HubSettings(state_dir=Path("/var/lib/ecsdojo-classroom"), learners=("learner01",), ...))
    hub.client.spawn("learner01")          # returns when the learner's JupyterLab answers
    stop_hub(Path("/var/lib/ecsdojo-classroom"))
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["HubSettings", "RunningHub", "HubClient", "HubError", "start_hub", "stop_hub", "running_hub",
           "CONFIG_FILE", "proxy_command"]

CONFIG_FILE = Path(__file__).resolve().parents[3] / "labs" / "classroom" / "jupyterhub_config.py"


class HubError(RuntimeError):
    """The hub did not start, answer or do what was asked; the message says what and shows its log's end."""


def proxy_command() -> str | None:
    """configurable-http-proxy (npm) on PATH, or None."""
    return shutil.which("configurable-http-proxy")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class HubSettings:
    state_dir: str
    learner_python: str
    learners: tuple[str, ...]
    port: int = 8000
    idle_timeout_s: int = 3600
    hub_port: int = 0
    proxy_api_port: int = 0
    proxy_command: str = ""
    api_token: str = ""
    instructors: tuple[str, ...] = ()
    dashboard_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class HubClient:
    """The hub's REST API with the instructor's service token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None, *, timeout: float = 30) -> dict | list | None:
        request = urllib.request.Request(f"{self.url}/hub/api{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise HubError(f"{method} {path}: HTTP {error.code} {error.read().decode(errors='replace')[:300]}") \
                from error
        return json.loads(text) if text else None

    def answers(self) -> bool:
        try:
            self.call("GET", "/", timeout=3)
            return True
        except (OSError, HubError):
            return False

    def ensure_users(self, names: list[str]) -> None:
        known = {user["name"] for user in self.call("GET", "/users") or []}
        missing = [name for name in names if name not in known]
        if missing:
            self.call("POST", "/users", {"usernames": missing})

    def user(self, name: str) -> dict:
        return self.call("GET", f"/users/{name}")

    def server_pid(self, name: str) -> int | None:
        """The learner's server process id (from the spawner's state; needs admin:server_state)."""
        server = (self.user(name).get("servers") or {}).get("")
        state = (server or {}).get("state") or {}
        return state.get("pid")

    def spawn(self, name: str, *, timeout: float = 180) -> float:
        """Start the learner's server through the REST API; returns the seconds until it was ready."""
        started = time.monotonic()
        try:
            self.call("POST", f"/users/{name}/server", timeout=timeout)
        except HubError as error:
            if "already running" not in str(error).lower() and "HTTP 400" not in str(error):
                raise
        deadline = started + timeout
        while True:
            server = (self.user(name).get("servers") or {}).get("") or {}
            if server.get("ready"):
                return time.monotonic() - started
            if not server.get("pending") and not server.get("ready") and time.monotonic() - started > 5:
                raise HubError(f"{name}'s server stopped while starting (see the hub log)")
            if time.monotonic() > deadline:
                raise HubError(f"{name}'s server was not ready within {timeout:g} s: {server}")
            time.sleep(0.25)

    def stop_server(self, name: str, *, timeout: float = 60) -> None:
        try:
            self.call("DELETE", f"/users/{name}/server", timeout=timeout)
        except HubError as error:
            if "HTTP 400" not in str(error):      # not running
                raise
        deadline = time.monotonic() + timeout
        while (self.user(name).get("servers") or {}).get(""):
            if time.monotonic() > deadline:
                raise HubError(f"{name}'s server did not stop within {timeout:g} s")
            time.sleep(0.25)


@dataclass(frozen=True)
class RunningHub:
    settings: HubSettings
    pid: int

    @property
    def client(self) -> HubClient:
        return HubClient(self.settings.url, self.settings.api_token)


def _hub_dir(state_dir: Path) -> Path:
    return state_dir / "hub"


def running_hub(state_dir: Path) -> RunningHub | None:
    """The hub `dojo classroom up` started with this state folder, when it still runs."""
    directory = _hub_dir(state_dir)
    try:
        recorded = json.loads((directory / "settings.json").read_text())
        settings = HubSettings(**{**recorded, "learners": tuple(recorded["learners"]),
                                  "instructors": tuple(recorded.get("instructors") or ())})
        pid = int((directory / "launcher.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError, TypeError):
        return None
    return RunningHub(settings, pid)


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_hub(settings: HubSettings, *, timeout: float = 60) -> RunningHub:
    """Start JupyterHub (and its proxy) with ``settings``; returns when its API answers."""
    state_dir = Path(settings.state_dir)
    directory = _hub_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)                # the database, cookie secret and token are root's only
    if running_hub(state_dir) is not None:
        raise HubError(f"a classroom hub already runs for {state_dir}: `dojo classroom down` first")
    proxy = settings.proxy_command or proxy_command()
    if not proxy:
        raise HubError("configurable-http-proxy is not installed: npm install -g configurable-http-proxy "
                       "(Debian: apt-get install npm first)")
    settings = HubSettings(**{**asdict(settings), "hub_port": settings.hub_port or free_port(),
                              "proxy_api_port": settings.proxy_api_port or free_port(), "proxy_command": proxy,
                              "dashboard_port": settings.dashboard_port or free_port(),
                              "api_token": settings.api_token or secrets.token_hex(24)})
    settings_path = directory / "settings.json"
    settings_path.write_text(json.dumps(asdict(settings), indent=1))
    os.chmod(settings_path, 0o600)
    jupyterhub = Path(settings.learner_python).parent / "jupyterhub"
    log_path = directory / "jupyterhub.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([str(jupyterhub), "-f", str(CONFIG_FILE)], cwd=directory,
                                   env={**os.environ, "DOJO_CLASSROOM_SETTINGS": str(settings_path)},
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    (directory / "launcher.pid").write_text(str(process.pid))
    hub = RunningHub(settings, process.pid)
    deadline = time.monotonic() + timeout
    while not hub.client.answers():
        if process.poll() is not None:
            raise HubError(f"jupyterhub exited with {process.returncode}; the end of {log_path}:\n{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise HubError(f"jupyterhub did not answer at {settings.url} within {timeout:g} s; "
                           f"the end of {log_path}:\n{_log_tail(log_path)}")
        time.sleep(0.25)
    hub.client.ensure_users(list(settings.learners))
    return hub


def stop_hub(state_dir: Path, *, timeout: float = 90) -> bool:
    """SIGTERM the hub: it stops every learner server (cleanup_servers) and its proxy. False when none ran."""
    hub = running_hub(state_dir)
    if hub is None:
        return False
    os.kill(hub.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(hub.pid, os.WNOHANG)
            if finished:
                break
        except ChildProcessError:       # not our child (another `dojo` process started it)
            pass
        try:
            os.kill(hub.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(hub.pid, signal.SIGKILL)
    (_hub_dir(state_dir) / "launcher.pid").unlink(missing_ok=True)
    return True
