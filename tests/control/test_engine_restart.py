"""Does a service survive a restart of its Docker engine? On a PRIVATE dockerd, never the shared one.

The private engine has its own socket, data-root, exec-root (so its own containerd), pidfile and its own
bridge interface (`--bridge none` would delete the host's docker0 and break every other container), and
leaves iptables alone. The demo image is copied into it with `docker save | docker load`. LocalECS runs a
2-task service on it; the engine is stopped (SIGTERM, as `systemctl restart docker` does) and started again
with the same directories. Its containers die with it; the Docker runtime's event stream reconnects, the
control plane resyncs, and the service must be back at 2 RUNNING tasks on live containers, with nothing left
behind after LocalECS stops.

Needs root, `dockerd` and `ip` (iproute2); skipped without them (failed under DOJO_REQUIRE_DOCKER=1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import docker_required, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]
BRIDGE_ADDRESS = "10.213.213.1/24"     # the private engine's bridge; nothing is ever sent to it


def _need(condition: bool, what: str) -> None:
    if not condition:
        if docker_required():
            pytest.fail(f"the engine-restart test needs {what} (DOJO_REQUIRE_DOCKER=1)")
        pytest.skip(f"the engine-restart test needs {what}")


class PrivateEngine:
    def __init__(self, root: Path, bridge: str) -> None:
        self.root, self.bridge = root, bridge
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
             "--bridge", self.bridge, "--iptables=false", "--ip-masq=false"],
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


@pytest.fixture
def private_engine(docker_client, app_image):
    _need(os.geteuid() == 0, "root")
    _need(shutil.which("dockerd") is not None and shutil.which("ip") is not None, "dockerd and ip (iproute2)")
    root = Path(tempfile.mkdtemp(prefix="dojo-engine-", dir="/var/tmp"))     # short: the socket path is short
    bridge = f"dojoci{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=True)
    engine = PrivateEngine(root, bridge)
    try:
        subprocess.run(["ip", "addr", "add", BRIDGE_ADDRESS, "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        engine.start()
        save = subprocess.Popen(["docker", "save", app_image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "--host", engine.url, "load"], stdin=save.stdout, check=True, capture_output=True,
                       timeout=300)
        save.wait(timeout=60)
        yield engine
    finally:
        engine.stop()
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True)
        subprocess.run(["rm", "-rf", str(root)], capture_output=True)


def test_a_service_heals_after_its_docker_engine_restarts(private_engine):
    import docker

    from ecsdojo.control.local import LocalECS
    from ecsdojo.runtime.docker import DockerRuntime

    client = docker.DockerClient(base_url=private_engine.url, timeout=30)
    runtime = DockerRuntime(client=client, reconnect_max_s=2.0)
    with LocalECS(speed=20, runtime=runtime, load_balancers=False, autoscaling=False) as local:
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="web", containerDefinitions=[{
            "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
        ecs.create_service(cluster="c", serviceName="web", taskDefinition="web", desiredCount=2, launchType="EC2")
        local.wait_for_service("c", "web", timeout=90)
        before = {task.containers[0].runtime_id for task in local.tasks("c", service="web")}

        private_engine.stop()
        time.sleep(1.0)       # the outage itself: the engine is down while LocalECS keeps running
        private_engine.start()

        def healed():
            running = [c for c in client.containers.list(filters={"label": f"ecsdojo.session={local.session}"})
                       if c.status == "running"]
            tasks = local.tasks("c", service="web")
            ids = {task.containers[0].runtime_id for task in tasks if task.last_status == "RUNNING"}
            return len(running) == 2 and ids == {c.id for c in running} and not ids & before

        wait_for(healed, timeout=120, interval=0.5, message="2 RUNNING tasks on new containers after the restart")
        body = ecs.describe_services(cluster="c", services=["web"])["services"][0]
        assert (body["runningCount"], body["pendingCount"]) == (2, 0)
        stopped = ecs.describe_tasks(cluster="c", tasks=ecs.list_tasks(cluster="c", desiredStatus="STOPPED")[
            "taskArns"])["tasks"]
        assert len(stopped) >= 2 and all(task["stoppedReason"] for task in stopped)
        session = local.session
    assert client.containers.list(all=True, filters={"label": f"ecsdojo.session={session}"}) == []
