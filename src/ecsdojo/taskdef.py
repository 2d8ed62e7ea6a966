"""Task-definition and launch rules that moto skips, raised as the ECS errors AWS returns.

moto 5.x registers almost any task definition: it does not check Fargate cpu/memory pairs, that Fargate
has task-level cpu and memory, health-check ranges, port mappings, ``dependsOn`` or ``links``, and it
silently turns a Fargate definition into ``awsvpc``. These pure functions apply those rules to plain dicts
shaped as boto3 sends them (camelCase keys) and raise one exception class per error kind. Every error
carries its AWS error ``code`` (``ClientException`` or ``InvalidParameterException``) and ``message``; when
the control plane calls these rules inside moto's request handling, control/moto/ turns the error into moto's
(``control.moto.errors.as_moto_error``), so the learner's boto3 or AWS CLI gets the error AWS would send.

Message wording: each class keeps the AWS sentence in ``aws_template`` and, where AWS does not name the
container or field, adds a short ``detail`` after it. ``wording_verified`` says whether that AWS sentence
was found verbatim in AWS documentation or in real error output quoted in public issues; where it is
False the sentence is written in AWS's style but not confirmed.

Decisions (documented here, tested in tests/test_taskdef.py):

- Reserved host ports (22, 2375, 2376, 51678-51680) are reserved *on container instances*; AWS registers
  a definition that uses them and fails at placement. So registration returns a ``ReservedHostPortWarning``;
  placement code uses ``RESERVED_HOST_PORTS`` to refuse the instance.
- A port-mapping ``protocol`` other than tcp/udp is a warning: the API docs say "Amazon ECS treats any
  other specified value as tcp".
- A healthCheck command must start with CMD or CMD-SHELL (the API docs say "must"); Docker, which runs
  our containers, needs it too.

Example::

    >>> warnings = validate_task_definition({
    ...     "family": "web",
    ...     "containerDefinitions": [{"name": "app", "image": "ecsdojo/app:0.1.0", "memory": 256}],
    ... })
    >>> warnings
    []
    >>> fargate_memory_choices(256)
    [512, 1024, 2048]
    >>> parse_cpu("0.25 vCPU"), parse_memory("1 GB")
    (256, 1024)
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

__all__ = [
    "validate_task_definition", "validate_launch", "fargate_memory_choices", "parse_cpu", "parse_memory",
    "explain", "error_class_for_message", "task_compatibilities", "ERROR_CLASSES",
    "FARGATE_TASK_SIZES", "RESERVED_HOST_PORTS", "LAUNCH_TYPES", "NETWORK_MODES", "COMPATIBILITIES",
    "TaskDefinitionError", "TaskDefinitionClientError", "TaskDefinitionInvalidParameterError",
    "TaskDefinitionWarning",
    # registration errors (ClientException)
    "MissingFamilyError", "InvalidFamilyError", "EmptyContainerListError", "MissingContainerNameError",
    "InvalidContainerImageError", "InvalidContainerMemoryError", "StopTimeoutOutOfRangeError",
    "TaskDefinitionTooLargeError",
    "InvalidContainerNameError", "DuplicateContainerNameError", "MissingContainerImageError",
    "NoEssentialContainerError", "InvalidNetworkModeError", "InvalidCompatibilityError",
    "FargateNetworkModeError", "FargateTaskCpuRequiredError", "FargateTaskMemoryRequiredError",
    "InvalidTaskCpuError", "InvalidTaskMemoryError", "InvalidFargateCpuMemoryError",
    "FargateIpcModeError", "FargatePidModeError",
    "ContainerMemoryRequiredError", "MemoryReservationAboveMemoryError", "ContainerMemoryAboveTaskError",
    "ContainerMemorySumAboveTaskError", "ContainerCpuSumAboveTaskError",
    "HostPortMismatchError", "PortOutOfRangeError", "MissingContainerPortError",
    "PortMappingsWithNoneNetworkError", "LinksNotSupportedError", "HostnameNotSupportedError",
    "HealthCheckCommandMissingError", "HealthCheckCommandPrefixError", "HealthCheckBelowMinimumError",
    "HealthCheckAboveMaximumError", "UnknownDependencyError", "InvalidDependencyConditionError",
    "EssentialCompletionDependencyError", "DependencyCycleError", "AwslogsOptionsError",
    "FargateAwslogsExecutionRoleError", "FargateEcrExecutionRoleError",
    # launch errors (InvalidParameterException)
    "InvalidLaunchTypeError", "LaunchTypeAndCapacityProviderError", "IncompatibleLaunchTypeError",
    "MissingNetworkConfigurationError", "EmptySubnetsError", "NetworkConfigurationNotValidError",
    "NoContainerInstancesError",
    # warnings
    "HealthCheckTimeoutWarning", "ReservedHostPortWarning", "EphemeralHostPortWarning",
    "UnknownProtocolWarning", "TinyContainerMemoryWarning", "HealthyDependencyWithoutHealthCheckWarning",
]

# ---------------------------------------------------------------------------------------------------------
# Facts (API model: RegisterTaskDefinitionRequest.memory / cpu, HealthCheck, PortMapping.hostPort)
# ---------------------------------------------------------------------------------------------------------

#: Fargate task sizes, CPU units -> valid task memory in MiB (API model, RegisterTaskDefinitionRequest.memory).
FARGATE_TASK_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),      # Linux platform 1.4.0 or later
    16384: tuple(range(32768, 122880 + 1, 8192)),    # Linux platform 1.4.0 or later
}
#: "The CPU units cannot be less than 1 vCPU when you use Windows containers on Fargate."
FARGATE_WINDOWS_MIN_CPU = 1024
#: Task cpu for the EC2/external launch types: "between 128 CPU units (0.125 vCPUs) and 196608 (192 vCPUs)".
EC2_TASK_CPU_RANGE = (128, 196608)

#: Host ports reserved on every container instance (PortMapping.hostPort docs).
RESERVED_HOST_PORTS: frozenset[int] = frozenset({22, 2375, 2376, 51678, 51679, 51680})
#: Default Linux ephemeral range used for dynamic host ports; "do not attempt to specify a host port" in it.
EPHEMERAL_PORT_RANGE = (49153, 65535)

LAUNCH_TYPES: tuple[str, ...] = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")   # model enum LaunchType
COMPATIBILITIES: tuple[str, ...] = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")  # enum Compatibility
NETWORK_MODES: tuple[str, ...] = ("bridge", "host", "awsvpc", "none")                 # enum NetworkMode
DEPENDENCY_CONDITIONS: tuple[str, ...] = ("START", "COMPLETE", "SUCCESS", "HEALTHY")   # enum ContainerCondition
FARGATE_CAPACITY_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
OPERATIONS = ("RunTask", "StartTask", "CreateService", "UpdateService", "CreateTaskSet")

#: (field, minimum, maximum, default) for HealthCheck (API model: HealthCheck).
HEALTH_CHECK_RANGES: tuple[tuple[str, int, int, int | None], ...] = (
    ("interval", 5, 300, 30),
    ("timeout", 2, 60, 5),
    ("retries", 1, 10, 3),
    ("startPeriod", 0, 300, None),
)
DOCKER_MIN_CONTAINER_MEMORY_MIB = 6   # "The Docker 20.10.0 or later daemon reserves a minimum of 6 MiB"
#: ContainerDefinition.stopTimeout: "the max stop timeout value is 120 seconds"; "The valid values for Fargate are
#: 2-120 seconds." (The model states the maximum in its Fargate paragraph; ECS Dojo applies it to every definition.)
STOP_TIMEOUT_RANGE = (0, 120)
FARGATE_STOP_TIMEOUT_RANGE = (2, 120)
#: Service quota "Task definition size": 64 KiB (Amazon ECS service quotas page), measured here on the request's
#: compact JSON.
MAX_TASK_DEFINITION_BYTES = 64 * 1024

_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,255}")
# ContainerDefinition.image: "up to 255 characters total are allowed, including letters (uppercase and lowercase),
# numbers, hyphens, underscores, colons, periods, forward slashes, and number signs (#)"; with a digest, the 255
# apply before the @ and the hash is sha256: followed by exactly 64 hex digits.
_IMAGE_PATTERN = re.compile(r"[A-Za-z0-9_.:/#-]{1,255}")
_IMAGE_DIGEST = re.compile(r"sha256:[A-Fa-f0-9]{64}")
_ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


# ---------------------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------------------

class TaskDefinitionError(Exception):
    """Mixin of every ECS Dojo task-definition/launch error: fixed templates, a field, a fix hint.

    Subclasses set ``aws_template`` (AWS's sentence, ``{name}`` placeholders), ``detail`` (our addition
    naming the container and field, may be empty), ``field`` (where in the request), ``hint`` (the fix,
    for :func:`explain`) and ``wording_verified``.
    """

    aws_template: ClassVar[str] = ""
    detail: ClassVar[str] = ""
    field: ClassVar[str] = ""
    hint: ClassVar[str] = ""
    wording_verified: ClassVar[bool] = False
    values: dict[str, Any]

    @classmethod
    def render(cls, **values: Any) -> str:
        text = cls.aws_template.format(**values)
        if cls.detail:
            text = f"{text} {cls.detail.format(**values)}"
        return text

    @classmethod
    def template_fields(cls) -> set[str]:
        return {name for template in (cls.aws_template, cls.detail, cls.hint)
                for _, name, _, _ in string.Formatter().parse(template) if name}

    @property
    def container(self) -> str | None:
        return self.values.get("container")

    def explain(self) -> str:
        return explain(self)


class TaskDefinitionClientError(TaskDefinitionError):
    """An error AWS reports as ``ClientException`` (HTTP 400)."""

    code = "ClientException"

    def __init__(self, **values: Any) -> None:
        self.values = values
        self.message = self.render(**values)
        super().__init__(self.message)


class TaskDefinitionInvalidParameterError(TaskDefinitionError):
    """An error AWS reports as ``InvalidParameterException`` (HTTP 400)."""

    code = "InvalidParameterException"

    def __init__(self, **values: Any) -> None:
        self.values = values
        self.message = self.render(**values)
        super().__init__(self.message)


# --- family and container list --------------------------------------------------------------------------

class MissingFamilyError(TaskDefinitionClientError):
    aws_template = "Family can not be blank."
    field = "family"
    wording_verified = True
    hint = ("Every task definition needs a 'family' (its name; each registration adds a revision to it). "
            "Pass family='my-task' to register_task_definition, or --family my-task to the CLI.")


class InvalidFamilyError(TaskDefinitionClientError):
    aws_template = "Family contains invalid characters."
    detail = "(family '{family}': up to 255 letters, numbers, hyphens and underscores)"
    field = "family"
    wording_verified = True
    hint = ("The family '{family}' may only hold letters, numbers, hyphens and underscores, at most 255 of "
            "them: no spaces, dots, slashes or colons (':' separates the revision, as in my-task:3).")


class EmptyContainerListError(TaskDefinitionClientError):
    aws_template = "Container list cannot be empty."
    field = "containerDefinitions"
    wording_verified = True
    hint = ("A task definition describes at least one container. Add a containerDefinitions entry with a "
            "name and an image, e.g. [{{'name': 'web', 'image': 'ecsdojo/app:0.1.0', 'memory': 256}}].")


# --- container identity ---------------------------------------------------------------------------------

class MissingContainerNameError(TaskDefinitionClientError):
    aws_template = "Container.name should not be null or empty."
    detail = "(containerDefinitions[{index}])"
    field = "containerDefinitions[].name"
    wording_verified = True
    hint = ("Container number {index} (counting from 0) has no 'name'. Every container needs a unique name: "
            "dependsOn, links, load balancers and logs refer to containers by it.")


class InvalidContainerNameError(TaskDefinitionClientError):
    aws_template = "Container.name contains invalid characters."
    detail = "(container '{container}': up to 255 letters, numbers, hyphens and underscores)"
    field = "containerDefinitions[].name"
    wording_verified = True
    hint = ("Rename container '{container}': only letters, numbers, hyphens and underscores are allowed, "
            "at most 255 of them.")


class DuplicateContainerNameError(TaskDefinitionClientError):
    aws_template = "Duplicate container name '{container}' found in the task definition."   # not verified
    field = "containerDefinitions[].name"
    hint = ("Two containers are called '{container}'. Names must be unique within a task definition, "
            "because other settings (dependsOn, links, load balancers) point at containers by name.")


class MissingContainerImageError(TaskDefinitionClientError):
    aws_template = "Container.image should not be null or empty."
    detail = "(container '{container}')"
    field = "containerDefinitions[].image"
    wording_verified = True
    hint = ("Container '{container}' has no 'image'. Give the image to run, e.g. 'ecsdojo/app:0.1.0' "
            "(repository:tag) or an ECR URI.")


class InvalidContainerImageError(TaskDefinitionClientError):
    # wording: real ECS output quoted in OctopusDeploy/Issues#10026 ("ClientException: Container.image contains
    # invalid characters.")
    aws_template = "Container.image contains invalid characters."
    detail = "(container '{container}': image '{image}')"
    field = "containerDefinitions[].image"
    wording_verified = True
    hint = ("The image '{image}' of container '{container}' may only hold letters, numbers, hyphens, underscores, "
            "colons, periods, forward slashes and number signs, at most 255 of them (repository/name:tag), or end "
            "in @sha256: and 64 hexadecimal digits (a digest). Check for spaces, quotes or other stray characters.")


class InvalidContainerMemoryError(TaskDefinitionClientError):
    # wording not verified against AWS
    aws_template = "Invalid setting for container '{container}'. '{setting}' must be greater than 0."
    detail = "(got {value})"
    field = "containerDefinitions[].memory"
    hint = ("'{setting}' of container '{container}' is a number of MiB and must be positive (got {value}). "
            "Docker needs at least 6 MiB; the demo app runs in 128.")


class StopTimeoutOutOfRangeError(TaskDefinitionClientError):
    # wording not verified against AWS (the range is the API model's)
    aws_template = ("Invalid setting for container '{container}'. 'stopTimeout' must be between {minimum} and "
                    "{maximum} seconds.")
    detail = "(got {value})"
    field = "containerDefinitions[].stopTimeout"
    hint = ("stopTimeout is how long ECS waits after SIGTERM before SIGKILL, in seconds: at most 120 (2-120 on "
            "Fargate). Container '{container}' asks for {value}. Make the application exit faster on SIGTERM.")


class TaskDefinitionTooLargeError(TaskDefinitionClientError):
    # wording not verified against AWS (the 64 KiB limit is the "Task definition size" service quota)
    aws_template = "Task definition size exceeds the maximum allowed size of 64 KiB."
    detail = "({size} bytes)"
    field = "containerDefinitions"
    hint = ("A task definition may be at most 64 KiB ({size} bytes here). Large environment values belong in "
            "a file in the image, in S3 (environmentFiles) or in Secrets Manager/SSM (secrets), not inline.")


class NoEssentialContainerError(TaskDefinitionClientError):
    # "doesn't have any essential container" is confirmed against ECS (cfn-lint #4536); the lead-in is not.
    aws_template = "Task definition doesn't have any essential container."
    detail = "(every container sets essential: false)"
    field = "containerDefinitions[].essential"
    hint = ("Every task needs at least one essential container: when it stops, ECS stops the whole task. "
            "'essential' defaults to true, so remove essential: false from your main container.")


# --- task-level settings --------------------------------------------------------------------------------

class InvalidNetworkModeError(TaskDefinitionClientError):
    aws_template = "Invalid network mode '{network_mode}'."   # not verified
    detail = "(networkMode must be one of bridge, host, awsvpc, none)"
    field = "networkMode"
    hint = ("networkMode '{network_mode}' does not exist. Use bridge (the default: Docker's bridge, dynamic "
            "host ports), host, awsvpc (one network interface per task; required by Fargate) or none.")


class InvalidCompatibilityError(TaskDefinitionClientError):
    aws_template = "Invalid compatibility '{compatibility}'."   # not verified
    detail = "(requiresCompatibilities values: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES)"
    field = "requiresCompatibilities"
    hint = ("requiresCompatibilities lists the launch types ECS should validate the definition against: "
            "EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES. '{compatibility}' is not one of them.")


class FargateNetworkModeError(TaskDefinitionClientError):
    # AWS writes typographic quotes here (seen in ecs-cli and Terraform output).
    aws_template = "Fargate only supports network mode \u2018awsvpc\u2019."
    detail = "(networkMode is '{network_mode}')"
    field = "networkMode"
    wording_verified = True
    hint = ("requiresCompatibilities contains FARGATE, so set networkMode to 'awsvpc' (each Fargate task gets "
            "its own network interface). It is '{network_mode}' now; ECS does not default it for you.")


class FargateTaskCpuRequiredError(TaskDefinitionClientError):
    aws_template = "Fargate requires that 'cpu' be defined at the task level."
    field = "cpu"
    wording_verified = True
    hint = ("Fargate sizes the task from task-level cpu and memory (not from the containers). Add cpu and "
            "memory at the top level of the task definition, e.g. cpu='256', memory='512'.")


class FargateTaskMemoryRequiredError(TaskDefinitionClientError):
    aws_template = "Fargate requires that 'memory' be defined at the task level."
    field = "memory"
    wording_verified = True
    hint = ("Fargate sizes the task from task-level cpu and memory. Add memory at the top level of the task "
            "definition, one of {choices} MiB for cpu {cpu}.")


class InvalidTaskCpuError(TaskDefinitionClientError):
    aws_template = "Invalid 'cpu' setting for task."
    detail = "(cpu '{value}')"
    field = "cpu"
    wording_verified = True
    hint = ("The task cpu '{value}' is not valid. Write CPU units ('1024') or vCPUs ('1 vCPU', '0.25 vCPU'); "
            "1 vCPU = 1024 units. EC2 tasks accept 128-196608 units; Fargate takes 256, 512, 1024, 2048, "
            "4096, 8192 or 16384.")


class InvalidTaskMemoryError(TaskDefinitionClientError):
    aws_template = "Invalid 'memory' setting for task."   # by analogy with the cpu message; not verified
    detail = "(memory '{value}')"
    field = "memory"
    hint = ("The task memory '{value}' is not valid. Write MiB ('2048') or GB ('2GB', '2 GB'); 1 GB = 1024 MiB.")


class InvalidFargateCpuMemoryError(TaskDefinitionClientError):
    aws_template = ("No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                    "See the Amazon ECS documentation for the valid values.")
    field = "cpu/memory"
    wording_verified = True
    hint = ("Fargate only runs fixed task sizes. With cpu {cpu} the memory must be one of {choices} MiB. "
            "Pairs: 256 -> 512/1024/2048; 512 -> 1024-4096; 1024 -> 2048-8192; 2048 -> 4096-16384; "
            "4096 -> 8192-30720 (1 GB steps); 8192 -> 16-60 GB (4 GB steps); 16384 -> 32-120 GB (8 GB steps).")


class FargateIpcModeError(TaskDefinitionClientError):
    aws_template = "Tasks using the Fargate launch type do not support ipcMode."
    field = "ipcMode"
    wording_verified = True
    hint = "Remove ipcMode from the task definition: Fargate tasks cannot share IPC namespaces."


class FargatePidModeError(TaskDefinitionClientError):
    aws_template = ("Tasks using the Fargate launch type do not support pidMode '{pid_mode}'. "
                    "The supported value for pidMode is 'task'.")
    field = "pidMode"
    wording_verified = True
    hint = ("On Fargate pidMode can only be 'task' (the containers of the task share a PID namespace); "
            "remove it or use 'task'.")


# --- container resources --------------------------------------------------------------------------------

class ContainerMemoryRequiredError(TaskDefinitionClientError):
    aws_template = ("Invalid setting for container '{container}'. "
                    "At least one of 'memory' or 'memoryReservation' must be specified.")
    field = "containerDefinitions[].memory"
    wording_verified = True
    hint = ("Without task-level memory, ECS must know how much memory to reserve for container "
            "'{container}' on an instance. Set 'memory' (hard limit, the container is killed above it) "
            "and/or 'memoryReservation' (soft limit), in MiB, or set task-level memory.")


class MemoryReservationAboveMemoryError(TaskDefinitionClientError):
    # Quoted as the RegisterTaskDefinition error by a public CloudFormation lint rule; not seen in AWS docs.
    aws_template = ("Invalid setting for container '{container}'. "
                    "'memory' must be greater than or equal to 'memoryReservation'.")
    detail = "(memory {memory}, memoryReservation {reservation})"
    field = "containerDefinitions[].memoryReservation"
    hint = ("In container '{container}' the soft limit memoryReservation ({reservation} MiB) is above the "
            "hard limit memory ({memory} MiB). Lower memoryReservation or raise memory.")


class ContainerMemoryAboveTaskError(TaskDefinitionClientError):
    # AWS troubleshooting pages quote "The 'memory' setting for container is greater than for the task";
    # the container name is our addition.
    aws_template = "The 'memory' setting for container '{container}' is greater than for the task."
    detail = "({memory} MiB > task memory {task_memory} MiB)"
    field = "containerDefinitions[].memory"
    hint = ("Container '{container}' asks for {memory} MiB but the whole task only has {task_memory} MiB. "
            "Lower the container's memory or raise task-level memory.")


class ContainerMemorySumAboveTaskError(TaskDefinitionClientError):
    aws_template = ("The sum of all container 'memory' values cannot be greater than the value of the task "
                    "'memory'.")   # by analogy with the verified cpu message; not verified
    detail = "({total} MiB reserved by containers > task memory {task_memory} MiB)"
    field = "containerDefinitions[].memory"
    hint = ("Together the containers reserve {total} MiB (memoryReservation, else memory), more than the "
            "task's {task_memory} MiB. Lower the containers' values or raise task-level memory.")


class ContainerCpuSumAboveTaskError(TaskDefinitionClientError):
    aws_template = "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."
    detail = "({total} units > task cpu {task_cpu})"
    field = "containerDefinitions[].cpu"
    wording_verified = True
    hint = ("The containers' cpu values add up to {total} units, more than the task's {task_cpu}. Lower "
            "them (container cpu is optional) or raise task-level cpu.")


# --- ports, links, hostname -----------------------------------------------------------------------------

class HostPortMismatchError(TaskDefinitionClientError):
    aws_template = "When networkMode={network_mode}, the host ports and container ports in port mappings must match."
    detail = "(container '{container}': containerPort {container_port}, hostPort {host_port})"
    field = "containerDefinitions[].portMappings[].hostPort"
    wording_verified = True
    hint = ("In {network_mode} mode a container port is exposed as the same port on the task's network "
            "interface (awsvpc) or on the instance (host), so there is no mapping: remove hostPort from "
            "container '{container}' or set it to {container_port}. Only bridge mode maps ports.")


class PortOutOfRangeError(TaskDefinitionClientError):
    # not verified
    aws_template = "Invalid setting for container '{container}'. '{port_field}' must be between {minimum} and {maximum}."
    detail = "(got {value})"
    field = "containerDefinitions[].portMappings[]"
    hint = ("Port numbers are 1-65535 (hostPort may also be 0, meaning 'pick a dynamic port' in bridge "
            "mode). Fix {port_field} {value} in container '{container}'.")


class MissingContainerPortError(TaskDefinitionClientError):
    # not verified
    aws_template = "Invalid setting for container '{container}'. A port mapping must specify 'containerPort'."
    detail = "(portMappings[{index}])"
    field = "containerDefinitions[].portMappings[].containerPort"
    hint = "Each port mapping of container '{container}' needs the containerPort the application listens on."


class PortMappingsWithNoneNetworkError(TaskDefinitionClientError):
    aws_template = "Port mappings are not supported when networkMode=none."   # not verified
    detail = "(container '{container}')"
    field = "containerDefinitions[].portMappings"
    hint = ("With networkMode 'none' the containers have no external network, so container '{container}' "
            "cannot publish ports. Remove portMappings or choose bridge/awsvpc.")


class LinksNotSupportedError(TaskDefinitionClientError):
    aws_template = "Links are not supported when networkMode={network_mode}"   # verified for awsvpc
    detail = "(container '{container}')"
    field = "containerDefinitions[].links"
    wording_verified = True
    hint = ("Docker links only work in bridge mode. In awsvpc mode the containers of a task share one "
            "network namespace: container '{container}' reaches the others on localhost:PORT. Remove links.")


class HostnameNotSupportedError(TaskDefinitionClientError):
    aws_template = "hostname is not supported on container when networkMode=awsvpc."
    detail = "(container '{container}')"
    field = "containerDefinitions[].hostname"
    wording_verified = True
    hint = ("In awsvpc mode the task's network interface decides the hostname: remove 'hostname' from "
            "container '{container}'.")


# --- health checks --------------------------------------------------------------------------------------

class HealthCheckCommandMissingError(TaskDefinitionClientError):
    # not verified
    aws_template = "Invalid health check for container '{container}'. 'command' should not be null or empty."
    field = "containerDefinitions[].healthCheck.command"
    hint = ("healthCheck.command is required, e.g. [\"CMD-SHELL\", \"curl -f http://localhost:8080/health || "
            "exit 1\"] for container '{container}'.")


class HealthCheckCommandPrefixError(TaskDefinitionClientError):
    aws_template = ("Invalid health check for container '{container}'. The command must start with CMD or "
                    "CMD-SHELL followed by the command to run.")   # not verified
    detail = "(command starts with '{first}')"
    field = "containerDefinitions[].healthCheck.command"
    hint = ("Start the command with \"CMD\" to run an executable directly ([\"CMD\", \"/bin/check\", \"arg\"]) "
            "or \"CMD-SHELL\" to run a shell string ([\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]). "
            "Exit code 0 means healthy.")


class HealthCheckBelowMinimumError(TaskDefinitionClientError):
    aws_template = ("Health check {check_field} must be greater than or equal to the minimum allowed value "
                    "{minimum} for container '{container}'")   # mirror of the verified maximum message
    detail = "(got {value})"
    field = "containerDefinitions[].healthCheck"
    hint = ("healthCheck.{check_field} of container '{container}' is {value}; allowed {minimum}-{maximum}. "
            "Ranges: interval 5-300 s (default 30), timeout 2-60 s (default 5), retries 1-10 (default 3), "
            "startPeriod 0-300 s.")


class HealthCheckAboveMaximumError(TaskDefinitionClientError):
    aws_template = ("Health check {check_field} must be less than or equal to the maximum allowed value "
                    "{maximum} for container '{container}'")
    detail = "(got {value})"
    field = "containerDefinitions[].healthCheck"
    wording_verified = True
    hint = HealthCheckBelowMinimumError.hint


# --- dependsOn ------------------------------------------------------------------------------------------

class UnknownDependencyError(TaskDefinitionClientError):
    # Verbatim, including AWS's stray "+" (seen in ClientException output quoted by dagster and hako users).
    aws_template = "Cannot depend on container + '{target}' because it does not exist"
    detail = "(dependsOn of container '{container}')"
    field = "containerDefinitions[].dependsOn[].containerName"
    wording_verified = True
    hint = ("Container '{container}' depends on '{target}', but no container of this task definition has "
            "that name. Fix the containerName (names are case-sensitive) or add the container.")


class InvalidDependencyConditionError(TaskDefinitionClientError):
    aws_template = ("Invalid dependency condition '{condition}' for container '{container}'. "
                    "Valid conditions are START, COMPLETE, SUCCESS and HEALTHY.")   # not verified
    field = "containerDefinitions[].dependsOn[].condition"
    hint = ("dependsOn conditions: START (the other container has started), COMPLETE (it exited), SUCCESS "
            "(it exited with 0), HEALTHY (its health check passed).")


class EssentialCompletionDependencyError(TaskDefinitionClientError):
    aws_template = "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"
    detail = "(container '{container}' waits for '{target}' to {condition})"
    field = "containerDefinitions[].dependsOn[].condition"
    wording_verified = True
    hint = ("'{target}' must exit before '{container}' starts, but an essential container that exits stops "
            "the whole task. Mark '{target}' essential: false (it is a one-shot init container).")


class DependencyCycleError(TaskDefinitionClientError):
    aws_template = "Container dependencies contain a cycle: {cycle}."   # not verified
    field = "containerDefinitions[].dependsOn"
    hint = "The containers wait for each other in a circle ({cycle}), so none could ever start. Remove one dependsOn."


# --- logging and roles ----------------------------------------------------------------------------------

class AwslogsOptionsError(TaskDefinitionClientError):
    aws_template = "Log driver awslogs requires options: awslogs-region, awslogs-group"
    detail = "(container '{container}')"
    field = "containerDefinitions[].logConfiguration.options"
    wording_verified = True
    hint = ("The awslogs driver of container '{container}' needs options awslogs-group (the CloudWatch log "
            "group) and awslogs-region; awslogs-stream-prefix is recommended.")


class FargateAwslogsExecutionRoleError(TaskDefinitionClientError):
    aws_template = "Fargate requires task definition to have execution role ARN to support log driver awslogs."
    detail = "(container '{container}')"
    field = "executionRoleArn"
    wording_verified = True
    hint = ("On Fargate the ECS agent writes container logs to CloudWatch with the task *execution* role. "
            "Set executionRoleArn (e.g. arn:aws:iam::123456789012:role/ecsTaskExecutionRole). The task role "
            "(taskRoleArn) is what your application uses; it does not help here.")


class FargateEcrExecutionRoleError(TaskDefinitionClientError):
    aws_template = "Fargate requires task definition to have execution role ARN to support ECR images."
    detail = "(container '{container}')"
    field = "executionRoleArn"
    wording_verified = True
    hint = ("On Fargate the image of container '{container}' is pulled from ECR with the task *execution* "
            "role. Set executionRoleArn to a role with the AmazonECSTaskExecutionRolePolicy.")


# --- launch (RunTask / CreateService / UpdateService) ---------------------------------------------------

class InvalidLaunchTypeError(TaskDefinitionInvalidParameterError):
    aws_template = "launch type should be one of [{choices}]"   # moto's wording; AWS's not verified
    detail = "(got '{launch_type}')"
    field = "launchType"
    hint = "launchType is EC2, FARGATE, EXTERNAL (ECS Anywhere) or MANAGED_INSTANCES; '{launch_type}' is none of them."


class LaunchTypeAndCapacityProviderError(TaskDefinitionInvalidParameterError):
    aws_template = ("Specifying both a launch type and capacity provider strategy is not supported. "
                    "Remove one and try again.")
    field = "launchType/capacityProviderStrategy"
    wording_verified = True
    hint = ("{operation}: give either launchType or capacityProviderStrategy, not both. Capacity providers "
            "are the newer way; with neither, the cluster's default capacity provider strategy is used.")


class IncompatibleLaunchTypeError(TaskDefinitionInvalidParameterError):
    aws_template = "Task definition does not support launch_type {launch_type}."
    detail = "(task definition compatibilities: {compatibilities})"
    field = "launchType"
    wording_verified = True
    hint = ("{operation} asked for {launch_type}, but the task definition was validated only for "
            "{compatibilities}. Register a new revision with requiresCompatibilities=['{launch_type}'] (for "
            "FARGATE also networkMode awsvpc and a valid task cpu/memory pair), then use that revision.")


class MissingNetworkConfigurationError(TaskDefinitionInvalidParameterError):
    aws_template = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    field = "networkConfiguration"
    wording_verified = True
    hint = ("The task definition uses awsvpc (always so on Fargate): each task gets its own network "
            "interface, and ECS must know which subnets (and security groups) to create it in. Pass "
            "networkConfiguration={{'awsvpcConfiguration': {{'subnets': ['subnet-...'], 'securityGroups': "
            "['sg-...'], 'assignPublicIp': 'ENABLED'}}}} to {operation} (CLI: --network-configuration "
            "\"awsvpcConfiguration={{subnets=[subnet-...],securityGroups=[sg-...],assignPublicIp=ENABLED}}\").")


class EmptySubnetsError(TaskDefinitionInvalidParameterError):
    aws_template = "subnets can not be empty."
    field = "networkConfiguration.awsvpcConfiguration.subnets"
    wording_verified = True
    hint = "awsvpcConfiguration needs at least one subnet id for the task's network interface."


class NetworkConfigurationNotValidError(TaskDefinitionInvalidParameterError):
    aws_template = "Network Configuration is not valid for the given networkMode of this task definition."
    detail = "(networkMode is '{network_mode}')"
    field = "networkConfiguration"
    wording_verified = True
    hint = ("networkConfiguration only applies to awsvpc task definitions; this one uses '{network_mode}'. "
            "Drop networkConfiguration from {operation}, or register an awsvpc revision.")


class NoContainerInstancesError(TaskDefinitionInvalidParameterError):
    aws_template = "No Container Instances were found in your cluster."
    field = "cluster"
    wording_verified = True
    hint = ("{launch_type} tasks run on container instances registered to the cluster, and it has none. "
            "Register instances, or use FARGATE (with an awsvpc task definition), which needs no instances.")


ERROR_CLASSES: tuple[type[TaskDefinitionError], ...] = tuple(
    cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, TaskDefinitionError) and cls.aws_template)


# ---------------------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------------------

class TaskDefinitionWarning(UserWarning):
    """A non-fatal finding: AWS would register the definition, but something will likely go wrong."""

    template: ClassVar[str] = ""
    field: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        self.values = values
        self.message = self.template.format(**values)
        super().__init__(self.message)

    @property
    def container(self) -> str | None:
        return self.values.get("container")


class HealthCheckTimeoutWarning(TaskDefinitionWarning):
    template = ("container '{container}': healthCheck timeout {timeout} s is not below its interval "
                "{interval} s; a slow check overlaps the next one.")
    field = "containerDefinitions[].healthCheck.timeout"


class ReservedHostPortWarning(TaskDefinitionWarning):
    template = ("container '{container}': host port {port} is reserved on every container instance "
                "(22, 2375, 2376, 51678-51680); ECS registers the definition but cannot place its tasks on "
                "an EC2 instance.")
    field = "containerDefinitions[].portMappings[].hostPort"


class EphemeralHostPortWarning(TaskDefinitionWarning):
    template = ("container '{container}': host port {port} is in the ephemeral range 49153-65535 that "
                "bridge mode uses for dynamic ports; omit hostPort (or set 0) to get a dynamic port.")
    field = "containerDefinitions[].portMappings[].hostPort"


class UnknownProtocolWarning(TaskDefinitionWarning):
    template = ("container '{container}': port mapping protocol {protocol!r} is neither 'tcp' nor 'udp' "
                "(case-sensitive); ECS treats it as tcp.")
    field = "containerDefinitions[].portMappings[].protocol"


class TinyContainerMemoryWarning(TaskDefinitionWarning):
    template = ("container '{container}': {setting} {value} MiB is below the 6 MiB Docker 20.10+ reserves "
                "for a container; the container will not start.")
    field = "containerDefinitions[].memory"


class HealthyDependencyWithoutHealthCheckWarning(TaskDefinitionWarning):
    template = ("container '{container}' waits for '{target}' to be HEALTHY, but '{target}' has no "
                "healthCheck.")
    field = "containerDefinitions[].dependsOn[].condition"


# ---------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------

_NUMBER = r"(?P<number>\d+(?:\.\d+)?|\.\d+)"
_VCPU = re.compile(rf"^{_NUMBER}\s*vcpus?$", re.IGNORECASE)
_GB = re.compile(rf"^{_NUMBER}\s*gb$", re.IGNORECASE)


def _scaled(number: str, scale: int) -> int | None:
    value = float(number) * scale
    return int(value) if value == int(value) and value > 0 else None


def parse_cpu(value: Any) -> int:
    """Task cpu as CPU units: ``1024``, ``"1024"``, ``"1 vCPU"``, ``"1 vcpu"``, ``"0.25 vCPU"``.

    >>> parse_cpu("0.5 vCPU")
    512

    Raises InvalidTaskCpuError for anything else (ECS converts the string form on registration).
    """
    units: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        units = value if value > 0 else None
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            units = int(text) or None
        elif match := _VCPU.match(text):
            units = _scaled(match["number"], 1024)
    if units is None:
        raise InvalidTaskCpuError(value=value)
    return units


def parse_memory(value: Any) -> int:
    """Task memory in MiB: ``2048``, ``"2048"``, ``"2GB"``, ``"2 GB"``, ``"0.5 GB"``.

    >>> parse_memory("1GB")
    1024

    Raises InvalidTaskMemoryError for anything else.
    """
    mib: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        mib = value if value > 0 else None
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            mib = int(text) or None
        elif match := _GB.match(text):
            mib = _scaled(match["number"], 1024)
    if mib is None:
        raise InvalidTaskMemoryError(value=value)
    return mib


def fargate_memory_choices(cpu_units: int) -> list[int]:
    """The task memory values (MiB) Fargate accepts with `cpu_units`; [] when that cpu is not a Fargate size.

    >>> fargate_memory_choices(512)
    [1024, 2048, 3072, 4096]
    """
    return list(FARGATE_TASK_SIZES.get(cpu_units, ()))


def _choices_text(cpu_units: int) -> str:
    choices = fargate_memory_choices(cpu_units)
    if not choices:
        return "none (cpu must be one of " + ", ".join(map(str, FARGATE_TASK_SIZES)) + ")"
    if len(choices) <= 4:
        return ", ".join(map(str, choices))
    return f"{choices[0]}-{choices[-1]} in steps of {choices[1] - choices[0]}"


# ---------------------------------------------------------------------------------------------------------
# RegisterTaskDefinition
# ---------------------------------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _requires_fargate(request: Mapping[str, Any]) -> bool:
    return "FARGATE" in (request.get("requiresCompatibilities") or [])


def validate_task_definition(request: Mapping[str, Any]) -> list[TaskDefinitionWarning]:
    """Check a RegisterTaskDefinition request; raise the first error, return the non-fatal warnings.

    `request` is the dict boto3 sends (``family``, ``containerDefinitions``, ``networkMode``,
    ``requiresCompatibilities``, ``cpu``, ``memory``, ``executionRoleArn``, ...).

    >>> validate_task_definition({"family": "web", "requiresCompatibilities": ["FARGATE"],
    ...     "networkMode": "awsvpc", "cpu": "256", "memory": "1024",
    ...     "containerDefinitions": [{"name": "app", "image": "ecsdojo/app:0.1.0"}]})
    []
    """
    warnings: list[TaskDefinitionWarning] = []
    containers = _check_identity(request)
    _check_size(request)
    network_mode = request.get("networkMode") or "bridge"
    _check_task_settings(request, network_mode)
    task_cpu, task_memory = _check_task_size(request)
    stop_range = FARGATE_STOP_TIMEOUT_RANGE if _requires_fargate(request) else STOP_TIMEOUT_RANGE
    for container in containers:
        _check_container_resources(container, task_memory, warnings)
        stop_timeout = container.get("stopTimeout")
        if stop_timeout is not None and (not _is_int(stop_timeout)
                                         or not stop_range[0] <= stop_timeout <= stop_range[1]):
            raise StopTimeoutOutOfRangeError(container=container["name"], value=stop_timeout,
                                             minimum=stop_range[0], maximum=stop_range[1])
    _check_resource_sums(containers, task_cpu, task_memory)
    for container in containers:
        _check_networking(container, network_mode, warnings)
        _check_health_check(container, warnings)
    _check_dependencies(containers, warnings)
    _check_logging_and_roles(request, containers)
    return warnings


def _check_identity(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    family = request.get("family")
    if not family:
        raise MissingFamilyError()
    if not isinstance(family, str) or not _NAME_PATTERN.fullmatch(family):
        raise InvalidFamilyError(family=family)
    containers = request.get("containerDefinitions") or []
    if not containers:
        raise EmptyContainerListError()
    seen: set[str] = set()
    for index, container in enumerate(containers):
        name = container.get("name") if isinstance(container, Mapping) else None
        if not name:
            raise MissingContainerNameError(index=index)
        if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
            raise InvalidContainerNameError(container=name)
        if name in seen:
            raise DuplicateContainerNameError(container=name)
        seen.add(name)
        if not container.get("image"):
            raise MissingContainerImageError(container=name)
        if not _valid_image(container["image"]):
            raise InvalidContainerImageError(container=name, image=container["image"])
    if all(container.get("essential", True) is False for container in containers):
        raise NoEssentialContainerError()
    return list(containers)


def _valid_image(image: Any) -> bool:
    if not isinstance(image, str):
        return False
    name, at, digest = image.partition("@")
    return bool(_IMAGE_PATTERN.fullmatch(name)) and (not at or bool(_IMAGE_DIGEST.fullmatch(digest)))


def _check_size(request: Mapping[str, Any]) -> None:
    size = len(json.dumps(request, separators=(",", ":"), default=str).encode())
    if size > MAX_TASK_DEFINITION_BYTES:
        raise TaskDefinitionTooLargeError(size=size)


def _check_task_settings(request: Mapping[str, Any], network_mode: str) -> None:
    if network_mode not in NETWORK_MODES:
        raise InvalidNetworkModeError(network_mode=network_mode)
    for compatibility in request.get("requiresCompatibilities") or []:
        if compatibility not in COMPATIBILITIES:
            raise InvalidCompatibilityError(compatibility=compatibility)
    if not _requires_fargate(request):
        return
    if network_mode != "awsvpc":
        raise FargateNetworkModeError(network_mode=network_mode)
    if request.get("ipcMode"):
        raise FargateIpcModeError()
    if request.get("pidMode") and request["pidMode"] != "task":
        raise FargatePidModeError(pid_mode=request["pidMode"])


def _check_task_size(request: Mapping[str, Any]) -> tuple[int | None, int | None]:
    raw_cpu, raw_memory = request.get("cpu"), request.get("memory")
    if _requires_fargate(request):
        if raw_cpu in (None, ""):
            raise FargateTaskCpuRequiredError()
        cpu = parse_cpu(raw_cpu)
        if raw_memory in (None, ""):
            raise FargateTaskMemoryRequiredError(cpu=cpu, choices=_choices_text(cpu))
        memory = parse_memory(raw_memory)
        platform = (request.get("runtimePlatform") or {}).get("operatingSystemFamily") or "LINUX"
        windows_too_small = platform.startswith("WINDOWS") and cpu < FARGATE_WINDOWS_MIN_CPU
        if memory not in FARGATE_TASK_SIZES.get(cpu, ()) or windows_too_small:
            raise InvalidFargateCpuMemoryError(cpu=cpu, memory=memory, choices=_choices_text(cpu))
        return cpu, memory
    cpu = None if raw_cpu in (None, "") else parse_cpu(raw_cpu)
    if cpu is not None and not EC2_TASK_CPU_RANGE[0] <= cpu <= EC2_TASK_CPU_RANGE[1]:
        raise InvalidTaskCpuError(value=raw_cpu)
    memory = None if raw_memory in (None, "") else parse_memory(raw_memory)
    return cpu, memory


def _check_container_resources(container: Mapping[str, Any], task_memory: int | None,
                               warnings: list[TaskDefinitionWarning]) -> None:
    name = container["name"]
    memory, reservation = container.get("memory"), container.get("memoryReservation")
    for setting, value in (("memory", memory), ("memoryReservation", reservation)):
        if value is not None and (not _is_int(value) or value <= 0):
            raise InvalidContainerMemoryError(container=name, setting=setting, value=value)
    if task_memory is None and not memory and not reservation:
        raise ContainerMemoryRequiredError(container=name)
    if _is_int(memory) and _is_int(reservation) and reservation > memory:
        raise MemoryReservationAboveMemoryError(container=name, memory=memory, reservation=reservation)
    if task_memory is not None and _is_int(memory) and memory > task_memory:
        raise ContainerMemoryAboveTaskError(container=name, memory=memory, task_memory=task_memory)
    for setting, value in (("memory", memory), ("memoryReservation", reservation)):
        if _is_int(value) and 0 < value < DOCKER_MIN_CONTAINER_MEMORY_MIB:
            warnings.append(TinyContainerMemoryWarning(container=name, setting=setting, value=value))


def _check_resource_sums(containers: list[Mapping[str, Any]], task_cpu: int | None,
                         task_memory: int | None) -> None:
    if task_memory is not None:
        reserved = [c.get("memoryReservation") or c.get("memory") for c in containers]
        total = sum(value for value in reserved if _is_int(value))
        if total > task_memory:
            raise ContainerMemorySumAboveTaskError(total=total, task_memory=task_memory)
    if task_cpu is not None:
        total = sum(c["cpu"] for c in containers if _is_int(c.get("cpu")))
        if total > task_cpu:
            raise ContainerCpuSumAboveTaskError(total=total, task_cpu=task_cpu)


def _check_networking(container: Mapping[str, Any], network_mode: str,
                      warnings: list[TaskDefinitionWarning]) -> None:
    name = container["name"]
    mappings = container.get("portMappings") or []
    if mappings and network_mode == "none":
        raise PortMappingsWithNoneNetworkError(container=name)
    for index, mapping in enumerate(mappings):
        container_port, host_port = mapping.get("containerPort"), mapping.get("hostPort")
        if container_port is None and not mapping.get("containerPortRange"):
            raise MissingContainerPortError(container=name, index=index)
        for port_field, value, minimum in (("containerPort", container_port, 1), ("hostPort", host_port, 0)):
            if value is not None and (not _is_int(value) or not minimum <= value <= 65535):
                raise PortOutOfRangeError(container=name, port_field=port_field, value=value,
                                          minimum=minimum, maximum=65535)
        if network_mode in ("awsvpc", "host") and host_port is not None and container_port is not None \
                and host_port != container_port:
            raise HostPortMismatchError(network_mode=network_mode, container=name,
                                        container_port=container_port, host_port=host_port)
        protocol = mapping.get("protocol")
        if protocol is not None and protocol not in ("tcp", "udp"):
            warnings.append(UnknownProtocolWarning(container=name, protocol=protocol))
        bound = container_port if network_mode == "host" else host_port if network_mode == "bridge" else None
        if bound in RESERVED_HOST_PORTS:
            warnings.append(ReservedHostPortWarning(container=name, port=bound))
        elif network_mode == "bridge" and _is_int(host_port) and host_port >= EPHEMERAL_PORT_RANGE[0]:
            warnings.append(EphemeralHostPortWarning(container=name, port=host_port))
    if container.get("links") and network_mode != "bridge":
        raise LinksNotSupportedError(network_mode=network_mode, container=name)
    if container.get("hostname") and network_mode == "awsvpc":
        raise HostnameNotSupportedError(container=name)


def _check_health_check(container: Mapping[str, Any], warnings: list[TaskDefinitionWarning]) -> None:
    check = container.get("healthCheck")
    if check is None:
        return
    name = container["name"]
    command = check.get("command") or []
    if not command:
        raise HealthCheckCommandMissingError(container=name)
    if command[0] not in ("CMD", "CMD-SHELL") or len(command) < 2:
        raise HealthCheckCommandPrefixError(container=name, first=command[0])
    effective: dict[str, int | None] = {}
    for check_field, minimum, maximum, default in HEALTH_CHECK_RANGES:
        value = check.get(check_field)
        if value is None:
            effective[check_field] = default
            continue
        if not _is_int(value) or value < minimum:
            raise HealthCheckBelowMinimumError(check_field=check_field, minimum=minimum, maximum=maximum,
                                               container=name, value=value)
        if value > maximum:
            raise HealthCheckAboveMaximumError(check_field=check_field, minimum=minimum, maximum=maximum,
                                               container=name, value=value)
        effective[check_field] = value
    timeout, interval = effective["timeout"], effective["interval"]
    if timeout is not None and interval is not None and timeout >= interval:
        warnings.append(HealthCheckTimeoutWarning(container=name, timeout=timeout, interval=interval))


def _check_dependencies(containers: list[Mapping[str, Any]], warnings: list[TaskDefinitionWarning]) -> None:
    by_name = {container["name"]: container for container in containers}
    for container in containers:
        for dependency in container.get("dependsOn") or []:
            target, condition = dependency.get("containerName"), dependency.get("condition")
            if target not in by_name:
                raise UnknownDependencyError(target=target, container=container["name"])
            if condition not in DEPENDENCY_CONDITIONS:
                raise InvalidDependencyConditionError(condition=condition, container=container["name"])
            essential = by_name[target].get("essential", True) is not False
            if condition in ("SUCCESS", "COMPLETE") and essential:
                raise EssentialCompletionDependencyError(container=container["name"], target=target,
                                                         condition=condition)
            if condition == "HEALTHY" and not by_name[target].get("healthCheck"):
                warnings.append(HealthyDependencyWithoutHealthCheckWarning(container=container["name"],
                                                                           target=target))
    cycle = _find_cycle({name: [d.get("containerName") for d in c.get("dependsOn") or []]
                         for name, c in by_name.items()})
    if cycle:
        raise DependencyCycleError(cycle=" -> ".join(cycle))


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}   # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in graph.get(node, []):
            if state.get(successor) == 1:
                return path[path.index(successor):] + [successor]
            if successor in graph and state.get(successor) is None and (found := visit(successor)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def _check_logging_and_roles(request: Mapping[str, Any], containers: list[Mapping[str, Any]]) -> None:
    fargate, role = _requires_fargate(request), request.get("executionRoleArn")
    for container in containers:
        log = container.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            options = log.get("options") or {}
            if not options.get("awslogs-group") or not options.get("awslogs-region"):
                raise AwslogsOptionsError(container=container["name"])
            if fargate and not role:
                raise FargateAwslogsExecutionRoleError(container=container["name"])
        if fargate and not role and _ECR_IMAGE.match(str(container.get("image", ""))):
            raise FargateEcrExecutionRoleError(container=container["name"])


# ---------------------------------------------------------------------------------------------------------
# RunTask / CreateService / UpdateService
# ---------------------------------------------------------------------------------------------------------

def task_compatibilities(task_definition: Mapping[str, Any]) -> list[str]:
    """The launch types a task definition supports, as ECS computes ``compatibilities``.

    Uses ``compatibilities`` when present (DescribeTaskDefinition output) and ``requiresCompatibilities``.
    Every definition validates for EC2; EXTERNAL is added for non-awsvpc definitions because moto never
    records it (ECS Anywhere does not support awsvpc).
    """
    found = {"EC2", *(task_definition.get("compatibilities") or []),
             *(task_definition.get("requiresCompatibilities") or [])}
    if (task_definition.get("networkMode") or "bridge") != "awsvpc":
        found.add("EXTERNAL")
    return [name for name in COMPATIBILITIES if name in found]


def validate_launch(task_definition: Mapping[str, Any], *, launch_type: str | None,
                    network_configuration: Mapping[str, Any] | None,
                    capacity_provider_strategy: Iterable[Mapping[str, Any]] | None = None,
                    operation: str = "RunTask", container_instance_count: int | None = None) -> None:
    """Check that `task_definition` can be launched this way; raise the first error (InvalidParameterException).

    For UpdateService pass the service's effective launch type and network configuration. With neither a
    launch type nor a strategy, ECS uses the cluster's default capacity provider strategy: pass it as
    `capacity_provider_strategy`, or nothing for plain EC2. `container_instance_count` (when known) lets an
    EC2/EXTERNAL launch fail as ECS does on a cluster without instances.

    >>> validate_launch({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"]},
    ...                 launch_type="FARGATE",
    ...                 network_configuration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    strategy = list(capacity_provider_strategy or [])
    if launch_type is not None and launch_type not in LAUNCH_TYPES:
        raise InvalidLaunchTypeError(choices=",".join(LAUNCH_TYPES), launch_type=launch_type)
    if launch_type and strategy:
        raise LaunchTypeAndCapacityProviderError(operation=operation)
    effective = launch_type or ("FARGATE" if any(item.get("capacityProvider") in FARGATE_CAPACITY_PROVIDERS
                                                 for item in strategy) else "EC2")
    compatibilities = task_compatibilities(task_definition)
    if effective not in compatibilities:
        raise IncompatibleLaunchTypeError(launch_type=effective, compatibilities=",".join(compatibilities),
                                          operation=operation)
    network_mode = task_definition.get("networkMode") or "bridge"
    if network_mode == "awsvpc":
        awsvpc = (network_configuration or {}).get("awsvpcConfiguration")
        if not awsvpc:
            raise MissingNetworkConfigurationError(operation=operation)
        if not awsvpc.get("subnets"):
            raise EmptySubnetsError()
    elif network_configuration:
        raise NetworkConfigurationNotValidError(network_mode=network_mode, operation=operation)
    if effective in ("EC2", "EXTERNAL") and container_instance_count == 0:
        raise NoContainerInstancesError(launch_type=effective)


# ---------------------------------------------------------------------------------------------------------
# Hints for the learner
# ---------------------------------------------------------------------------------------------------------

def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{name}>.+?)"
    return re.compile(pattern)


def error_class_for_message(message: str) -> tuple[type[TaskDefinitionError], dict[str, str]] | None:
    """The error class whose AWS sentence starts `message`, with the values read out of it (or None)."""
    text = message.strip()
    for cls in ERROR_CLASSES:
        templates = [f"{cls.aws_template} {cls.detail}", cls.aws_template] if cls.detail else [cls.aws_template]
        for template in templates:
            if match := _template_regex(template).match(text):
                return cls, match.groupdict()
    return None


_GENERIC_HINT = ("ECS refused the request: {message} Read the message for the field it names, compare it with "
                 "the RegisterTaskDefinition / RunTask / CreateService reference, fix the definition and "
                 "register a new revision (revisions cannot be edited).")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return {"operation": "the call", "choices": "the documented values"}.get(key, f"<{key}>")


def explain(error: BaseException | str) -> str:
    """A one-paragraph fix hint for an ECS error: one of ours, a botocore ClientError, or a message string.

    >>> explain(MissingNetworkConfigurationError(operation="CreateService"))[:40]
    'The task definition uses awsvpc (always '
    """
    if isinstance(error, TaskDefinitionError):
        return error.hint.format_map(_Blank(error.values))
    message = error if isinstance(error, str) else _message_of(error)
    found = error_class_for_message(message)
    if found is None:
        return _GENERIC_HINT.format(message=message.rstrip(".") + ".")
    cls, values = found
    if cls is InvalidFargateCpuMemoryError and values.get("cpu", "").isdigit():
        values["choices"] = _choices_text(int(values["cpu"]))
    return cls.hint.format_map(_Blank(values))


def _message_of(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Message", error))
    return str(getattr(error, "message", error))
