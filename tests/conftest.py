"""Shared fixtures. Docker tests skip without an engine, unless DOJO_REQUIRE_DOCKER=1 makes them fail."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_IMAGE = "ecsdojo/app:latest"


def docker_required() -> bool:
    return os.environ.get("DOJO_REQUIRE_DOCKER", "") not in ("", "0", "false", "no")


def _engine():
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception as error:  # noqa: BLE001 - any failure means "no engine"
        return error


@pytest.fixture(autouse=True)
def isolated_dojo_home(tmp_path, monkeypatch):
    """Every test gets its own progress store and state folder; the learner's own is never touched."""
    monkeypatch.setenv("DOJO_HOME", str(tmp_path / "dojo-home"))


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client; skips (or fails under DOJO_REQUIRE_DOCKER=1) without an engine."""
    client = _engine()
    if isinstance(client, Exception):
        message = f"no Docker engine answers: {client}"
        if docker_required():
            pytest.fail(message + " (DOJO_REQUIRE_DOCKER=1)")
        pytest.skip(message)
    return client


@pytest.fixture(scope="session")
def app_image(docker_client) -> str:
    """The demo image; fails with the fix when it has not been built."""
    import docker.errors

    try:
        docker_client.images.get(APP_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{APP_IMAGE} is missing: run `dojo images build` first")
    return APP_IMAGE


def wait_for(condition: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> object:
    """Poll `condition` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


def pytest_collection_modifyitems(config, items):
    if not docker_required():
        return
    # Under DOJO_REQUIRE_DOCKER=1 a docker-marked test must not silently skip for lack of the fixture.
    for item in items:
        if item.get_closest_marker("docker") and "docker_client" not in getattr(item, "fixturenames", ()):
            item.fixturenames.append("docker_client")
