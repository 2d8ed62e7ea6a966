"""detect_runtime: Docker when an engine answers, else processes; DOJO_RUNTIME forces one."""

from __future__ import annotations

import pytest

import ecsdojo.runtime as runtime_package
from ecsdojo.runtime import RuntimeUnavailableError, detect_runtime
from ecsdojo.runtime.process import ProcessRuntime


def test_does_dojo_runtime_process_force_the_simulated_runtime(monkeypatch):
    monkeypatch.setenv("DOJO_RUNTIME", "process")
    runtime = detect_runtime()
    assert isinstance(runtime, ProcessRuntime) and runtime.simulated


def test_is_an_unknown_runtime_name_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOJO_RUNTIME", "podman")
    with pytest.raises(ValueError, match="DOJO_RUNTIME is 'podman'; expected one of: docker, process"):
        detect_runtime()


def test_does_detection_fall_back_to_processes_without_an_engine(monkeypatch):
    import ecsdojo.runtime.docker as docker_module

    def no_engine(**options):
        raise RuntimeUnavailableError("the Docker engine does not answer: test")

    monkeypatch.delenv("DOJO_RUNTIME", raising=False)
    monkeypatch.setattr(docker_module, "DockerRuntime", no_engine)
    assert isinstance(detect_runtime(), ProcessRuntime)
    with pytest.raises(RuntimeUnavailableError):
        detect_runtime("docker")          # forced: never falls back


@pytest.mark.docker
def test_is_docker_chosen_when_an_engine_answers(docker_client, monkeypatch):
    monkeypatch.delenv("DOJO_RUNTIME", raising=False)
    runtime = detect_runtime()
    assert runtime.name == "docker" and not runtime.simulated
    runtime.close()


def test_are_runtimes_exported_lazily():
    assert runtime_package.FakeRuntime.__name__ == "FakeRuntime"
    assert set(runtime_package.__all__) >= {"DockerRuntime", "ProcessRuntime", "FakeRuntime", "detect_runtime"}
