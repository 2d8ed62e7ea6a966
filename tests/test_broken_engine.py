"""An engine that answers but cannot start containers is said at once (issue 15, forensics that speak).

A PRIVATE dockerd (tests/engines.py) whose default OCI runtime is `/bin/false`: `docker info` answers, every
container start fails. `dojo doctor` must report a blocking problem with the engine's real error and an offline
fix, and LocalECS must refuse to start with that error instead of leaving tasks that never start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines import private_engine

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def broken_engine(docker_client, app_image):
    from ecsdojo import images

    with private_engine(app_image, name="dojobrk", address="10.213.215.1/24", tags=(images.APP_IMAGE,),
                        extra_args=("--add-runtime", "broken=/bin/false", "--default-runtime", "broken")) as engine:
        yield engine


def test_doctor_reports_an_engine_that_cannot_start_containers_as_blocking(broken_engine):
    dojo = Path(sys.executable).with_name("dojo")
    result = subprocess.run([str(dojo), "doctor"], capture_output=True, text=True, timeout=180,
                            env={**os.environ, "DOCKER_HOST": broken_engine.url})
    assert result.returncode == 1, result.stdout
    assert "✓ Docker engine" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "a container runs" in line)
    assert line.startswith("✗") and "cannot start a container" in line and "OCI runtime" in line
    assert "DOJO_RUNTIME=process" in result.stdout and "blocking problem" in result.stdout


def test_local_ecs_refuses_to_start_on_an_engine_that_cannot_start_containers(broken_engine, docker_client):
    import docker

    from ecsdojo.control.local import PREFLIGHT_IMAGE, LocalECS
    from ecsdojo.runtime import EngineCannotRunContainersError
    from ecsdojo.runtime.base import ContainerSpec, owned_labels
    from ecsdojo.runtime.docker import DockerRuntime

    # The shared engine passed its preflight first, as it does when the whole suite runs in one process. On
    # Docker 20.10 both engines report the same ID (it comes from /etc/docker/key.json): that must not make the
    # broken one count as checked.
    DockerRuntime(client=docker_client).preflight(ContainerSpec(
        name="ecsdojo-testbrk-preflight", image=PREFLIGHT_IMAGE, labels=owned_labels("testbrk"), command=("true",)))
    client = docker.DockerClient(base_url=broken_engine.url, timeout=30)
    with pytest.raises(EngineCannotRunContainersError) as raised:
        with LocalECS(runtime=DockerRuntime(client=client), load_balancers=False, autoscaling=False):
            pass                                            # (stopped again if it wrongly starts)
    assert "OCI runtime" in str(raised.value) and "dojo doctor" in str(raised.value)
    assert client.containers.list(all=True) == []          # the probe container is gone too
