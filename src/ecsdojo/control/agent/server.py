"""TaskAgent: the task metadata endpoint v4, the task-role credentials endpoint and a task's way to AWS (moto).

On ECS the container agent serves these at 169.254.170.2 and the SDKs find them through environment variables
(Amazon ECS Developer Guide: "Amazon ECS task metadata endpoint version 4", "Amazon ECS task IAM role"). Here:

- the engine serves HTTP on two Unix sockets in one directory (agent.sock: metadata and credentials; aws.sock: a
  relay to moto that marks each request for IAM enforcement, control/moto/iam.py), bind-mounted read-only into
  every container at /ecs-agent;
- a forwarder process (forwarder.py, run with python3 inside the container by the runtime's exec) listens on the
  container's own loopback, 127.0.0.1:51679 and :51680, and relays to those sockets. No packet goes to a bridge
  address, the bridge gateway or any other non-loopback address (the network rule): the host side is a Unix
  socket, the container side its loopback;
- each container gets ECS_CONTAINER_METADATA_URI_V4 (container and /task metadata, /stats and /task/stats: Docker's
  stats documents), AWS_ENDPOINT_URL (moto through the relay),
  AWS_EC2_METADATA_DISABLED (no instance-metadata probe of 169.254.169.254) and, when the task has a
  taskRoleArn, AWS_CONTAINER_CREDENTIALS_FULL_URI (botocore accepts a full URI on a loopback host): boto3 and the
  AWS CLI inside the container then use the task role's temporary credentials (moto STS AssumeRole, session name
  = the task id, as ECS names it) with no keys. A task without a task role gets no credentials variable, as on
  ECS, and its requests reach moto unsigned (MissingAuthenticationToken).

On the process runtime (simulated containers: host processes) the agent serves the same answers on the host's
127.0.0.1, on ports it picks, and no forwarder runs.

The container's process starts a moment (about 0.1-0.2 s) before its forwarder listens (the ECS agent serves its
endpoints before the container starts); the task is RUNNING only once the forwarder listens, and botocore retries
the credentials endpoint (ContainerMetadataFetcher: 3 attempts, 1 s apart), so an SDK does not see the gap.

The forwarder needs python3 in the image (the demo image has it); without it the task runs without the
endpoints and a warning is logged. A container restarted in place loses its forwarder.

Why http.server and not a framework: a handful of GET routes and a byte-exact relay on Unix sockets, with no
dependency to add to the learner's environment.
"""

from __future__ import annotations

import http.client
import http.server
import json
import logging
import os
import shutil
import socketserver
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from ecsdojo.control.agent.forwarder import AGENT_PORT, AWS_PORT
from ecsdojo.control.agent.metadata import ContainerIdentity, container_metadata, task_metadata
from ecsdojo.control.moto.iam import (IAM_MARKER_HEADER, RoleCredentials, enforce_iam_on_marked_requests,
                                      task_role_credentials)
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.records import TaskRecord
from ecsdojo.runtime.base import LABEL_CONTAINER_NAME, ContainerSpec, ContainerState, Runtime, alive

__all__ = ["TaskAgent", "MOUNT_POINT", "READY_TIMEOUT_S"]

log = logging.getLogger(__name__)

MOUNT_POINT = "/ecs-agent"
READY_TIMEOUT_S = 5.0          # how long a task's start waits for a container's forwarder to listen
FORWARDER = Path(__file__).with_name("forwarder.py")
DIRECTORY_PREFIX = "ecsdojo-agent-"      # + owner pid: a directory left by a killed process is swept at start
# Headers a relay does not pass on (hop-by-hop, RFC 9110 section 7.6.1), plus our own marker from the caller and
# Expect (http.server already answered "100 Continue"; SigV4 never signs it: botocore's SIGNED_HEADERS_BLACKLIST).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "expect", IAM_MARKER_HEADER.lower()}


@dataclass
class _TaskEntry:
    identities: dict[str, ContainerIdentity]                 # token -> container
    credentials_id: str | None = None
    credentials: RoleCredentials | None = None
    ready: dict[str, threading.Event] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


class _QuietOnHangUp:
    """A client that hangs up mid-answer (a forwarder whose container just died) is normal here: logged at debug
    level instead of socketserver's traceback on stderr, which would print into a notebook cell."""

    def handle_error(self, request, client_address) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            log.debug("a client of the task agent hung up: %s", error)
            return
        super().handle_error(request, client_address)  # type: ignore[misc]


class _UnixHTTPServer(_QuietOnHangUp, socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class _LoopbackHTTPServer(_QuietOnHangUp, http.server.ThreadingHTTPServer):
    daemon_threads = True


class TaskAgent:
    """One per LocalECS: the sockets' directory, the two servers, and the tokens of the running tasks."""

    def __init__(self, *, moto_url: str, runtime: Runtime, region: str, mode: str = "exec") -> None:
        if mode not in ("exec", "loopback"):
            raise ValueError(f"TaskAgent mode must be 'exec' or 'loopback', not {mode!r}")
        self.mode = mode
        self.ports = (AGENT_PORT, AWS_PORT)    # where containers reach the agent and moto (loopback: bound ports)
        parsed = urlparse(moto_url)
        self.moto_host, self.moto_port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.runtime = runtime
        self.region = region
        self.store: Any = None                 # ObservedState, set by the control plane (`bind`)
        self.directory: Path | None = None
        self._servers: list[socketserver.BaseServer] = []
        self._lock = threading.Lock()
        self._tasks: dict[str, _TaskEntry] = {}            # task arn -> entry
        self._tokens: dict[str, str] = {}                  # container token -> task arn
        self._credentials: dict[str, str] = {}             # credentials id -> task arn

    # ---- lifecycle -------------------------------------------------------------------------------------
    def bind(self, store: Any) -> None:
        self.store = store

    def start(self) -> TaskAgent:
        enforce_iam_on_marked_requests()
        if self.mode == "loopback":
            return self._start_loopback()
        sweep_directories()
        self.directory = Path(tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{os.getpid()}-"))
        self.directory.chmod(0o755)            # a container running as another user must reach the sockets
        shutil.copyfile(FORWARDER, self.directory / "forwarder.py")
        (self.directory / "forwarder.py").chmod(0o644)
        for name, handler in (("agent.sock", _agent_handler(self)), ("aws.sock", _relay_handler(self))):
            path = self.directory / name
            server = _UnixHTTPServer(str(path), handler)
            path.chmod(0o666)
            threading.Thread(target=server.serve_forever, args=(0.1,), name=f"ecsdojo-agent-{name}",
                             daemon=True).start()
            self._servers.append(server)
        return self

    def _start_loopback(self) -> TaskAgent:
        """The process runtime: the containers share the host's loopback, so the agent listens there itself."""
        ports = []
        for handler in (_agent_handler(self), _relay_handler(self)):
            server = _LoopbackHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, args=(0.1,), name="ecsdojo-agent-loopback",
                             daemon=True).start()
            self._servers.append(server)
            ports.append(server.server_address[1])
        self.ports = (ports[0], ports[1])
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    # ---- a task's containers ---------------------------------------------------------------------------
    def prepare(self, task: TaskRecord, definition: TaskDefinitionView, specs: list[ContainerSpec]
                ) -> list[ContainerSpec]:
        """The specs with the agent's variables and mount; registers the task's tokens (and credentials)."""
        if not self._servers:
            return specs
        revision = int(definition.arn.rsplit(":", 1)[-1]) if definition.arn.rsplit(":", 1)[-1].isdigit() else 0
        entry = _TaskEntry(identities={})
        role = task.task_role_arn or definition.task_role_arn
        if role:
            entry.credentials = task_role_credentials(role, task.id, region=self.region)
            entry.credentials_id = str(uuid.uuid4())
        prepared = []
        definitions = {container["name"]: container for container in definition.containers()}
        for spec in specs:
            container = definitions.get(spec.labels.get(LABEL_CONTAINER_NAME, ""))
            if container is None:              # not one of the definition's containers (a task's pause container)
                prepared.append(spec)
                continue
            token = f"{task.id[:16]}-{uuid.uuid4().hex[:12]}"
            log_config = container.get("logConfiguration") or {}
            entry.identities[token] = ContainerIdentity(
                task_arn=task.arn, name=container["name"], docker_name=spec.name, image=spec.image,
                family=definition.family, revision=revision, cpu=int(container.get("cpu") or 0),
                memory=container.get("memory"), log_driver=log_config.get("logDriver"),
                log_options=tuple(sorted((log_config.get("options") or {}).items())))
            entry.ready[token] = threading.Event()
            environment = {**self.environment(token, entry.credentials_id), **spec.environment}
            mounts = (*spec.mounts, (str(self.directory), MOUNT_POINT, True)) if self.mode == "exec" else spec.mounts
            prepared.append(replace(spec, environment=environment, mounts=mounts))
        with self._lock:
            self._tasks[task.arn] = entry
            self._tokens.update({token: task.arn for token in entry.identities})
            if entry.credentials_id:
                self._credentials[entry.credentials_id] = task.arn
        return prepared

    def environment(self, token: str, credentials_id: str | None) -> dict[str, str]:
        base = f"http://127.0.0.1:{self.ports[0]}"
        environment = {
            "ECS_CONTAINER_METADATA_URI_V4": f"{base}/v4/{token}",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.ports[1]}",
            "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        }
        if credentials_id:
            environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"{base}/v2/credentials/{credentials_id}"
        return environment

    def attach(self, task: TaskRecord, state: ContainerState) -> bool:
        """Start the forwarder in a started container and wait until it listens; False when it cannot run."""
        with self._lock:
            entry = self._tasks.get(task.arn)
        token = next((t for t, i in (entry.identities.items() if entry else ())
                      if i.docker_name == state.name), None)
        if entry is None or token is None:
            return False
        if self.mode == "loopback":
            return True                                 # the agent itself listens on the shared loopback
        exec_id = self.runtime.exec_detached(state.id, ("python3", f"{MOUNT_POINT}/forwarder.py", token))
        exit_code = None
        if exec_id is not None:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                if entry.ready[token].wait(0.05):
                    return True
                exit_code = self.runtime.exec_exit_code(exec_id)
                if exit_code is not None:
                    break                               # no python3 in the image (or the container exited)
        if exit_code not in (126, 127):                 # 126/127: the shell's "cannot run" / "not found"
            now = self.runtime.inspect(state.id)
            if now is None or not now.alive:            # it exited: no endpoints to serve, nothing to warn about
                log.debug("container %s exited before its task endpoints could start", state.name)
                return False
        # INFO, not WARNING: most often the container was crashing anyway, and a notebook would print this.
        log.info("container %s: the task metadata and credentials endpoints are not available: the forwarder "
                    "did not start (it needs python3 in the image, and an engine that can pass a Unix socket into a "
                    "container)", state.name)
        return False

    def forget(self, task_arn: str) -> None:
        """A stopped task's endpoints answer no more (its credentials are no longer served)."""
        with self._lock:
            entry = self._tasks.pop(task_arn, None)
            if entry is None:
                return
            for token in entry.identities:
                self._tokens.pop(token, None)
            if entry.credentials_id:
                self._credentials.pop(entry.credentials_id, None)

    # ---- answers (called by the handlers) ------------------------------------------------------------------
    def ready(self, token: str, status: str) -> bool:
        with self._lock:
            entry = self._tasks.get(self._tokens.get(token, ""))
        if entry is None:
            return False
        entry.status[token] = status
        entry.ready[token].set()
        return True

    def _lookup(self, token: str) -> tuple[str | None, Any]:
        """The task ARN a container's token names, and that task's entry (None when gone)."""
        with self._lock:
            arn = self._tokens.get(token)
            return arn, self._tasks.get(arn or "")

    def metadata(self, token: str, *, task_level: bool) -> dict[str, Any] | None:
        arn, entry = self._lookup(token)
        if entry is None or self.store is None:
            return None
        with self.store.lock:
            task = self.store.tasks.get(arn)
            if task is None:
                return None
            identities = list(entry.identities.values())
            if task_level:
                return task_metadata(task, identities)
            identity = entry.identities[token]
            container = next((c for c in task.containers if c.name == identity.name), None)
            return container_metadata(identity, task, container, started_at=task.started_at)

    def stats(self, token: str, *, task_level: bool) -> dict[str, Any] | None:
        """Docker's stats document of the container (`/stats`), or of each container by Docker id
        (`/task/stats`), as the agent serves them."""
        arn, entry = self._lookup(token)
        if entry is None or self.store is None:
            return None
        with self.store.lock:
            task = self.store.tasks.get(arn)
            if task is None:
                return None
            wanted = entry.identities[token].name
            ids = [c.runtime_id for c in task.containers if c.runtime_id and (task_level or c.name == wanted)]
        if task_level:
            return {runtime_id: self.runtime.raw_stats(runtime_id) for runtime_id in ids}
        return (self.runtime.raw_stats(ids[0]) or {}) if ids else {}

    def credentials(self, credentials_id: str) -> dict[str, str] | None:
        with self._lock:
            entry = self._tasks.get(self._credentials.get(credentials_id, ""))
        if entry is None or entry.credentials is None:
            return None
        found = entry.credentials
        return {"RoleArn": found.role_arn, "AccessKeyId": found.access_key_id,
                "SecretAccessKey": found.secret_access_key, "Token": found.token,
                "Expiration": found.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}


def sweep_directories() -> int:
    """Remove socket directories whose owning process is gone (a killed kernel or `dojo up`); returns how many."""
    count = 0
    for path in Path(tempfile.gettempdir()).glob(f"{DIRECTORY_PREFIX}*-*"):
        owner = path.name[len(DIRECTORY_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
            count += 1
    return count


def _agent_handler(agent: TaskAgent) -> type[http.server.BaseHTTPRequestHandler]:
    class AgentHandler(_Quiet):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = [p for p in urlparse(self.path).path.split("/") if p]
            if len(parts) >= 2 and parts[0] == "v4" and parts[2:] in (["stats"], ["task", "stats"]):
                stats = agent.stats(parts[1], task_level=parts[2] == "task")
                if stats is not None:
                    return self.reply(200, stats)
            elif len(parts) >= 2 and parts[0] == "v4" and parts[2:] in ([], ["task"]):
                body = agent.metadata(parts[1], task_level=parts[2:] == ["task"])
                if body is not None:
                    return self.reply(200, body)
                return self.reply(404, {"error": "unknown container or path"})   # observed-like, not the agent's text
            if len(parts) == 3 and parts[:2] == ["v2", "credentials"]:
                found = agent.credentials(parts[2])
                if found is not None:
                    return self.reply(200, found)
                # The agent's answer to an unknown id (a stopped or role-less task): amazon-ecs-agent's credentials
                # handler (tmds/handlers/v1/credentials_handler.go): errPrefix + "Credentials not found",
                # ErrInvalidIDInRequest, HTTP 400.
                return self.reply(400, {"code": "InvalidIdInRequest", "message": "CredentialsV2Request: "
                                        "Credentials not found", "HTTPErrorCode": 400})
            return self.reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            status = (parse_qs(url.query).get("status") or ["listening"])[0]
            if len(parts) == 2 and parts[0] == "ready" and agent.ready(parts[1], status):
                return self.reply(200, {"ok": True})
            return self.reply(404, {"error": "unknown token"})

    return AgentHandler


def _relay_handler(agent: TaskAgent) -> type[http.server.BaseHTTPRequestHandler]:
    class RelayHandler(_Quiet):
        """Byte-exact request relay to moto (the signature covers path, headers and body), marked for IAM."""

        def relay(self) -> None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self.reply(411, {"error": "chunked request bodies are not relayed; send Content-Length"})
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            connection = http.client.HTTPConnection(agent.moto_host, agent.moto_port, timeout=120)
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        connection.putheader(name, value)
                connection.putheader(IAM_MARKER_HEADER, "1")
                connection.endheaders(body or None)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = relay  # noqa: N815

    return RelayHandler


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self) -> str:          # a Unix socket has no client address
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("agent: " + format, *args)

    def reply(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
