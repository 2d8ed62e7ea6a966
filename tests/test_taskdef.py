"""Does ecsdojo.taskdef reject what ECS rejects, with the AWS error code and wording, and accept the rest?"""

from __future__ import annotations

import copy
import doctest
import json
import re
from collections.abc import Callable
from typing import Any

import botocore.loaders
import pytest
from moto.core.exceptions import JsonRESTError

from ecsdojo.control.moto.errors import as_moto_error

import ecsdojo.taskdef as taskdef
from ecsdojo.taskdef import (
    FARGATE_TASK_SIZES,
    RESERVED_HOST_PORTS,
    explain,
    fargate_memory_choices,
    parse_cpu,
    parse_memory,
    validate_launch,
    validate_task_definition,
)

# --------------------------------------------------------------------------------------------- factories

def make_container(**overrides: Any) -> dict[str, Any]:
    container = {"name": "web", "image": "ecsdojo/app:0.1.0", "memory": 256,
                 "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}
    container.update(overrides)
    return {key: value for key, value in container.items() if value is not None}


def make_ec2_definition(*containers: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    definition = {"family": "my-task", "containerDefinitions": list(containers) or [make_container()]}
    definition.update(overrides)
    return {key: value for key, value in definition.items() if value is not None}


def make_fargate_definition(*containers: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    defaults = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"}
    defaults.update(overrides)
    return make_ec2_definition(*(containers or [make_container(memory=None)]), **defaults)


def with_container(definition: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of `definition` whose first container gets `overrides` (None deletes a key)."""
    changed = copy.deepcopy(definition)
    first = changed["containerDefinitions"][0]
    first.update(overrides)
    changed["containerDefinitions"][0] = {key: value for key, value in first.items() if value is not None}
    return changed


def with_task(definition: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    changed = copy.deepcopy(definition)
    changed.update(overrides)
    return {key: value for key, value in changed.items() if value is not None}


AWSVPC_NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0abc"], "securityGroups": ["sg-0abc"]}}

# ------------------------------------------------------------------------ one broken variant per rule

# (id, valid base, how to break it, expected class, words the message must contain)
RegisterCase = tuple[str, Callable[[], dict], Callable[[dict], dict], type, tuple[str, ...]]
REGISTER_CASES: list[RegisterCase] = [
    ("family missing", make_ec2_definition, lambda d: with_task(d, family=None),
     taskdef.MissingFamilyError, ("Family",)),
    ("family with a space", make_ec2_definition, lambda d: with_task(d, family="my task"),
     taskdef.InvalidFamilyError, ("Family", "my task")),
    ("family longer than 255", make_ec2_definition, lambda d: with_task(d, family="f" * 256),
     taskdef.InvalidFamilyError, ("Family",)),
    ("no containers", make_ec2_definition, lambda d: with_task(d, containerDefinitions=[]),
     taskdef.EmptyContainerListError, ("Container list",)),
    ("container without name", make_ec2_definition, lambda d: with_container(d, name=None),
     taskdef.MissingContainerNameError, ("Container.name", "containerDefinitions[0]")),
    ("container name with a dot", make_ec2_definition, lambda d: with_container(d, name="web.1"),
     taskdef.InvalidContainerNameError, ("Container.name", "web.1")),
    ("two containers named alike", make_ec2_definition,
     lambda d: with_task(d, containerDefinitions=[make_container(), make_container()]),
     taskdef.DuplicateContainerNameError, ("web",)),
    ("container without image", make_ec2_definition, lambda d: with_container(d, image=None),
     taskdef.MissingContainerImageError, ("Container.image", "web")),
    ("no essential container", make_ec2_definition, lambda d: with_container(d, essential=False),
     taskdef.NoEssentialContainerError, ("essential",)),
    ("unknown network mode", make_ec2_definition, lambda d: with_task(d, networkMode="nat"),
     taskdef.InvalidNetworkModeError, ("network mode", "nat")),
    ("unknown compatibility", make_ec2_definition, lambda d: with_task(d, requiresCompatibilities=["LAMBDA"]),
     taskdef.InvalidCompatibilityError, ("LAMBDA",)),
    ("EC2 container without memory", make_ec2_definition, lambda d: with_container(d, memory=None),
     taskdef.ContainerMemoryRequiredError, ("web", "'memory'", "'memoryReservation'")),
    ("memoryReservation above memory", make_ec2_definition,
     lambda d: with_container(d, memory=256, memoryReservation=512),
     taskdef.MemoryReservationAboveMemoryError, ("web", "memoryReservation")),
    ("container memory above task memory", make_ec2_definition,
     lambda d: with_task(with_container(d, memory=1024), memory="512"),
     taskdef.ContainerMemoryAboveTaskError, ("web", "'memory'")),
    ("EC2 task cpu below 128", make_ec2_definition, lambda d: with_task(d, cpu="64"),
     taskdef.InvalidTaskCpuError, ("'cpu'", "64")),
    ("task memory unparseable", make_ec2_definition, lambda d: with_task(d, memory="lots"),
     taskdef.InvalidTaskMemoryError, ("'memory'", "lots")),
    ("Fargate without awsvpc", make_fargate_definition, lambda d: with_task(d, networkMode="bridge"),
     taskdef.FargateNetworkModeError, ("awsvpc", "bridge")),
    ("Fargate with networkMode omitted", make_fargate_definition, lambda d: with_task(d, networkMode=None),
     taskdef.FargateNetworkModeError, ("awsvpc",)),
    ("Fargate without task cpu", make_fargate_definition, lambda d: with_task(d, cpu=None),
     taskdef.FargateTaskCpuRequiredError, ("'cpu'", "task level")),
    ("Fargate without task memory", make_fargate_definition, lambda d: with_task(d, memory=None),
     taskdef.FargateTaskMemoryRequiredError, ("'memory'", "task level")),
    ("Fargate pair 1024 CPU / 1024 memory", make_fargate_definition,
     lambda d: with_task(d, cpu="1024", memory="1024"),
     taskdef.InvalidFargateCpuMemoryError, ("1024 CPU, 1024 memory",)),
    ("Fargate Windows below 1 vCPU", make_fargate_definition,
     lambda d: with_task(d, runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}),
     taskdef.InvalidFargateCpuMemoryError, ("256 CPU",)),
    ("Fargate with ipcMode", make_fargate_definition, lambda d: with_task(d, ipcMode="host"),
     taskdef.FargateIpcModeError, ("ipcMode",)),
    ("Fargate with pidMode host", make_fargate_definition, lambda d: with_task(d, pidMode="host"),
     taskdef.FargatePidModeError, ("pidMode", "host")),
    ("container memories sum above task", make_fargate_definition,
     lambda d: with_task(d, containerDefinitions=[make_container(memory=300),
                                                   make_container(name="sidecar", memory=300)]),
     taskdef.ContainerMemorySumAboveTaskError, ("'memory'", "600")),
    ("container cpus sum above task", make_fargate_definition,
     lambda d: with_task(d, containerDefinitions=[make_container(cpu=200),
                                                   make_container(name="sidecar", cpu=100)]),
     taskdef.ContainerCpuSumAboveTaskError, ("'cpu'", "300")),
    ("awsvpc hostPort differs", make_fargate_definition,
     lambda d: with_container(d, portMappings=[{"containerPort": 8080, "hostPort": 80}]),
     taskdef.HostPortMismatchError, ("networkMode=awsvpc", "web", "hostPort 80")),
    ("host mode hostPort differs", lambda: make_ec2_definition(networkMode="host"),
     lambda d: with_container(d, portMappings=[{"containerPort": 8080, "hostPort": 80}]),
     taskdef.HostPortMismatchError, ("networkMode=host", "web")),
    ("containerPort above 65535", make_ec2_definition,
     lambda d: with_container(d, portMappings=[{"containerPort": 70000}]),
     taskdef.PortOutOfRangeError, ("web", "containerPort", "70000")),
    ("hostPort negative", make_ec2_definition,
     lambda d: with_container(d, portMappings=[{"containerPort": 80, "hostPort": -1}]),
     taskdef.PortOutOfRangeError, ("web", "hostPort")),
    ("port mapping without containerPort", make_ec2_definition,
     lambda d: with_container(d, portMappings=[{"hostPort": 80}]),
     taskdef.MissingContainerPortError, ("web", "containerPort")),
    ("port mappings with networkMode none",
     lambda: make_ec2_definition(make_container(portMappings=None), networkMode="none"),
     lambda d: with_container(d, portMappings=[{"containerPort": 80}]),
     taskdef.PortMappingsWithNoneNetworkError, ("networkMode=none", "web")),
    ("links with awsvpc", make_fargate_definition, lambda d: with_container(d, links=["db"]),
     taskdef.LinksNotSupportedError, ("Links", "networkMode=awsvpc", "web")),
    ("hostname with awsvpc", make_fargate_definition, lambda d: with_container(d, hostname="web1"),
     taskdef.HostnameNotSupportedError, ("hostname", "web")),
    ("healthCheck without command", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": []}),
     taskdef.HealthCheckCommandMissingError, ("web", "command")),
    ("healthCheck command without CMD", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["curl", "-f", "http://localhost/"]}),
     taskdef.HealthCheckCommandPrefixError, ("web", "CMD-SHELL", "curl")),
    ("healthCheck CMD-SHELL alone", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD-SHELL"]}),
     taskdef.HealthCheckCommandPrefixError, ("web",)),
    ("healthCheck interval 4", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "interval": 4}),
     taskdef.HealthCheckBelowMinimumError, ("interval", "5", "web")),
    ("healthCheck interval 301", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "interval": 301}),
     taskdef.HealthCheckAboveMaximumError, ("interval", "300", "web")),
    ("healthCheck timeout 1", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "timeout": 1}),
     taskdef.HealthCheckBelowMinimumError, ("timeout", "2")),
    ("healthCheck timeout 61", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "interval": 300, "timeout": 61}),
     taskdef.HealthCheckAboveMaximumError, ("timeout", "60")),
    ("healthCheck retries 0", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "retries": 0}),
     taskdef.HealthCheckBelowMinimumError, ("retries", "1")),
    ("healthCheck retries 11", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "retries": 11}),
     taskdef.HealthCheckAboveMaximumError, ("retries", "10")),
    ("healthCheck startPeriod -1", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "startPeriod": -1}),
     taskdef.HealthCheckBelowMinimumError, ("startPeriod", "0")),
    ("healthCheck startPeriod 301", make_ec2_definition,
     lambda d: with_container(d, healthCheck={"command": ["CMD", "true"], "startPeriod": 301}),
     taskdef.HealthCheckAboveMaximumError, ("startPeriod", "300")),
    ("dependsOn an unknown container", make_ec2_definition,
     lambda d: with_container(d, dependsOn=[{"containerName": "db", "condition": "START"}]),
     taskdef.UnknownDependencyError, ("'db'", "web")),
    ("dependsOn an unknown condition", make_ec2_definition,
     lambda d: with_task(d, containerDefinitions=[
         make_container(dependsOn=[{"containerName": "init", "condition": "READY"}]),
         make_container(name="init", essential=False, portMappings=None)]),
     taskdef.InvalidDependencyConditionError, ("READY", "web")),
    ("SUCCESS on an essential container", make_ec2_definition,
     lambda d: with_task(d, containerDefinitions=[
         make_container(dependsOn=[{"containerName": "init", "condition": "SUCCESS"}]),
         make_container(name="init", portMappings=None)]),
     taskdef.EssentialCompletionDependencyError, ("SUCCESS", "init", "web")),
    ("dependsOn cycle", make_ec2_definition,
     lambda d: with_task(d, containerDefinitions=[
         make_container(dependsOn=[{"containerName": "b", "condition": "START"}]),
         make_container(name="b", portMappings=None, dependsOn=[{"containerName": "web", "condition": "START"}])]),
     taskdef.DependencyCycleError, ("web -> b -> web",)),
    ("awslogs without group", make_ec2_definition,
     lambda d: with_container(d, logConfiguration={"logDriver": "awslogs", "options": {"awslogs-region": "us-east-1"}}),
     taskdef.AwslogsOptionsError, ("awslogs-group", "web")),
    ("Fargate awslogs without execution role", make_fargate_definition,
     lambda d: with_task(with_container(d, logConfiguration={"logDriver": "awslogs", "options": {
         "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1"}}), executionRoleArn=None),
     taskdef.FargateAwslogsExecutionRoleError, ("execution role", "awslogs", "web")),
    ("Fargate ECR image without execution role", make_fargate_definition,
     lambda d: with_task(with_container(d, image="123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"),
                         executionRoleArn=None),
     taskdef.FargateEcrExecutionRoleError, ("execution role", "ECR", "web")),
    # issue 14: accepted before, refused by ECS
    ("image with characters ECS refuses", make_ec2_definition,
     lambda d: with_container(d, image="UPPER/Case:tag!@#$"),
     taskdef.InvalidContainerImageError, ("Container.image", "web")),
    ("image digest that is not sha256 and 64 hex digits", make_ec2_definition,
     lambda d: with_container(d, image="ecsdojo/app@sha256:abc"),
     taskdef.InvalidContainerImageError, ("Container.image",)),
    ("container memory -5", make_ec2_definition, lambda d: with_container(d, memory=-5),
     taskdef.InvalidContainerMemoryError, ("web", "'memory'", "-5")),
    ("container memoryReservation 0", make_ec2_definition, lambda d: with_container(d, memoryReservation=0),
     taskdef.InvalidContainerMemoryError, ("web", "'memoryReservation'")),
    ("stopTimeout 500", make_ec2_definition, lambda d: with_container(d, stopTimeout=500),
     taskdef.StopTimeoutOutOfRangeError, ("web", "stopTimeout", "120", "500")),
    ("stopTimeout -1", make_ec2_definition, lambda d: with_container(d, stopTimeout=-1),
     taskdef.StopTimeoutOutOfRangeError, ("stopTimeout",)),
    ("Fargate stopTimeout 1", make_fargate_definition, lambda d: with_container(d, stopTimeout=1),
     taskdef.StopTimeoutOutOfRangeError, ("stopTimeout", "2", "120")),
    ("task definition over 64 KiB", make_ec2_definition,
     lambda d: with_container(d, environment=[{"name": "BIG", "value": "x" * 70_000}]),
     taskdef.TaskDefinitionTooLargeError, ("64 KiB",)),
]


@pytest.mark.parametrize("case", REGISTER_CASES, ids=[case[0] for case in REGISTER_CASES])
def test_does_each_registration_rule_accept_the_valid_base_and_reject_the_broken_variant(case: RegisterCase):
    _, make_base, breaks, expected, words = case
    base = make_base()
    assert validate_task_definition(base) == []
    with pytest.raises(expected) as caught:
        validate_task_definition(breaks(base))
    error = caught.value
    assert error.code == "ClientException"
    assert error.message == str(error)
    as_moto = as_moto_error(error)          # what control/moto/ raises inside moto's request handling
    assert isinstance(as_moto, JsonRESTError) and as_moto.error_type == "ClientException"
    assert as_moto.message == error.message
    for word in words:
        assert word in error.message, f"{word!r} missing from {error.message!r}"


@pytest.mark.parametrize("image", ["ecsdojo/app:0.1.0", "UPPER/Case:tag", "quay.io/org/app:v1#note",
                                   "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
                                   "ecsdojo/app@sha256:" + "a" * 64])
def test_are_images_ecs_accepts_registered_even_when_docker_would_refuse_them_later(image):
    """ECS checks the characters only; Docker's own reference rules (lowercase repository, ...) fail at pull."""
    assert validate_task_definition(with_container(make_ec2_definition(), image=image)) == []


def test_are_the_edges_of_the_new_ranges_accepted():
    assert validate_task_definition(with_container(make_ec2_definition(), stopTimeout=120, memory=6)) == []
    assert validate_task_definition(with_container(make_fargate_definition(), stopTimeout=2)) == []


def test_does_essential_default_to_true_when_a_sidecar_opts_out():
    definition = make_ec2_definition(make_container(), make_container(name="log", essential=False, portMappings=None))
    assert validate_task_definition(definition) == []


def test_is_task_level_memory_enough_for_ec2_containers_without_memory():
    assert validate_task_definition(make_ec2_definition(make_container(memory=None), memory="512")) == []


def test_does_memory_reservation_alone_satisfy_the_memory_rule():
    assert validate_task_definition(make_ec2_definition(make_container(memory=None, memoryReservation=128))) == []


def test_are_links_fine_in_bridge_mode():
    definition = make_ec2_definition(make_container(links=["db"]), make_container(name="db", portMappings=None))
    assert validate_task_definition(definition) == []


def test_may_awsvpc_and_host_mappings_omit_host_port_or_repeat_it():
    for mode in ("awsvpc", "host"):
        for mapping in ({"containerPort": 8080}, {"containerPort": 8080, "hostPort": 8080}):
            assert validate_task_definition(make_ec2_definition(make_container(portMappings=[mapping]),
                                                                networkMode=mode)) == []


def test_does_a_valid_health_check_with_defaults_and_extremes_pass():
    for check in ({"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]},
                  {"command": ["CMD", "true"], "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0},
                  {"command": ["CMD", "true"], "interval": 300, "timeout": 60, "retries": 10, "startPeriod": 300}):
        assert validate_task_definition(make_ec2_definition(make_container(healthCheck=check))) == []


def test_do_dependencies_with_all_conditions_pass_when_well_formed():
    definition = make_ec2_definition(
        make_container(dependsOn=[{"containerName": "init", "condition": "SUCCESS"},
                                  {"containerName": "db", "condition": "HEALTHY"},
                                  {"containerName": "log", "condition": "START"}]),
        make_container(name="init", essential=False, portMappings=None),
        make_container(name="db", portMappings=None, healthCheck={"command": ["CMD", "true"]}),
        make_container(name="log", portMappings=None))
    assert validate_task_definition(definition) == []


# ------------------------------------------------------------------------------------------------ warnings

@pytest.mark.parametrize(("definition", "warning", "words"), [
    (make_ec2_definition(make_container(healthCheck={"command": ["CMD", "true"], "interval": 10, "timeout": 10})),
     taskdef.HealthCheckTimeoutWarning, ("timeout 10", "interval 10")),
    (make_ec2_definition(make_container(portMappings=[{"containerPort": 22, "hostPort": 22}])),
     taskdef.ReservedHostPortWarning, ("22",)),
    (make_ec2_definition(make_container(portMappings=[{"containerPort": 51679}]), networkMode="host"),
     taskdef.ReservedHostPortWarning, ("51679",)),
    (make_ec2_definition(make_container(portMappings=[{"containerPort": 80, "hostPort": 50000}])),
     taskdef.EphemeralHostPortWarning, ("50000",)),
    (make_ec2_definition(make_container(portMappings=[{"containerPort": 80, "protocol": "TCP"}])),
     taskdef.UnknownProtocolWarning, ("'TCP'", "tcp")),
    (make_ec2_definition(make_container(memory=4)), taskdef.TinyContainerMemoryWarning, ("4 MiB",)),
    (make_ec2_definition(make_container(dependsOn=[{"containerName": "db", "condition": "HEALTHY"}]),
                         make_container(name="db", portMappings=None)),
     taskdef.HealthyDependencyWithoutHealthCheckWarning, ("'db'", "HEALTHY")),
])
def test_are_suspicious_but_registrable_settings_returned_as_warnings(definition, warning, words):
    warnings = validate_task_definition(definition)
    assert [type(found) for found in warnings] == [warning]
    assert isinstance(warnings[0], Warning) and warnings[0].container == "web"
    for word in words:
        assert word in str(warnings[0])


def test_are_reserved_ports_only_a_warning_because_aws_rejects_them_at_placement():
    assert RESERVED_HOST_PORTS == {22, 2375, 2376, 51678, 51679, 51680}
    awsvpc = make_fargate_definition(make_container(memory=None, portMappings=[{"containerPort": 22}]))
    assert validate_task_definition(awsvpc) == []   # the port lives on the task's own network interface
    dynamic = make_ec2_definition(make_container(portMappings=[{"containerPort": 22}]))
    assert validate_task_definition(dynamic) == []  # bridge without hostPort: a dynamic host port


# --------------------------------------------------------------------------------------- the Fargate table

VALID_FARGATE_PAIRS = [(cpu, memory) for cpu, memories in FARGATE_TASK_SIZES.items() for memory in memories]


def test_is_the_fargate_table_the_documented_one():
    assert fargate_memory_choices(256) == [512, 1024, 2048]
    assert fargate_memory_choices(512) == [1024, 2048, 3072, 4096]
    assert fargate_memory_choices(1024) == list(range(2048, 8193, 1024))
    assert fargate_memory_choices(2048) == list(range(4096, 16385, 1024))
    assert fargate_memory_choices(4096) == list(range(8192, 30721, 1024))
    assert fargate_memory_choices(8192) == list(range(16 * 1024, 60 * 1024 + 1, 4 * 1024))
    assert fargate_memory_choices(16384) == list(range(32 * 1024, 120 * 1024 + 1, 8 * 1024))
    assert fargate_memory_choices(300) == []
    assert len(VALID_FARGATE_PAIRS) == 3 + 4 + 7 + 13 + 23 + 12 + 12


@pytest.mark.parametrize(("cpu", "memory"), VALID_FARGATE_PAIRS)
def test_does_every_valid_fargate_pair_register(cpu, memory):
    assert validate_task_definition(make_fargate_definition(cpu=str(cpu), memory=str(memory))) == []


def _neighbours(cpu: int) -> list[int]:
    memories = FARGATE_TASK_SIZES[cpu]
    step = 1024 if cpu == 256 else memories[1] - memories[0]
    candidates = {memories[0] - step, memories[-1] + step, memories[0] + step // 2, memories[-1] - 1}
    if cpu == 256:
        candidates |= {1536}                     # between 1 GB and 2 GB: not offered for 0.25 vCPU
    return sorted(value for value in candidates if value > 0 and value not in memories)


INVALID_FARGATE_PAIRS = [(cpu, memory) for cpu in FARGATE_TASK_SIZES for memory in _neighbours(cpu)] + [
    (cpu, 2048) for cpu in (128, 384, 768, 1536, 3072, 32768)]


@pytest.mark.parametrize(("cpu", "memory"), INVALID_FARGATE_PAIRS)
def test_does_every_neighbour_of_the_fargate_table_fail(cpu, memory):
    with pytest.raises(taskdef.InvalidFargateCpuMemoryError) as caught:
        validate_task_definition(make_fargate_definition(cpu=str(cpu), memory=str(memory)))
    assert caught.value.code == "ClientException"
    assert caught.value.message == (f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                                    "See the Amazon ECS documentation for the valid values.")


@pytest.mark.parametrize(("cpu", "memory"), [("0.25 vCPU", "0.5GB"), ("0.25 vcpu", "1GB"), (".25 vCPU", "2 GB"),
                                             ("1 vCPU", "2 GB"), ("2 vcpu", "16GB"), ("16 vCPU", "120 GB"),
                                             (256, 512)])
def test_are_the_documented_string_forms_accepted(cpu, memory):
    assert validate_task_definition(make_fargate_definition(cpu=cpu, memory=memory)) == []


def test_do_parse_cpu_and_parse_memory_convert_as_ecs_does():
    assert [parse_cpu(value) for value in ("256", 256, "1 vCPU", "1 vcpu", "0.5 vCPU", ".25 vCPU", "2vCPU")] == \
        [256, 256, 1024, 1024, 512, 256, 2048]
    assert [parse_memory(value) for value in ("512", 512, "1GB", "1 GB", "0.5 GB", "30gb")] == \
        [512, 512, 1024, 1024, 512, 30720]
    for bad in ("", "abc", "0", "-1", "1.5", "0.1 vCPU", True, None, "1 GHz"):
        with pytest.raises(taskdef.InvalidTaskCpuError):
            parse_cpu(bad)
    for bad in ("", "1 TB", "0", "1.5", "0.0001 GB", False, None):
        with pytest.raises(taskdef.InvalidTaskMemoryError):
            parse_memory(bad)


# ----------------------------------------------------------------------------------- RunTask/CreateService

def describe_output(definition: dict[str, Any]) -> dict[str, Any]:
    """What DescribeTaskDefinition returns in moto: the request plus compatibilities and a networkMode."""
    described = copy.deepcopy(definition)
    fargate = "FARGATE" in (definition.get("requiresCompatibilities") or [])
    described["compatibilities"] = ["EC2", "FARGATE"] if fargate else ["EC2"]
    described.setdefault("networkMode", "awsvpc" if fargate else "bridge")
    return described


LaunchCase = tuple[str, dict, dict, type, str]
LAUNCH_CASES: list[LaunchCase] = [
    ("launch type not in the enum", describe_output(make_ec2_definition()), {"launch_type": "LAMBDA"},
     taskdef.InvalidLaunchTypeError, "LAMBDA"),
    ("launch type and strategy", describe_output(make_ec2_definition()),
     {"launch_type": "EC2", "capacity_provider_strategy": [{"capacityProvider": "my-asg"}]},
     taskdef.LaunchTypeAndCapacityProviderError, "capacity provider strategy"),
    ("EC2 definition on FARGATE", describe_output(make_ec2_definition()), {"launch_type": "FARGATE"},
     taskdef.IncompatibleLaunchTypeError, "launch_type FARGATE"),
    ("EC2 definition on a FARGATE_SPOT strategy", describe_output(make_ec2_definition()),
     {"capacity_provider_strategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
     taskdef.IncompatibleLaunchTypeError, "launch_type FARGATE"),
    ("awsvpc definition on EXTERNAL", describe_output(make_fargate_definition()),
     {"launch_type": "EXTERNAL", "network_configuration": AWSVPC_NETWORK},
     taskdef.IncompatibleLaunchTypeError, "launch_type EXTERNAL"),
    ("Fargate without network configuration", describe_output(make_fargate_definition()), {"launch_type": "FARGATE"},
     taskdef.MissingNetworkConfigurationError, "networkMode 'awsvpc'"),
    ("Fargate with empty awsvpcConfiguration", describe_output(make_fargate_definition()),
     {"launch_type": "FARGATE", "network_configuration": {"awsvpcConfiguration": {}}},
     taskdef.MissingNetworkConfigurationError, "networkMode 'awsvpc'"),
    ("Fargate with no subnets", describe_output(make_fargate_definition()),
     {"launch_type": "FARGATE", "network_configuration": {"awsvpcConfiguration": {"subnets": []}}},
     taskdef.EmptySubnetsError, "subnets"),
    ("EC2 awsvpc without network configuration", describe_output(make_ec2_definition(networkMode="awsvpc")),
     {"launch_type": "EC2"}, taskdef.MissingNetworkConfigurationError, "networkMode 'awsvpc'"),
    ("bridge definition with network configuration", describe_output(make_ec2_definition()),
     {"launch_type": "EC2", "network_configuration": AWSVPC_NETWORK},
     taskdef.NetworkConfigurationNotValidError, "bridge"),
    ("EC2 launch on an empty cluster", describe_output(make_ec2_definition()),
     {"launch_type": "EC2", "container_instance_count": 0}, taskdef.NoContainerInstancesError, "Container Instances"),
]


@pytest.mark.parametrize("case", LAUNCH_CASES, ids=[case[0] for case in LAUNCH_CASES])
def test_does_each_launch_rule_raise_an_invalid_parameter_exception(case: LaunchCase):
    _, definition, options, expected, word = case
    options = {"launch_type": None, "network_configuration": None, **options}
    with pytest.raises(expected) as caught:
        validate_launch(definition, operation="RunTask", **options)
    assert caught.value.code == "InvalidParameterException"
    assert as_moto_error(caught.value).error_type == "InvalidParameterException"
    assert word in caught.value.message


@pytest.mark.parametrize(("definition", "options"), [
    (describe_output(make_ec2_definition()), {"launch_type": "EC2", "network_configuration": None}),
    (describe_output(make_ec2_definition()), {"launch_type": None, "network_configuration": None}),
    (describe_output(make_ec2_definition()), {"launch_type": "EXTERNAL", "network_configuration": None,
                                              "container_instance_count": 2}),
    (describe_output(make_fargate_definition()), {"launch_type": "FARGATE", "network_configuration": AWSVPC_NETWORK}),
    (describe_output(make_fargate_definition()), {"launch_type": "EC2", "network_configuration": AWSVPC_NETWORK}),
    (describe_output(make_fargate_definition()), {"launch_type": None, "network_configuration": AWSVPC_NETWORK,
                                                  "capacity_provider_strategy": [{"capacityProvider": "FARGATE"}]}),
    (make_fargate_definition(), {"launch_type": "FARGATE", "network_configuration": AWSVPC_NETWORK}),
])
def test_do_compatible_launches_pass(definition, options):
    for operation in ("RunTask", "CreateService", "UpdateService"):
        assert validate_launch(definition, operation=operation, **options) is None


def test_is_an_unknown_operation_a_programming_error():
    with pytest.raises(ValueError):
        validate_launch(make_ec2_definition(), launch_type="EC2", network_configuration=None, operation="Run")


# -------------------------------------------------------------------------------------- the lesson's examples

CONTAINER_DEFINITIONS_JSON = """
[
  {
    "name": "web",
    "image": "ecsdojo/app:0.1.0",
    "cpu": 256,
    "memory": 512,
    "essential": true,
    "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
  }
]
"""


def test_does_the_lessons_ec2_style_register_task_definition_pass():
    """aws ecs register-task-definition --family my-task --container-definitions file://container-definitions.json"""
    request = {"family": "my-task", "containerDefinitions": json.loads(CONTAINER_DEFINITIONS_JSON)}
    assert validate_task_definition(request) == []
    validate_launch(describe_output(request), launch_type="EC2", network_configuration=None, operation="CreateService")


def test_does_the_lessons_fargate_create_service_without_network_configuration_fail_like_aws():
    """aws ecs create-service ... --launch-type FARGATE (no --network-configuration)"""
    definition = describe_output(make_fargate_definition(*json.loads(CONTAINER_DEFINITIONS_JSON), cpu="256",
                                                         memory="512"))
    with pytest.raises(taskdef.MissingNetworkConfigurationError) as caught:
        validate_launch(definition, launch_type="FARGATE", network_configuration=None, operation="CreateService")
    assert caught.value.code == "InvalidParameterException"
    assert caught.value.message == "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    assert "--network-configuration" in explain(caught.value) and "CreateService" in explain(caught.value)


def test_does_the_lessons_ec2_definition_refuse_the_fargate_launch_type():
    request = {"family": "my-task", "containerDefinitions": json.loads(CONTAINER_DEFINITIONS_JSON)}
    with pytest.raises(taskdef.IncompatibleLaunchTypeError) as caught:
        validate_launch(describe_output(request), launch_type="FARGATE", network_configuration=None,
                        operation="CreateService")
    assert caught.value.message.startswith("Task definition does not support launch_type FARGATE.")


# ----------------------------------------------------------------------- error classes, hints, API model

def sample_values(cls: type) -> dict[str, Any]:
    return {name: f"x{index}" for index, name in enumerate(sorted(cls.template_fields()))}


@pytest.mark.parametrize("cls", taskdef.ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_is_every_error_class_complete_and_recognisable_from_its_message(cls):
    assert cls.code in ("ClientException", "InvalidParameterException")
    assert cls.field and cls.hint and cls.aws_template
    error = cls(**sample_values(cls))
    assert error.values == sample_values(cls) and error.message == cls.render(**error.values)
    found = taskdef.error_class_for_message(error.message)
    assert found is not None and found[0] is cls
    assert "<" not in explain(error)                         # every placeholder of the hint was filled
    from_text = explain(error.message)                       # strings and ClientErrors get the same hint...
    assert not from_text.startswith("ECS refused")
    if cls.template_fields() <= set(found[1]) | {"operation", "choices"}:
        assert found[1] == {key: value for key, value in error.values.items() if key in found[1]}
        assert "<" not in from_text                          # ...with the values read back from the text


def test_does_explain_read_a_botocore_client_error_and_unknown_messages():
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "ClientException", "Message": (
        "No Fargate configuration exists for given values: 512 CPU, 512 memory. "
        "See the Amazon ECS documentation for the valid values.")}}, "RegisterTaskDefinition")
    assert "1024, 2048, 3072, 4096" in explain(error)
    moto_own = ("Invalid setting for container 'api'. At least one of 'memory' or 'memoryReservation' must be "
                "specified.")
    assert "'api'" in explain(moto_own)
    assert "Something odd" in explain("Something odd")


def test_do_the_constants_match_the_botocore_api_model():
    shapes = botocore.loaders.create_loader().load_service_model("ecs", "service-2")["shapes"]
    assert set(taskdef.LAUNCH_TYPES) == set(shapes["LaunchType"]["enum"])
    assert set(taskdef.COMPATIBILITIES) == set(shapes["Compatibility"]["enum"])
    assert set(taskdef.NETWORK_MODES) == set(shapes["NetworkMode"]["enum"])
    assert set(taskdef.DEPENDENCY_CONDITIONS) == set(shapes["ContainerCondition"]["enum"])
    members = shapes["HealthCheck"]["members"]
    for field, minimum, maximum, _ in taskdef.HEALTH_CHECK_RANGES:
        assert re.search(rf"between {minimum} and {maximum}", members[field]["documentation"]), field
    memory_doc = shapes["RegisterTaskDefinitionRequest"]["members"]["memory"]["documentation"]
    for cpu in FARGATE_TASK_SIZES:
        assert f"{cpu} (" in memory_doc


def test_do_the_docstring_examples_run():
    assert doctest.testmod(taskdef).failed == 0


# ------------------------------------------------------------------------ round trip through moto's server

def test_does_a_validation_error_reach_boto3_as_an_aws_client_exception(monkeypatch):
    """control/moto/ wires the validator into moto; here a monkeypatch proves the mapped error round-trips."""
    from botocore.exceptions import ClientError
    from moto.ecs.models import EC2ContainerServiceBackend

    from ecsdojo.cloud import MotoServer

    original = EC2ContainerServiceBackend.register_task_definition
    names = {"network_mode": "networkMode", "requires_compatibilities": "requiresCompatibilities", "cpu": "cpu",
             "memory": "memory", "execution_role_arn": "executionRoleArn", "ipc_mode": "ipcMode",
             "pid_mode": "pidMode", "runtime_platform": "runtimePlatform"}

    def validated(self, family, container_definitions, **options):
        request = {"family": family, "containerDefinitions": container_definitions,
                   **{names[key]: value for key, value in options.items() if key in names and value is not None}}
        try:
            validate_task_definition(request)
        except taskdef.TaskDefinitionError as error:
            raise as_moto_error(error) from error     # control/moto/'s error mapping
        return original(self, family, container_definitions, **options)

    monkeypatch.setattr(EC2ContainerServiceBackend, "register_task_definition", validated)
    with MotoServer() as moto:
        ecs = moto.client("ecs")
        good = ecs.register_task_definition(family="ok", containerDefinitions=[make_container()])
        assert good["taskDefinition"]["revision"] == 1
        with pytest.raises(ClientError) as caught:
            ecs.register_task_definition(family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                         cpu="1024", memory="1024", containerDefinitions=[make_container()])
    error = caught.value.response["Error"]
    assert error["Code"] == "ClientException"
    assert error["Message"] == ("No Fargate configuration exists for given values: 1024 CPU, 1024 memory. "
                                "See the Amazon ECS documentation for the valid values.")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
