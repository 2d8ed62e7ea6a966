"""The terminal lab: the lesson's AWS CLI commands, each step checked by `dojo verify`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ecsdojo.control.local import LocalECS
from ecsdojo.labs import UnknownStepError, verify
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import ROOT, wait_for

LAB = ROOT / "labs" / "terminal"


@pytest.fixture
def local():
    with LocalECS(speed=100, runtime=FakeRuntime(), load_balancers=False, point_environment=False) as running:
        yield running


def aws(local, cwd, *words, ok=True):
    env = {**local.cli_environment(), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    result = subprocess.run([sys.executable, "-m", "awscli", *words], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_every_step_fails_before_and_passes_after_its_command(local, tmp_path):
    for name in ("container-definitions.json", "broken-fargate.json"):
        shutil.copy(LAB / name, tmp_path / name)
    check = lambda step: verify("ecs-cli", step, endpoint_url=local.endpoint_url)  # noqa: E731
    assert check("1").passed
    assert not check("2").passed
    aws(local, tmp_path, "ecs", "create-cluster", "--cluster-name", "my-cluster")
    assert check("2").passed
    assert not check("3").passed
    aws(local, tmp_path, "ecs", "register-task-definition", "--family", "my-task", "--container-definitions",
        "file://container-definitions.json")
    assert check("3").passed
    missing = check("4")
    assert not missing.passed and "--service-name" in missing.hint
    aws(local, tmp_path, "ecs", "create-service", "--cluster", "my-cluster", "--service-name", "my-service",
        "--task-definition", "my-task", "--desired-count", "2", "--launch-type", "EC2")
    wait_for(lambda: check("4").passed, timeout=20, message="step 4 to pass")
    aws(local, tmp_path, "ecs", "update-service", "--cluster", "my-cluster", "--service", "my-service",
        "--desired-count", "5")
    wait_for(lambda: check("5").passed, timeout=20, message="step 5 to pass")

    broken = aws(local, tmp_path, "ecs", "register-task-definition", "--cli-input-json",
                 "file://broken-fargate.json", ok=False)
    assert broken.returncode != 0 and "ClientException" in broken.stderr
    assert not check("6").passed
    fixed = json.loads((tmp_path / "broken-fargate.json").read_text())
    fixed["memory"] = "512"
    (tmp_path / "fargate.json").write_text(json.dumps(fixed))
    aws(local, tmp_path, "ecs", "register-task-definition", "--cli-input-json", "file://fargate.json")
    assert check("6").passed

    assert not check("7").passed
    aws(local, tmp_path, "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
        "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/my-cluster/my-service",
        "--min-capacity", "1", "--max-capacity", "10")
    result = check("7")
    assert result.passed and "no scaling policy yet" in result.detail


def test_an_unknown_step_names_the_known_ones(local):
    with pytest.raises(UnknownStepError, match="steps: 1, 2"):
        verify("ecs-cli", "99", endpoint_url=local.endpoint_url)
