"""The demo image: built without a registry, rebuilt only when its inputs change, serving on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from ecsdojo import images
from tests.conftest import wait_for


def test_context_hash_changes_with_the_files_and_the_base(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    first = images.context_hash(tmp_path, "sha256:base1")
    assert images.context_hash(tmp_path, "sha256:base1") == first
    assert images.context_hash(tmp_path, "sha256:base2") != first
    (tmp_path / "app.py").write_text("print(2)\n")
    assert images.context_hash(tmp_path, "sha256:base1") != first


def test_the_debian_mirror_comes_from_the_machine():
    mirror, suite = images.debian_mirror_and_suite()
    assert mirror.startswith("http") and suite


@pytest.mark.docker
def test_a_second_build_with_nothing_changed_rebuilds_nothing(docker_client):
    images.build_images(progress=lambda line: None)
    lines: list[str] = []
    result = images.build_images(progress=lines.append)
    assert result.rebuilt is False
    assert result.app_image == images.APP_IMAGE
    assert any("up to date" in line for line in lines)
    assert result.base_path in {"present", "registry", "local-existing", "debootstrap"}
    tags = docker_client.images.get(images.APP_IMAGE).tags
    assert images.APP_IMAGE_LATEST in tags


@pytest.mark.docker
def test_the_image_serves_health_on_a_loopback_published_port(docker_client):
    """The foundation's promise: docker run -p 127.0.0.1::8080 ecsdojo/app:<version> serves /health."""
    container = docker_client.containers.run(images.APP_IMAGE, detach=True, ports={"8080/tcp": ("127.0.0.1", None)},
                                             labels={"ecsdojo.managed": "true", "ecsdojo.session": uuid.uuid4().hex},
                                             name=f"ecsdojo-test-image-{uuid.uuid4().hex[:8]}")
    try:
        container.reload()
        binding = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]
        assert binding["HostIp"] == "127.0.0.1"

        def health():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{binding['HostPort']}/health", timeout=1) as r:
                    return json.loads(r.read())
            except OSError:
                return None

        assert wait_for(health, timeout=15, message="/health in the container")["status"] == "ok"
    finally:
        container.remove(force=True)


class AptGet:
    """Records apt-get calls; "installs" debootstrap on the n-th install attempt."""

    def __init__(self, succeed_on_attempt: int | None):
        self.calls: list[list[str]] = []
        self.installed = False
        self.succeed_on_attempt = succeed_on_attempt

    def which(self, name):
        if name == "debootstrap":
            return "/usr/sbin/debootstrap" if self.installed else None
        return f"/usr/bin/{name}"

    def run(self, command, **_):
        import subprocess

        self.calls.append(command)
        attempts = sum(1 for call in self.calls if "install" in call)
        ok = "install" not in command or attempts == self.succeed_on_attempt
        self.installed = self.installed or ("install" in command and ok)
        return subprocess.CompletedProcess(command, 0 if ok else 100, "", "" if ok else "E: Unable to locate package")


def test_make_test_installs_debootstrap_itself_as_root_refreshing_the_package_list_once():
    from ecsdojo.images import ensure_debootstrap

    apt = AptGet(succeed_on_attempt=2)
    said = []
    ensure_debootstrap(progress=said.append, run=apt.run, which=apt.which, is_root=True)
    assert [call[:2] for call in apt.calls] == [["apt-get", "install"], ["apt-get", "update"], ["apt-get", "install"]]
    assert apt.installed and "installing it with apt-get" in said[0]


def test_without_root_debootstrap_is_not_installed_and_the_error_gives_the_one_command():
    from ecsdojo.images import DebootstrapMissingError, ensure_debootstrap

    apt = AptGet(succeed_on_attempt=1)
    with pytest.raises(DebootstrapMissingError, match=r"Run: sudo apt-get install -y debootstrap"):
        ensure_debootstrap(progress=print, run=apt.run, which=apt.which, is_root=False)
    assert apt.calls == []


def test_a_failed_install_says_what_apt_get_said():
    from ecsdojo.images import DebootstrapMissingError, ensure_debootstrap

    apt = AptGet(succeed_on_attempt=None)
    with pytest.raises(DebootstrapMissingError, match="Unable to locate package"):
        ensure_debootstrap(progress=print, run=apt.run, which=apt.which, is_root=True)


def test_a_missing_demo_image_is_a_sentence_with_the_fix_not_a_pull(monkeypatch):
    import docker.errors

    class Images:
        def get(self, name):
            raise docker.errors.ImageNotFound(name)

        def pull(self, *args, **kwargs):            # pragma: no cover - must never be called
            raise AssertionError("a benchmark tried a registry")

    monkeypatch.setattr(images, "_engine", lambda: type("Client", (), {"images": Images()})())
    assert "run `dojo images build` first" in images.demo_image_problem()


def test_dojo_bench_heal_without_an_engine_says_so_and_exits_1(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ecsdojo", "bench", "heal", "--kills", "1"], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 1
    assert "dojo bench: no Docker engine answers" in result.stderr and "Traceback" not in result.stderr
