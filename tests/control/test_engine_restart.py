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

import time

import pytest

from tests.conftest import wait_for
from tests.engines import private_engine as engine_for_test

pytestmark = [pytest.mark.docker, pytest.mark.slow]
BRIDGE_ADDRESS = "10.213.213.1/24"     # the private engine's bridge; nothing is ever sent to it


@pytest.fixture
def private_engine(docker_client, app_image):
    with engine_for_test(app_image, name="dojoci", address=BRIDGE_ADDRESS) as engine:
        yield engine


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
