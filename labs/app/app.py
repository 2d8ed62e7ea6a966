"""The ECS Dojo demo service: the container every lab runs.

Standard library only, so it runs on a minimal Python base image and as a plain process.

Endpoints
  /          JSON: task identity (from environment variables), hostname, version, request count
  /health    200 "ok" while healthy; stops answering once /hang was called
  /crash?code=N   the process exits with code N (default 1)
  /oom       allocates memory until the kernel's OOM killer ends the process
  /hang      the process keeps running but /health no longer answers
  /cpu?ms=N  burns CPU for N milliseconds (default 100) and reports how long it took
  /version   the value of APP_VERSION

Environment
  APP_VERSION        what /version answers (default v1)
  APP_EXIT_AT_START  exit at once with this code, before listening: a task that crashes on start, on Docker
                     and on the simulated runtime alike
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VERSION = os.environ.get("APP_VERSION", "v1")
IDENTITY_VARIABLES = ("ECS_CLUSTER", "ECS_SERVICE", "ECS_TASK_ARN", "ECS_TASK_DEFINITION", "ECS_CONTAINER_NAME")


class DemoState:
    """Mutable state shared by the request threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.hanging = threading.Event()
        self.hoard: list[bytearray] = []

    def count(self) -> int:
        with self.lock:
            self.requests += 1
            return self.requests


STATE = DemoState()


def burn_cpu(milliseconds: int) -> float:
    """Spin for ``milliseconds`` of wall time; returns the seconds actually spent."""
    start = time.perf_counter()
    deadline = start + milliseconds / 1000
    x = 0
    while time.perf_counter() < deadline:
        for i in range(2000):
            x += i * i
    return time.perf_counter() - start


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "ecsdojo-app"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out at once on keep-alive connections

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if os.environ.get("APP_ACCESS_LOG") == "1":
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def send_json(self, status: int, body: dict) -> None:
        payload = (json.dumps(body, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlparse(self.path)
        query = parse_qs(url.query)
        number = STATE.count()
        if url.path == "/":
            identity = {name.lower(): os.environ.get(name, "") for name in IDENTITY_VARIABLES}
            self.send_json(200, {"service": "ecsdojo-app", "version": VERSION, "hostname": socket.gethostname(),
                                 "pid": os.getpid(), "requests": number, **identity})
        elif url.path == "/health":
            if STATE.hanging.is_set():
                # Keep the connection open and never answer, as a wedged process would.
                while True:
                    time.sleep(3600)
            self.send_json(200, {"status": "ok", "version": VERSION})
        elif url.path == "/version":
            self.send_json(200, {"version": VERSION})
        elif url.path == "/crash":
            code = int(query.get("code", ["1"])[0])
            self.send_json(200, {"crashing": True, "exit_code": code})
            self.wfile.flush()
            sys.stderr.write(f"crash requested: exiting with code {code}\n")
            sys.stderr.flush()
            os._exit(code)
        elif url.path == "/hang":
            STATE.hanging.set()
            self.send_json(200, {"hanging": True})
        elif url.path == "/oom":
            self.send_json(200, {"allocating": True})
            self.wfile.flush()
            threading.Thread(target=allocate_forever, daemon=True).start()
        elif url.path == "/cpu":
            milliseconds = max(0, min(int(query.get("ms", ["100"])[0]), 60_000))
            spent = burn_cpu(milliseconds)
            self.send_json(200, {"burned_ms": round(spent * 1000, 1)})
        else:
            self.send_json(404, {"error": f"no such endpoint: {url.path}"})


def allocate_forever() -> None:
    """Grow memory in 16 MiB steps, touching every page, until the kernel kills us."""
    while True:
        STATE.hoard.append(bytearray(16 * 1024 * 1024))
        time.sleep(0.01)


def main() -> None:
    exit_code = os.environ.get("APP_EXIT_AT_START")
    if exit_code:
        sys.stderr.write(f"ecsdojo-app {VERSION}: APP_EXIT_AT_START={exit_code}, exiting\n")
        sys.exit(int(exit_code))
    # As PID 1 in a container, SIGTERM is ignored unless handled: exit promptly, as a well-behaved app does.
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    port = int(os.environ.get("PORT", "8080"))
    host = os.environ.get("HOST", "0.0.0.0")  # inside a container; the process runtime sets 127.0.0.1
    server = ThreadingHTTPServer((host, port), DemoHandler)
    server.daemon_threads = True
    sys.stderr.write(f"ecsdojo-app {VERSION} listening on {host}:{server.server_address[1]}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
