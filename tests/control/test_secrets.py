"""A task's `secrets` from Parameter Store and Secrets Manager (moto), injected at start as environment variables.

The demo app answers /version with $APP_VERSION, so a secret named APP_VERSION shows what the container got.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest

from ecsdojo.control import events
from ecsdojo.control.ecs.secrets import secret_environments
from ecsdojo.control.local import LocalECS
from ecsdojo.control.moto.secrets import SecretUnavailable
from ecsdojo.control.moto.views import TaskDefinitionView
from tests.conftest import wait_for


EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
READ_SECRETS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssm:GetParameters", "secretsmanager:GetSecretValue"], "Resource": "*"}]}
TRUST_ECS_TASKS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def execution_role(local, name, policy):
    """An IAM role in moto with one inline policy; its ARN."""
    iam = local.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_ECS_TASKS))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="secrets", PolicyDocument=json.dumps(policy))
    return arn


# ---- unit -------------------------------------------------------------------------------------------------------
def view(*containers):
    return TaskDefinitionView(arn="arn:td/web:1", family="web", container_definitions=containers)


def test_secret_environments_reads_each_secret_once_per_container():
    reads = []

    def read(region, value_from, role):
        reads.append((region, value_from, role))
        return f"value-of-{value_from}"

    environments, blocked = secret_environments(replace(view(
        {"name": "web", "secrets": [{"name": "A", "valueFrom": "/a"}, {"name": "B", "valueFrom": "/b"}]},
        {"name": "sidecar"}), execution_role_arn=EXECUTION_ROLE), region="eu-west-1", read=read)
    assert blocked is None
    assert environments == {"web": {"A": "value-of-/a", "B": "value-of-/b"}}
    assert reads == [("eu-west-1", "/a", EXECUTION_ROLE), ("eu-west-1", "/b", EXECUTION_ROLE)], \
        "read with the execution role"


def test_an_unreadable_secret_blocks_the_start_with_ecs_wording():
    def read(region, value_from, role):
        raise SecretUnavailable("ssm", value_from, f"invalid parameters: {value_from}")

    environments, blocked = secret_environments(view({"name": "web", "secrets": [{"name": "A", "valueFrom": "/a"}]}),
                                                region="us-east-1", read=read)
    assert environments == {}
    assert blocked == ("web", "ResourceInitializationError: unable to pull secrets or registry auth: execution "
                              "resource retrieval failed: unable to retrieve secrets from ssm: service call has been "
                              "retried 1 time(s): invalid parameters: /a")


# ---- LocalECS (process runtime; the same engine runs Docker containers) ------------------------------------------
@pytest.fixture
def local():
    with LocalECS(speed=20, runtime="process", load_balancers=False) as running:
        assert execution_role(running, "ecsTaskExecutionRole", READ_SECRETS) == EXECUTION_ROLE
        yield running


def register(ecs, family, value_from, role=EXECUTION_ROLE):
    ecs.register_task_definition(family=family, **({"executionRoleArn": role} if role else {}), containerDefinitions=[{
        "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}],
        "secrets": [{"name": "APP_VERSION", "valueFrom": value_from}]}])


def stopped(ecs, arn):
    return wait_for(lambda: [t for t in ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
                             if t["lastStatus"] == "STOPPED"], timeout=30, message="the task to stop")[0]


def version_of(local, arn):
    task = wait_for(lambda: next((t for t in local.tasks("c") if t.arn == arn and t.last_status == "RUNNING"
                                  and t.containers[0].host_ports.get(8080)), None),
                    timeout=30, message="the task to run")
    port = task.containers[0].host_ports[8080]

    def answer():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=2) as response:
                return json.loads(response.read())["version"]
        except OSError:
            return None

    return wait_for(answer, timeout=20, message="the app's /version")


def run(ecs, family):
    return ecs.run_task(cluster="c", taskDefinition=family, launchType="EC2")["tasks"][0]["taskArn"]


def test_parameter_store_and_secrets_manager_values_arrive_as_environment_variables(local):
    ecs, ssm, asm = local.client("ecs"), local.client("ssm"), local.client("secretsmanager")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="from-ssm", Type="SecureString")
    secret_arn = asm.create_secret(Name="app", SecretString=json.dumps({"version": "from-asm"}))["ARN"]
    register(ecs, "by-name", "/app/version")
    register(ecs, "by-arn", "arn:aws:ssm:us-east-1:123456789012:parameter/app/version")
    register(ecs, "json-key", f"{secret_arn}:version::")
    assert version_of(local, run(ecs, "by-name")) == "from-ssm"
    assert version_of(local, run(ecs, "by-arn")) == "from-ssm"
    assert version_of(local, run(ecs, "json-key")) == "from-asm"


def test_a_changed_secret_reaches_only_tasks_started_afterwards(local):
    ecs, ssm = local.client("ecs"), local.client("ssm")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="first", Type="String")
    register(ecs, "web", "/app/version")
    old = run(ecs, "web")
    assert version_of(local, old) == "first"
    ssm.put_parameter(Name="/app/version", Value="second", Type="String", Overwrite=True)
    assert version_of(local, run(ecs, "web")) == "second"
    assert version_of(local, old) == "first"


def test_a_missing_secret_stops_the_task_before_any_container_starts(local):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="c")
    register(ecs, "ssm-missing", "/no/such/parameter")
    register(ecs, "asm-missing", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    bodies = {}
    for family in ("ssm-missing", "asm-missing"):
        arn = run(ecs, family)
        bodies[family] = wait_for(lambda: [t for t in ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
                                           if t["lastStatus"] == "STOPPED"], timeout=30,
                                  message=f"the {family} task to stop")[0]
    for body in bodies.values():
        assert body["stopCode"] == "TaskFailedToStart"
        assert body["stoppedReason"].startswith(events.SECRETS_PREFIX)
    assert bodies["ssm-missing"]["stoppedReason"].endswith("invalid parameters: /no/such/parameter")
    assert bodies["asm-missing"]["stoppedReason"].endswith(
        "from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")
    assert local.runtime.list({"ecsdojo.session": local.session}) == []


@pytest.mark.docker
def test_a_real_container_gets_its_secret_and_a_missing_one_fails_the_start(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", load_balancers=False) as on_docker:
        ecs, ssm = on_docker.client("ecs"), on_docker.client("ssm")
        ecs.create_cluster(clusterName="c")
        ssm.put_parameter(Name="/app/version", Value="from-ssm", Type="SecureString")
        assert execution_role(on_docker, "ecsTaskExecutionRole", READ_SECRETS) == EXECUTION_ROLE
        denied = execution_role(on_docker, "logs-only", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
        register(ecs, "web", "/app/version")
        register(ecs, "missing", "/no/such/parameter")
        register(ecs, "denied", "/app/version", role=denied)
        assert version_of(on_docker, run(ecs, "web")) == "from-ssm"
        body = stopped(ecs, run(ecs, "denied"))
        assert body["stopCode"] == "TaskFailedToStart" and "AccessDeniedException" in body["stoppedReason"]
        arn = run(ecs, "missing")
        body = wait_for(lambda: [t for t in ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
                                 if t["lastStatus"] == "STOPPED"], timeout=30, message="the task to stop")[0]
        assert body["stopCode"] == "TaskFailedToStart" and body["stoppedReason"].startswith(events.SECRETS_PREFIX)


# ---- the execution role's permissions (process runtime) ------------------------------------------------------
def test_a_role_without_the_permission_fails_the_start_with_access_denied(local):
    ecs, ssm, asm = local.client("ecs"), local.client("ssm"), local.client("secretsmanager")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="from-ssm", Type="String")
    secret_arn = asm.create_secret(Name="app", SecretString="from-asm")["ARN"]
    logs_only = execution_role(local, "logs-only", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]})
    register(ecs, "ssm-denied", "/app/version", role=logs_only)
    register(ecs, "asm-denied", secret_arn, role=logs_only)
    ssm_body, asm_body = stopped(ecs, run(ecs, "ssm-denied")), stopped(ecs, run(ecs, "asm-denied"))
    who = "User: arn:aws:sts::123456789012:assumed-role/logs-only/ecs-execution is not authorized to perform:"
    assert (ssm_body["stopCode"], asm_body["stopCode"]) == ("TaskFailedToStart", "TaskFailedToStart")
    assert ssm_body["stoppedReason"] == events.secrets_unavailable_reason(
        "ssm", f"AccessDeniedException: {who} ssm:GetParameters on resource: "
               "arn:aws:ssm:us-east-1:123456789012:parameter/app/version")
    assert asm_body["stoppedReason"] == events.secrets_unavailable_reason(
        "asm", f"failed to fetch secret {secret_arn} from secrets manager: AccessDeniedException: {who} "
               f"secretsmanager:GetSecretValue on resource: {secret_arn}")
    assert local.runtime.list({"ecsdojo.session": local.session}) == [], "no container started"


def test_an_explicit_deny_wins_and_an_allow_on_one_parameter_reads_only_that_one(local):
    ecs, ssm = local.client("ecs"), local.client("ssm")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="allowed", Type="String")
    ssm.put_parameter(Name="/app/other", Value="not for this role", Type="String")
    ssm.put_parameter(Name="/app/denied", Value="denied", Type="String")
    narrow = execution_role(local, "narrow", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": ["arn:aws:ssm:us-east-1:123456789012:parameter/app/version",
                      "arn:aws:ssm:us-east-1:123456789012:parameter/app/denied"]},
        {"Effect": "Deny", "Action": "ssm:*", "Resource": "arn:aws:ssm:us-east-1:123456789012:parameter/app/denied"}]})
    register(ecs, "allowed", "/app/version", role=narrow)
    register(ecs, "other", "/app/other", role=narrow)
    register(ecs, "denied", "/app/denied", role=narrow)
    assert version_of(local, run(ecs, "allowed")) == "allowed"
    for family in ("other", "denied"):
        body = stopped(ecs, run(ecs, family))
        assert body["stopCode"] == "TaskFailedToStart"
        assert f"ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/app/{family}" \
            in body["stoppedReason"], family


def test_a_task_definition_without_an_execution_role_cannot_read_its_secrets(local):
    ecs, ssm = local.client("ecs"), local.client("ssm")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="from-ssm", Type="String")
    register(ecs, "no-role", "/app/version", role=None)
    body = stopped(ecs, run(ecs, "no-role"))
    assert body["stopCode"] == "TaskFailedToStart"
    assert body["stoppedReason"] == events.secrets_unavailable_reason(
        "ssm", "NoCredentialProviders: no valid providers in chain")
    assert local.runtime.list({"ecsdojo.session": local.session}) == []


def test_run_tasks_execution_role_override_is_the_role_the_secrets_are_read_with(local):
    ecs, ssm = local.client("ecs"), local.client("ssm")
    ecs.create_cluster(clusterName="c")
    ssm.put_parameter(Name="/app/version", Value="through-the-override", Type="String")
    register(ecs, "no-role", "/app/version", role=None)
    arn = ecs.run_task(cluster="c", taskDefinition="no-role", launchType="EC2",
                       overrides={"executionRoleArn": EXECUTION_ROLE})["tasks"][0]["taskArn"]
    assert version_of(local, arn) == "through-the-override"
