"""Module 10's helpers (course/inside_task.py): what they report is what happened inside a real task's container.

The Docker test runs the module's story on real containers through ECS Exec: a task whose execution role, not its
task role, holds s3:GetObject is denied; the same running task reads the object once the task role has the policy;
a task without a task role gets no credentials; a secret arrives in the container; a sidecar reaches the app on
localhost and started after it was healthy.
"""

from __future__ import annotations

import json

import pytest

from ecsdojo.course.docker_demos import NoDockerEngine
from ecsdojo.course.inside_task import (TRUST_ECS_TASKS, container_environment, depends_on, read_object_as_task,
                                        run_python, running_task, start_on_docker, started_at, task_credentials,
                                        task_record)
from ecsdojo.grading.sandbox import sandbox_refusal

READ = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]})
APP = {"name": "app", "image": "ecsdojo/app:latest", "memory": 128, "portMappings": [{"containerPort": 8080}]}
HEALTH = {"command": ["CMD-SHELL", "python3 -c \"import urllib.request as u; "
                                   "u.urlopen('http://localhost:8080/health', timeout=2)\""],
          "interval": 5, "timeout": 3, "retries": 3}


def test_without_an_engine_module_10_stops_at_its_first_cell_with_the_fix(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(NoDockerEngine, match=r"Module 10 works inside real containers.*dojo doctor"):
        start_on_docker(speed=20)


def test_the_docker_sandbox_refuses_module_10_up_front():
    reason = sandbox_refusal(["from ecsdojo.course.inside_task import start_on_docker"])
    assert reason is not None and "works inside Docker containers" in reason
    assert "runs plain Docker demos" in sandbox_refusal(["from ecsdojo.course.docker_demos import DockerDemo"])
    assert sandbox_refusal(["from ecsdojo.course.debugging import hand_out"]) is None


@pytest.mark.docker
def test_the_module_story_on_real_containers(app_image):
    local = start_on_docker(speed=20)
    try:
        ecs, iam, s3, ssm = (local.client(name) for name in ("ecs", "iam", "s3", "ssm"))
        ecs.create_cluster(clusterName="dojo")
        s3.create_bucket(Bucket="reports")
        s3.put_object(Bucket="reports", Key="q1.txt", Body=b"revenue up")
        ssm.put_parameter(Name="/t/db", Value="pw-1", Type="SecureString")
        role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]["Arn"]
        execution = iam.create_role(RoleName="exe", AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]["Arn"]
        iam.put_role_policy(RoleName="exe", PolicyName="read", PolicyDocument=READ)
        # the secret is read with the execution role (as ECS does): it may read this parameter, and only that
        parameter = ssm.get_parameter(Name="/t/db")["Parameter"]["ARN"]
        iam.put_role_policy(RoleName="exe", PolicyName="secret", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameter}]}))

        def start(family, containers, network_mode="bridge", **roles):
            ecs.register_task_definition(family=family, networkMode=network_mode, containerDefinitions=containers,
                                         **roles)
            options = {}
            if network_mode == "awsvpc":
                subnet = local.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
                options["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": [subnet]}}
            arn = ecs.run_task(cluster="dojo", taskDefinition=family, launchType="EC2", enableExecuteCommand=True,
                               **options)["tasks"][0]["taskArn"]
            ecs.get_waiter("tasks_running").wait(cluster="dojo", tasks=[arn], WaiterConfig={"Delay": 1,
                                                                                             "MaxAttempts": 90})
            return task_record(local, "dojo", arn)

        plain = start("plain", [APP])
        assert task_credentials(local, plain, container="app") == {}
        assert read_object_as_task(local, plain, "reports", "q1.txt", container="app") == ("NoCredentials", "")

        secret = dict(APP, secrets=[{"name": "DB_PASSWORD", "valueFrom": "/t/db"}])
        task = start("reports", [secret], taskRoleArn=role, executionRoleArn=execution)
        assert running_task(local, "dojo", "reports").arn == task.arn
        assert task_credentials(local, task, container="app")["RoleArn"] == role
        assert read_object_as_task(local, task, "reports", "q1.txt", container="app") == ("AccessDenied", "")
        iam.put_role_policy(RoleName="app", PolicyName="read", PolicyDocument=READ)      # same task, no restart
        assert read_object_as_task(local, task, "reports", "q1.txt", container="app") == ("ok", "revenue up")
        assert container_environment(local, task, container="app")["DB_PASSWORD"] == "pw-1"
        assert run_python(local, task, "import sys; sys.exit(3)", container="app")[0] == 3

        probe = {"name": "probe", "image": "ecsdojo/app:latest", "memory": 96, "essential": False,
                 "environment": [{"name": "PORT", "value": "9901"}],
                 "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]}
        pair = start("pair", [dict(APP, healthCheck=HEALTH), probe], network_mode="awsvpc")
        code, out = run_python(local, pair, "import urllib.request as u; "
                               "print(u.urlopen('http://localhost:8080/version', timeout=3).read().decode())",
                               container="probe")
        assert (code, json.loads(out)) == (0, {"version": "v1"})
        assert depends_on(local, pair.task_definition_arn, "probe") == [{"containerName": "app",
                                                                         "condition": "HEALTHY"}]
        assert started_at(local, pair, "app") < started_at(local, pair, "probe")
    finally:
        local.stop()
