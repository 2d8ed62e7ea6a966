"""Private Docker engines for tests that must break or restart an engine: never the shared one.

A private engine has its own socket, data-root, exec-root (so its own containerd), pidfile and its own bridge
interface (`--bridge none` would delete the host's docker0 and break every other container), and leaves
iptables alone. The demo image is copied into it with `docker save | docker load`.
Needs root, `dockerd` and `ip` (iproute2); skipped without them (failed under DOJO_REQUIRE_DOCKER=1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import docker_required, wait_for


def _need(condition: bool, what: str) -> None:
    if not condition:
        if docker_required():
            pytest.fail(f"the engine-restart test needs {what} (DOJO_REQUIRE_DOCKER=1)")
        pytest.skip(f"the engine-restart test needs {what}")


class PrivateEngine:
    def __init__(self, root: Path, bridge: str, extra_args: tuple[str, ...] = ()) -> None:
        self.root, self.bridge, self.extra_args = root, bridge, extra_args
        self.socket = root / "docker.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        log = (self.root / "dockerd.log").open("a")
        self.process = subprocess.Popen(
            ["dockerd", "--host", self.url, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
             "--bridge", self.bridge, "--iptables=false", "--ip-masq=false", *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.answers, timeout=60, interval=0.3, message=f"the private dockerd ({self.root / 'dockerd.log'})")

    def answers(self) -> bool:
        result = subprocess.run(["docker", "--host", self.url, "info", "--format", "{{.ID}}"], capture_output=True,
                                timeout=20)
        return result.returncode == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def private_engine(app_image: str, *, name: str, address: str, extra_args: tuple[str, ...] = (),
                   tags: tuple[str, ...] = ()):
    """A running private engine (PrivateEngine) holding the demo image under `app_image` and `tags`.
    `name` names its bridge (unique per test module); `address` is the bridge's own address, never sent to."""
    _need(os.geteuid() == 0, "root")
    _need(shutil.which("dockerd") is not None and shutil.which("ip") is not None, "dockerd and ip (iproute2)")
    root = Path(tempfile.mkdtemp(prefix="dojo-engine-", dir="/var/tmp"))     # short: the socket path is short
    bridge = f"{name}{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=True)
    engine = PrivateEngine(root, bridge, extra_args)
    try:
        subprocess.run(["ip", "addr", "add", address, "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        engine.start()
        save = subprocess.Popen(["docker", "save", app_image, *tags], stdout=subprocess.PIPE)
        subprocess.run(["docker", "--host", engine.url, "load"], stdin=save.stdout, check=True, capture_output=True,
                       timeout=300)
        save.wait(timeout=60)
        yield engine
    finally:
        engine.stop()
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True)
        subprocess.run(["rm", "-rf", str(root)], capture_output=True)
