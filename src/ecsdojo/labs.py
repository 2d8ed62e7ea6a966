"""Terminal labs: `dojo verify LAB STEP` checks a step against the state of `dojo up`.

Each step is a function that reads ECS state through boto3 (pointed at the running `dojo up`) and returns
a `StepResult`: passed or not, what it found, and a hint that does not give the answer away.

Example::

    result = verify("ecs-cli", "4", endpoint_url="http://127.0.0.1:4599")
    print(result.render())
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecsdojo.cloud import make_client


@dataclass(frozen=True)
class StepResult:
    passed: bool
    detail: str
    hint: str = ""

    def render(self) -> str:
        if self.passed:
            return f"✓ {self.detail}"
        return f"✗ {self.detail}" + (f"\n  hint: {self.hint}" if self.hint else "")


class UnknownStepError(Exception):
    def __init__(self, lab: str, step: str, known: list[str]) -> None:
        super().__init__(f"no step {step!r} in lab {lab!r}; steps: {', '.join(known)}")


class UnknownLabError(Exception):
    def __init__(self, lab: str, known: list[str]) -> None:
        super().__init__(f"no lab {lab!r}; labs: {', '.join(known)}")


Clients = Callable[[str], Any]


def _service(clients: Clients, cluster: str, name: str) -> dict | None:
    try:
        services = clients("ecs").describe_services(cluster=cluster, services=[name])["services"]
    except Exception:  # noqa: BLE001 - ClusterNotFound and the like: no service
        return None
    return services[0] if services and services[0]["status"] == "ACTIVE" else None


def step_up(clients: Clients) -> StepResult:
    clients("ecs").list_clusters()
    return StepResult(True, "dojo up answers and your AWS CLI environment reaches it")


def step_cluster(clients: Clients) -> StepResult:
    arns = clients("ecs").list_clusters()["clusterArns"]
    if not any(arn.endswith(":cluster/my-cluster") for arn in arns):
        return StepResult(False, f"no cluster named my-cluster (found: {[a.rsplit('/', 1)[-1] for a in arns]})",
                          "aws ecs create-cluster takes --cluster-name")
    instances = clients("ecs").list_container_instances(cluster="my-cluster")["containerInstanceArns"]
    return StepResult(True, f"cluster my-cluster exists with {len(instances)} container instance(s)")


def step_task_definition(clients: Clients) -> StepResult:
    try:
        definition = clients("ecs").describe_task_definition(taskDefinition="my-task")["taskDefinition"]
    except Exception:  # noqa: BLE001
        return StepResult(False, "no task definition in family my-task",
                          "register-task-definition needs --family and --container-definitions file://…")
    containers = definition["containerDefinitions"]
    if not any(c.get("image", "").startswith("ecsdojo/app") for c in containers):
        return StepResult(False, "my-task does not run the demo image ecsdojo/app",
                          "use the container-definitions.json of this folder")
    return StepResult(True, f"{definition['family']}:{definition['revision']} registered with "
                            f"{len(containers)} container(s)")


def _service_step(clients: Clients, want: int, command_hint: str) -> StepResult:
    service = _service(clients, "my-cluster", "my-service")
    if service is None:
        return StepResult(False, "no ACTIVE service my-service in my-cluster", command_hint)
    if service["desiredCount"] != want:
        return StepResult(False, f"my-service wants {service['desiredCount']} tasks, not {want}", command_hint)
    if service["runningCount"] != want:
        return StepResult(False, f"my-service runs {service['runningCount']} of {want} tasks so far",
                          "give it a few seconds, then verify again; `dojo status` shows the tasks")
    return StepResult(True, f"my-service runs {want} tasks on real containers (`docker ps` shows them)")


def step_service(clients: Clients) -> StepResult:
    return _service_step(clients, 2, "create-service needs --cluster, --service-name, --task-definition, "
                                     "--desired-count and --launch-type")


def step_scale(clients: Clients) -> StepResult:
    return _service_step(clients, 5, "update-service takes --cluster, --service and --desired-count")


def step_fargate(clients: Clients) -> StepResult:
    try:
        definition = clients("ecs").describe_task_definition(taskDefinition="my-fargate-task")["taskDefinition"]
    except Exception:  # noqa: BLE001
        return StepResult(False, "no task definition in family my-fargate-task yet",
                          "the error message of the broken file names what Fargate accepts for 256 CPU units")
    if "FARGATE" not in (definition.get("requiresCompatibilities") or []):
        return StepResult(False, "my-fargate-task does not require FARGATE", "keep requiresCompatibilities")
    return StepResult(True, f"my-fargate-task:{definition['revision']} registered: {definition['cpu']} CPU units, "
                            f"{definition['memory']} MiB, networkMode {definition['networkMode']}")


def step_scalable_target(clients: Clients) -> StepResult:
    targets = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/my-cluster/my-service"])["ScalableTargets"]
    if not targets:
        return StepResult(False, "no scalable target for service/my-cluster/my-service",
                          "--resource-id is service/CLUSTER/SERVICE and the dimension ecs:service:DesiredCount")
    target = targets[0]
    policies = clients("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/my-cluster/my-service")["ScalingPolicies"]
    note = ("no scaling policy yet, so nothing will scale on load" if not policies
            else f"{len(policies)} scaling policy(ies) attached")
    return StepResult(True, f"scalable target registered: min {target['MinCapacity']}, max "
                            f"{target['MaxCapacity']}; {note}")


STACK, STACK_CLUSTER, STACK_SERVICE = "web-stack", "cfn-cluster", "cfn-web"
DEPLOY_HINT = ("aws cloudformation deploy --stack-name web-stack --template-file service-stack.yaml "
               "--parameter-overrides VpcId=$VPC Subnets=$SUBNETS (steps/8-cloudformation.md sets VPC and SUBNETS)")


def _stack_service(clients: Clients) -> tuple[dict | None, StepResult | None]:
    """The lab stack's service when the stack is complete, else the failing result."""
    try:
        stack = clients("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    except Exception:  # noqa: BLE001 - ValidationError "Stack with id web-stack does not exist"
        return None, StepResult(False, f"no stack {STACK}", DEPLOY_HINT)
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return None, StepResult(False, f"stack {STACK} is {stack['StackStatus']}",
                                "aws cloudformation describe-stack-events --stack-name web-stack says why")
    service = _service(clients, STACK_CLUSTER, STACK_SERVICE)
    if service is None:
        return None, StepResult(False, f"no ACTIVE service {STACK_SERVICE} in {STACK_CLUSTER}",
                                "the template's Service resource makes it; deploy service-stack.yaml unchanged")
    if service["runningCount"] != service["desiredCount"] or len(service["deployments"]) != 1:
        return None, StepResult(False, f"{STACK_SERVICE} runs {service['runningCount']} of "
                                       f"{service['desiredCount']} tasks in {len(service['deployments'])} "
                                       "deployment(s) so far",
                                "aws ecs wait services-stable --cluster cfn-cluster --services cfn-web, then "
                                "verify again")
    return service, None


def step_stack(clients: Clients) -> StepResult:
    service, failed = _stack_service(clients)
    if failed is not None:
        return failed
    if not service.get("loadBalancers"):
        return StepResult(False, f"{STACK_SERVICE} is not behind the load balancer",
                          "keep the template's LoadBalancers property")
    return StepResult(True, f"stack {STACK} made {STACK_SERVICE}: {service['runningCount']} tasks behind the "
                            "load balancer, steady (`dojo status` lists it like an API-made service)")


def step_stack_update(clients: Clients) -> StepResult:
    service, failed = _stack_service(clients)
    if failed is not None:
        return failed
    definition = clients("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    version = {e["name"]: e["value"] for c in definition["containerDefinitions"]
               for e in c.get("environment", [])}.get("APP_VERSION")
    if version != "v2":
        return StepResult(False, f"{STACK_SERVICE} runs {service['taskDefinition'].rsplit('/', 1)[-1]} with "
                                 f"APP_VERSION={version}", "deploy again with AppVersion=v2 in --parameter-overrides")
    return StepResult(True, f"the stack update rolled {STACK_SERVICE} to "
                            f"{service['taskDefinition'].rsplit('/', 1)[-1]} (APP_VERSION=v2), steady")


LABS: dict[str, dict[str, Callable[[Clients], StepResult]]] = {
    "ecs-cli": {"1": step_up, "2": step_cluster, "3": step_task_definition, "4": step_service,
                "5": step_scale, "6": step_fargate, "7": step_scalable_target, "8": step_stack,
                "9": step_stack_update},
}


def verify(lab: str, step: str, *, endpoint_url: str) -> StepResult:
    if lab not in LABS:
        raise UnknownLabError(lab, sorted(LABS))
    steps = LABS[lab]
    if step not in steps:
        raise UnknownStepError(lab, step, list(steps))
    return steps[step](lambda service: make_client(service, endpoint_url))


def running_endpoint() -> str | None:
    """The endpoint of the running `dojo up`, from its state file."""
    from ecsdojo.control.cli import state_dir
    from ecsdojo.runtime.base import alive

    info_path = state_dir() / "endpoint.json"
    if not info_path.exists():
        return None
    info = json.loads(info_path.read_text())
    return info["endpoint"] if alive(int(info.get("pid", 0))) else None


def _verify_command(args) -> int:
    endpoint = args.endpoint or running_endpoint()
    if endpoint is None:
        print("✗ dojo up is not running\n  hint: start it in another terminal with `dojo up`")
        return 1
    try:
        result = verify(args.lab, args.step, endpoint_url=endpoint)
    except (UnknownLabError, UnknownStepError) as error:
        print(f"✗ {error}")
        return 2
    print(result.render())
    return 0 if result.passed else 1


def register(commands) -> None:
    parser = commands.add("verify", help="check a step of a terminal lab against `dojo up`", handler=_verify_command)
    parser.add_argument("lab", help="the lab, e.g. ecs-cli (see labs/)")
    parser.add_argument("step", help="the step number")
    parser.add_argument("--endpoint", default=None, help="moto's URL (default: the running `dojo up`)")
