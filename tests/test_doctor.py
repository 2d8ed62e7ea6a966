"""`dojo doctor`: one line per check, ✓/✗ with a fix; exit 1 only for blocking problems."""

from __future__ import annotations

import pytest

from ecsdojo import doctor


def test_version_tuples_compare_like_versions():
    assert doctor.version_tuple("5.1.12") > doctor.version_tuple("5.1.2")
    assert doctor.version_tuple("4.2.0rc1") >= doctor.version_tuple("4.2")


def test_render_says_ready_only_without_blocking_problems():
    ok = doctor.CheckOutcome("Python", True, "3.11.7")
    docker_missing = doctor.CheckOutcome("Docker engine", False, "not reachable", "start Docker")
    assert "All checks pass" in doctor.render([ok])
    text = doctor.render([ok, docker_missing])
    assert "✗ Docker engine: not reachable" in text and "fix: start Docker" in text and "Ready, with" in text
    blocking = doctor.CheckOutcome("package moto", False, "4.0 (needs ≥ 5.1.12)", "pip install", blocking=True)
    assert "1 blocking problem" in doctor.render([ok, blocking])


def test_without_an_engine_the_doctor_says_labs_are_simulated(monkeypatch):
    import docker

    def no_engine(*args, **kwargs):
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.setattr(docker, "from_env", no_engine)
    outcome = doctor.check_docker()[0]
    assert not outcome.ok and not outcome.blocking
    assert "simulated containers" in outcome.detail


def test_the_installed_packages_satisfy_the_declared_bounds():
    assert all(outcome.ok for outcome in doctor.check_packages())


@pytest.mark.docker
def test_doctor_is_all_green_on_a_machine_with_an_engine_and_the_image(docker_client, app_image, capsys):
    from ecsdojo.cli import main

    code = main(["doctor"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "✗" not in output, output
    for name in ("Docker engine", "demo image", "a container runs", "port published on 127.0.0.1"):
        assert f"✓ {name}" in output
