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


def test_the_cloudformation_steps_fail_before_and_pass_after_deploy_and_update(local, tmp_path):
    shutil.copy(LAB / "service-stack.yaml", tmp_path / "service-stack.yaml")
    check = lambda step: verify("ecs-cli", step, endpoint_url=local.endpoint_url)  # noqa: E731
    ec2 = local.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = ",".join(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"][:2])
    deploy = ["cloudformation", "deploy", "--stack-name", "web-stack", "--template-file", "service-stack.yaml",
              "--parameter-overrides", f"VpcId={vpc}", f"Subnets={subnets}"]
    missing = check("8")
    assert not missing.passed and "cloudformation deploy" in missing.hint
    aws(local, tmp_path, *deploy)
    wait_for(lambda: check("8").passed, timeout=30, message="step 8 to pass")
    not_yet = check("9")
    assert not not_yet.passed and "APP_VERSION=v1" in not_yet.detail
    aws(local, tmp_path, *deploy, "AppVersion=v2")
    wait_for(lambda: check("9").passed, timeout=30, message="step 9 to pass")
    assert "cfn-web:2" in check("9").detail
