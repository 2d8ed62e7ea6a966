"""Inside a task: the task metadata endpoint v4, the task role's credentials, and IAM that bites.

Docker tests run boto3 INSIDE a task's container (an image made from the demo image plus the host's boto3, which
is pure Python, built once per session) and check what it gets: the task role's identity, the task's ARN from
the metadata endpoint, S3 denied until the task role has a policy. The network rule is checked too: the
endpoints listen on the container's loopback only and the engine side is Unix sockets.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import botocore.exceptions
import pytest

from ecsdojo.cloud import MotoServer, make_client
from ecsdojo.control import events
from ecsdojo.control.agent.metadata import ContainerIdentity, container_metadata, task_metadata
from ecsdojo.control.moto.iam import IAM_MARKER_HEADER, enforce_iam_on_marked_requests
from ecsdojo.control.records import ContainerRecord, TaskRecord
from tests.conftest import wait_for

BOTO_IMAGE = "ecsdojo/test-app-boto3:latest"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
READ_OBJECTS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]})


# ---- pure: the metadata shapes ------------------------------------------------------------------------------------
def test_container_and_task_metadata_have_the_documented_v4_fields():
    arn = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef"
    task = TaskRecord(arn=arn, id="0123456789abcdef", cluster="c", task_definition_arn="arn:td/web:3",
                      group="family:web", service="web", last_status="RUNNING", cpu="512", memory="1024",
                      containers=[ContainerRecord(name="app", image="ecsdojo/app:latest", container_arn=arn + "/app",
                                                  runtime_id="d0c4e7", last_status="RUNNING",
                                                  host_ports={8080: 32768})])
    identity = ContainerIdentity(task_arn=arn, name="app", docker_name="ecsdojo-c-01234567-app",
                                 image="ecsdojo/app:latest", family="web", revision=3, cpu=256, memory=128)
    container = container_metadata(identity, task, task.containers[0])
    assert container["DockerId"] == "d0c4e7" and container["Name"] == "app"
    assert container["Labels"]["com.amazonaws.ecs.task-arn"] == arn
    assert container["Labels"]["com.amazonaws.ecs.task-definition-version"] == "3"
    assert container["Limits"] == {"CPU": 256, "Memory": 128}
    assert container["Ports"] == [{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": 32768,
                                   "HostIp": "127.0.0.1"}]
    body = task_metadata(task, [identity])
    assert (body["TaskARN"], body["Family"], body["Revision"], body["ServiceName"]) == (arn, "web", "3", "web")
    assert body["Limits"] == {"CPU": 0.5, "Memory": 1024}
    assert [c["Name"] for c in body["Containers"]] == ["app"]


# ---- moto: IAM judges marked requests only ------------------------------------------------------------------------
def test_iam_is_enforced_on_marked_requests_only():
    enforce_iam_on_marked_requests()
    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="reports")          # the engine's own call: fake keys, no IAM check
        marked = make_client("s3", moto.endpoint_url)

        def mark(request, **_):
            request.headers[IAM_MARKER_HEADER] = "1"

        marked.meta.events.register("before-sign.s3", mark)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            marked.list_objects_v2(Bucket="reports")
        assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"   # "testing" is no IAM user's key
        assert s3.list_objects_v2(Bucket="reports")["KeyCount"] == 0


# ---- real containers ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def boto_image(docker_client, app_image, tmp_path_factory):
    """The demo image plus boto3 and the AWS CLI (copied from this environment: pure Python — PyYAML falls back to
    its Python code —, the image's Python is 3.11 too), botocore's data trimmed to the services the tests call."""
    import awscli
    import boto3
    import botocore
    import colorama
    import dateutil
    import docutils
    import jmespath
    import pyasn1
    import rsa
    import s3transfer
    import six
    import urllib3
    import yaml

    context = tmp_path_factory.mktemp("boto-image")
    target = context / "boto"
    for module in (boto3, jmespath, s3transfer, dateutil, urllib3, awscli, colorama, docutils, pyasn1, rsa, yaml):
        shutil.copytree(Path(module.__file__).parent, target / Path(module.__file__).parent.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(six.__file__, target / "six.py")
    source = Path(botocore.__file__).parent
    shutil.copytree(source, target / "botocore", ignore=shutil.ignore_patterns("__pycache__", "data"))
    (target / "botocore" / "data").mkdir()
    for entry in (source / "data").iterdir():
        if entry.is_file():
            shutil.copy(entry, target / "botocore" / "data" / entry.name)
        elif entry.name in ("sts", "s3", "iam"):
            shutil.copytree(entry, target / "botocore" / "data" / entry.name)
    (context / "aws").write_text('#!/bin/sh\nexec python3 -m awscli "$@"\n')
    (context / "aws").chmod(0o755)                       # COPY keeps the mode (no --chmod without BuildKit)
    (context / "Dockerfile").write_text(f"FROM {app_image}\nCOPY boto /opt/boto\nCOPY aws /usr/local/bin/aws\n"
                                        "ENV PYTHONPATH=/opt/boto\n")
    docker_client.images.build(path=str(context), tag=BOTO_IMAGE, rm=True)
    return BOTO_IMAGE


@pytest.fixture(scope="module")
def on_docker(boto_image):
    from ecsdojo.control.local import LocalECS

    with LocalECS(speed=20, runtime="docker", load_balancers=False, autoscaling=False) as local:
        local.client("ecs").create_cluster(clusterName="c")
        yield local


def run_task(local, family, *, role=None, execution_role=None):
    ecs = local.client("ecs")
    roles = {**({"taskRoleArn": role} if role else {}), **({"executionRoleArn": execution_role} if execution_role
                                                             else {})}
    ecs.register_task_definition(family=family, **roles, containerDefinitions=[{
        "name": "app", "image": BOTO_IMAGE, "memory": 256}])
    arn = ecs.run_task(cluster="c", taskDefinition=family, launchType="EC2")["tasks"][0]["taskArn"]
    task = wait_for(lambda: next((t for t in local.tasks("c") if t.arn == arn and t.last_status == "RUNNING"), None),
                    timeout=60, message=f"task {family} to run")
    return task


def in_container(docker_client, task, code: str) -> tuple[int, str]:
    """Run python3 -c CODE inside the task's container (with the environment ECS gave it)."""
    container = docker_client.containers.get(task.containers[0].runtime_id)
    result = container.exec_run(["python3", "-c", code])
    return result.exit_code, result.output.decode(errors="replace").strip()


WHO_AM_I = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"
READ_REPORT = """
import boto3, botocore.exceptions
try:
    print(boto3.client('s3').get_object(Bucket='reports', Key='q1.txt')['Body'].read().decode())
except botocore.exceptions.ClientError as error:
    print(error.response['Error']['Code'])
"""
WRITE_REPORT = """
import boto3, botocore.exceptions
try:
    boto3.client('s3').put_object(Bucket='reports', Key='q2.txt', Body=b'x' * 100000)
    print('written')
except botocore.exceptions.ClientError as error:
    print(error.response['Error']['Code'])
"""


@pytest.mark.docker
def test_boto3_in_a_task_gets_the_task_roles_credentials_and_its_task_arn(on_docker, docker_client):
    iam = on_docker.client("iam")
    role = iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    task = run_task(on_docker, "with-role", role=role)
    code, out = in_container(docker_client, task, WHO_AM_I)
    assert code == 0, out
    assert out == f"arn:aws:sts::123456789012:assumed-role/app-role/{task.id}"
    container = docker_client.containers.get(task.containers[0].runtime_id)
    cli = container.exec_run(["aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"])
    assert (cli.exit_code, cli.output.decode().strip()) == (0, out)       # the AWS CLI, no keys either
    code, out = in_container(docker_client, task, (
        "import json, os, urllib.request\n"
        "uri = os.environ['ECS_CONTAINER_METADATA_URI_V4']\n"
        "task = json.load(urllib.request.urlopen(uri + '/task'))\n"
        "me = json.load(urllib.request.urlopen(uri))\n"
        "stats = json.load(urllib.request.urlopen(uri + '/stats'))\n"
        "print(json.dumps([task['TaskARN'], task['Family'], me['Name'], me['DockerId'], me['KnownStatus'],\n"
        "                  stats['memory_stats']['usage'] > 0]))"))
    assert code == 0, out
    assert json.loads(out) == [task.arn, "with-role", "app", task.containers[0].runtime_id, "RUNNING", True]


@pytest.mark.docker
def test_s3_is_denied_without_a_task_role_policy_and_allowed_with_one(on_docker, docker_client):
    iam, s3 = on_docker.client("iam"), on_docker.client("s3")
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="q1.txt", Body=b"revenue up")
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    # The execution role is the engine's (pulls, logs, secrets): a policy there gives the app nothing.
    execution = iam.create_role(RoleName="reader-execution", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="reader-execution", PolicyName="read-reports", PolicyDocument=READ_OBJECTS)
    task = run_task(on_docker, "reader", role=role, execution_role=execution)
    assert in_container(docker_client, task, READ_REPORT) == (0, "AccessDenied")
    iam.put_role_policy(RoleName="reader", PolicyName="read-reports", PolicyDocument=READ_OBJECTS)
    assert in_container(docker_client, task, READ_REPORT) == (0, "revenue up")
    assert in_container(docker_client, task, WRITE_REPORT) == (0, "AccessDenied")     # GetObject only
    iam.put_role_policy(RoleName="reader", PolicyName="write-reports", PolicyDocument=READ_OBJECTS.replace(
        "s3:GetObject", "s3:PutObject"))
    assert in_container(docker_client, task, WRITE_REPORT) == (0, "written")          # a body through the relay
    assert s3.get_object(Bucket="reports", Key="q2.txt")["ContentLength"] == 100000
    assert s3.get_object(Bucket="reports", Key="q1.txt")["Body"].read() == b"revenue up"   # the engine: unaffected


@pytest.mark.docker
def test_a_task_without_a_role_gets_no_credentials(on_docker, docker_client):
    task = run_task(on_docker, "no-role")
    code, out = in_container(docker_client, task, (
        "import os, boto3, botocore.exceptions\n"
        "print('AWS_CONTAINER_CREDENTIALS_FULL_URI' in os.environ)\n"
        "try:\n    boto3.client('sts').get_caller_identity()\n"
        "except botocore.exceptions.NoCredentialsError:\n    print('no credentials')"))
    assert (code, out) == (0, "False\nno credentials")


@pytest.mark.docker
def test_the_endpoints_listen_on_the_containers_loopback_only(on_docker, docker_client):
    task = run_task(on_docker, "net")
    container = docker_client.containers.get(task.containers[0].runtime_id)
    environment = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    for name in ("ECS_CONTAINER_METADATA_URI_V4", "AWS_ENDPOINT_URL"):
        assert urlparse(environment[name]).hostname == "127.0.0.1", name
    assert environment["AWS_EC2_METADATA_DISABLED"] == "true"        # no probe of 169.254.169.254
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        code, out = in_container(docker_client, task, f"print(open('{table}').read())")
        assert code == 0, out
        for line in out.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":                # LISTEN
                address, port = fields[1].split(":")
                listening.append((address, int(port, 16)))
    agent_ports = [(address, port) for address, port in listening if port in (51679, 51680)]
    assert sorted(agent_ports) == [("0100007F", 51679), ("0100007F", 51680)]     # 127.0.0.1, nothing else
    agent = on_docker.plane.task_reconciler.agent
    assert {server.socket.family for server in agent._servers} == {socket.AF_UNIX}
    assert {mount["Destination"]: mount["RW"] for mount in container.attrs["Mounts"]} == {"/ecs-agent": False}


# ---- the process runtime (simulated containers are host processes: the agent listens on the host's 127.0.0.1) ------
def test_a_simulated_containers_environment_gets_the_task_role_and_iam_applies(tmp_path):
    import os
    import subprocess
    import sys

    from ecsdojo.control.local import LocalECS

    with LocalECS(speed=20, runtime="process", load_balancers=False, autoscaling=False) as local:
        iam, s3, ecs = local.client("iam"), local.client("s3"), local.client("ecs")
        ecs.create_cluster(clusterName="c")
        s3.create_bucket(Bucket="reports")
        s3.put_object(Bucket="reports", Key="q1.txt", Body=b"revenue up")
        role = iam.create_role(RoleName="sim-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        ecs.register_task_definition(family="sim", taskRoleArn=role, containerDefinitions=[{
            "name": "app", "image": "ecsdojo/app:latest", "memory": 128}])
        arn = ecs.run_task(cluster="c", taskDefinition="sim", launchType="EC2")["tasks"][0]["taskArn"]
        task = wait_for(lambda: next((t for t in local.tasks("c") if t.arn == arn and t.last_status == "RUNNING"),
                                     None), timeout=30, message="the task to run")
        environment = dict(local.runtime._containers[task.containers[0].runtime_id].environment)
        for name in ("ECS_CONTAINER_METADATA_URI_V4", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL"):
            assert urlparse(environment[name]).hostname == "127.0.0.1", name
        environment["PATH"] = os.environ["PATH"]

        def as_the_container(code):
            done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                                  timeout=60)
            return done.returncode, (done.stdout + done.stderr).strip()

        assert as_the_container(WHO_AM_I) == (0, f"arn:aws:sts::123456789012:assumed-role/sim-role/{task.id}")
        assert as_the_container(READ_REPORT) == (0, "AccessDenied")
        # A JSON-protocol service (ECS, here through the engine's intercepted ListTasks) denies in its own shape.
        assert as_the_container(
            "import boto3, botocore.exceptions\n"
            "try:\n    boto3.client('ecs').list_tasks(cluster='c')\n"
            "except botocore.exceptions.ClientError as error:\n    print(error.response['Error']['Code'])"
        ) == (0, "AccessDeniedException")
        iam.put_role_policy(RoleName="sim-role", PolicyName="read", PolicyDocument=READ_OBJECTS)
        assert as_the_container(READ_REPORT) == (0, "revenue up")
        assert as_the_container(
            "import json, os, urllib.request\n"
            "print(json.load(urllib.request.urlopen(os.environ['ECS_CONTAINER_METADATA_URI_V4'] + '/task'))"
            "['TaskARN'])") == (0, arn)

        # RunTask's overrides.taskRoleArn wins over the definition's role, for that task only.
        other = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        overridden = ecs.run_task(cluster="c", taskDefinition="sim", launchType="EC2",
                                  overrides={"taskRoleArn": other})["tasks"][0]["taskArn"]
        task = wait_for(lambda: next((t for t in local.tasks("c") if t.arn == overridden
                                      and t.last_status == "RUNNING"), None), timeout=30, message="the task to run")
        environment.update(local.runtime._containers[task.containers[0].runtime_id].environment)
        assert as_the_container(WHO_AM_I) == (0, f"arn:aws:sts::123456789012:assumed-role/other-role/{task.id}")


# ---- the task reconciler's hooks, on the fake runtime (a real TaskAgent on its Unix sockets) ------------------------
def _unix_request(path: Path, method: str, url: str) -> tuple[int, dict]:
    """One HTTP request on a Unix socket (what the forwarder relays a container's request to)."""
    import http.client

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(path))

    connection = UnixConnection("agent")
    connection.request(method, url)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


@pytest.fixture
def agent_engine():
    from ecsdojo.control.agent import TaskAgent
    from ecsdojo.runtime.fake import FakeRuntime
    from tests.control.fakes import make_engine

    runtime = FakeRuntime()
    engine = make_engine(runtime=runtime)
    agent = TaskAgent(moto_url="http://127.0.0.1:9", runtime=runtime, region="us-east-1").start()
    agent.bind(engine.store)
    engine.tasks.agent = agent
    yield engine, agent
    agent.stop()


def _launch(engine):
    definition = engine.desired.add_definition("job")
    result = engine.launcher.launch(cluster="demo", definition=definition, count=1, group="family:job",
                                    started_by="", launch_type="EC2")
    return engine.store.tasks[result.task_arns[0]]


def test_each_container_gets_the_mount_the_variables_and_a_forwarder_before_the_task_runs(agent_engine):
    engine, agent = agent_engine
    engine.runtime.on_exec = lambda _id, command: _unix_request(  # the forwarder's report
        agent.directory / "agent.sock", "POST", f"/ready/{command[-1]}?status=listening")
    task = _launch(engine)
    engine.tasks.sync(task.arn)
    runtime_id = task.containers[0].runtime_id
    spec = engine.runtime.specs[runtime_id]
    token = urlparse(spec.environment["ECS_CONTAINER_METADATA_URI_V4"]).path.split("/")[-1]
    assert engine.runtime.actions == [("start", spec.name),
                                      ("exec", runtime_id, ("python3", "/ecs-agent/forwarder.py", token))]
    assert spec.mounts == ((str(agent.directory), "/ecs-agent", True),)
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in spec.environment        # the definition has no task role
    assert task.last_status == "RUNNING"
    status, body = _unix_request(agent.directory / "agent.sock", "GET", f"/v4/{token}/task")
    assert (status, body["TaskARN"], body["KnownStatus"]) == (200, task.arn, "RUNNING")
    engine.store.request_stop(task, events.stop_by_user("done"))
    engine.tasks.sync(task.arn)
    assert task.last_status == "STOPPED"
    assert _unix_request(agent.directory / "agent.sock", "GET", f"/v4/{token}")[0] == 404      # forgotten once stopped
    assert _unix_request(agent.directory / "agent.sock", "GET", "/v2/credentials/no-such-id") == (
        400, {"code": "InvalidIdInRequest", "message": "CredentialsV2Request: Credentials not found",
              "HTTPErrorCode": 400})


def test_a_container_that_cannot_run_the_forwarder_still_runs_its_task(agent_engine):
    engine, _ = agent_engine
    # The exec ends at once with 127 (no python3 in the image); the fake numbers execs by its action count.
    engine.runtime.on_exec = lambda _id, _command: engine.runtime.exec_exit_codes.update({"exec-2": 127})
    task = _launch(engine)
    engine.tasks.sync(task.arn)
    assert [action[0] for action in engine.runtime.actions] == ["start", "exec"]
    assert task.last_status == "RUNNING"


def test_a_socket_directory_left_by_a_dead_process_is_swept(tmp_path, monkeypatch):
    import os
    import subprocess
    import tempfile

    from ecsdojo.control.agent import server

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()                                    # its pid is free now (reaped)
    left = tmp_path / f"{server.DIRECTORY_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{server.DIRECTORY_PREFIX}{os.getpid()}-def"
    left.mkdir()
    mine.mkdir()
    assert server.sweep_directories() == 1
    assert not left.exists() and mine.exists()


def test_a_spec_that_is_not_one_of_the_definitions_containers_is_left_alone(agent_engine):
    """A task may run a container of its own (an awsvpc task's pause container): no token, no mount, no variables."""
    from ecsdojo.control.specs import container_specs
    from ecsdojo.runtime.base import ContainerSpec, owned_labels

    engine, agent = agent_engine
    task = _launch(engine)
    definition = engine.desired.task_definition(task.task_definition_arn)
    pause = ContainerSpec(name="pause", image="ecsdojo/app:latest", labels=owned_labels("unit"))
    specs = [pause, *container_specs(definition.containers(), task, clock=engine.clock, labels=owned_labels("unit"))]
    prepared = agent.prepare(task, definition, specs)
    assert prepared[0] is pause
    assert prepared[1].mounts == ((str(agent.directory), "/ecs-agent", True),)
    assert "ECS_CONTAINER_METADATA_URI_V4" in prepared[1].environment


def test_a_task_roles_credentials_are_served_while_it_runs_and_revoked_when_it_stops(agent_engine):
    from dataclasses import replace

    engine, agent = agent_engine
    role = "arn:aws:iam::123456789012:role/app-role"
    definition = engine.desired.add_definition("job")
    engine.desired.definitions[definition.arn] = replace(definition, task_role_arn=role)
    engine.runtime.on_exec = lambda _id, command: _unix_request(
        agent.directory / "agent.sock", "POST", f"/ready/{command[-1]}?status=listening")
    result = engine.launcher.launch(cluster="demo", definition=definition, count=1, group="family:job",
                                    started_by="", launch_type="EC2")
    task = engine.store.tasks[result.task_arns[0]]
    engine.tasks.sync(task.arn)
    uri = engine.runtime.specs[task.containers[0].runtime_id].environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert uri.startswith("http://127.0.0.1:51679/v2/credentials/")
    status, body = _unix_request(agent.directory / "agent.sock", "GET", urlparse(uri).path)
    assert status == 200 and body["RoleArn"] == role
    assert set(body) == {"RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    engine.store.request_stop(task, events.stop_by_user("done"))
    engine.tasks.sync(task.arn)
    assert _unix_request(agent.directory / "agent.sock", "GET", urlparse(uri).path)[0] == 400
