"""Several containers per task on a real Docker engine, through boto3 against moto: the containers of an awsvpc task
talk on localhost; dependsOn orders their start (Docker's own timestamps); a non-essential exit leaves the task
running with its exit code in describe-tasks; a restartPolicy container is restarted in place."""

from __future__ import annotations

import urllib.request

import pytest

from ecsdojo.control.local import LocalECS
from ecsdojo.runtime.docker import parse_docker_time
from tests.conftest import wait_for

pytestmark = pytest.mark.docker

APP = "ecsdojo/app:latest"
HEALTH = {"command": ["CMD-SHELL", "python3 -c \"import urllib.request as u; "
                                   "u.urlopen('http://localhost:8080/health', timeout=2)\""],
          "interval": 5, "retries": 3}
# Fetch a URL from inside a container (its own loopback); prints the answer, exits non-zero when refused.
FETCH = "import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=3).read().decode())"


def app(name, *, port=8080, **extra):
    body = {"name": name, "image": APP, "memory": 96, "environment": [{"name": "PORT", "value": str(port)}],
            "portMappings": [{"containerPort": port}]}
    body.update(extra)
    return body


@pytest.fixture
def local(docker_client, app_image):
    with LocalECS(speed=60, runtime="docker") as running:
        yield running
        session = running.session
    leftovers = docker_client.containers.list(all=True, filters={"label": f"ecsdojo.session={session}"})
    assert leftovers == [], "leaving the context must remove every container of the session (pause included)"


@pytest.fixture
def ecs(local):
    client = local.client("ecs")
    client.create_cluster(clusterName="c")
    return client


def run(ecs, local, family, containers, *, network_mode="bridge"):
    ecs.register_task_definition(family=family, networkMode=network_mode, containerDefinitions=containers)
    options = {}
    if network_mode == "awsvpc":
        subnet = local.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
        options["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": [subnet]}}
    arn = ecs.run_task(cluster="c", taskDefinition=family, launchType="EC2", **options)["tasks"][0]["taskArn"]
    return arn


def described(ecs, arn):
    return ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]


def running(ecs, arn, timeout=60):
    def ready():
        task = described(ecs, arn)
        assert task["lastStatus"] != "STOPPED", (task.get("stoppedReason"), task["containers"])
        return task if task["lastStatus"] == "RUNNING" else None

    return wait_for(ready, timeout=timeout, message=f"task {arn} to be RUNNING")


def by_name(task):
    return {c["name"]: c for c in task["containers"]}


def fetch(docker_client, runtime_id, url):
    result = docker_client.containers.get(runtime_id).exec_run(["python3", "-c", FETCH, url])
    return result.exit_code, result.output.decode(errors="replace")


def test_two_containers_of_an_awsvpc_task_talk_on_localhost(ecs, local, docker_client):
    arn = run(ecs, local, "pair", [app("web"), app("sidecar", port=9090)], network_mode="awsvpc")
    containers = by_name(running(ecs, arn))
    sidecar, web = containers["sidecar"]["runtimeId"], containers["web"]["runtimeId"]

    def answers(runtime_id, url):
        code, output = fetch(docker_client, runtime_id, url)
        return output if code == 0 else None

    assert '"service": "ecsdojo-app"' in wait_for(lambda: answers(sidecar, "http://localhost:8080/"), timeout=20,
                                                  message="web on the sidecar's localhost:8080")
    assert wait_for(lambda: answers(web, "http://localhost:9090/health"), timeout=20,
                    message="the sidecar on web's localhost:9090")
    # One namespace, held by the task's pause container, which publishes the task's ports on 127.0.0.1 only.
    pause = docker_client.containers.list(all=True, filters={
        "label": [f"ecsdojo.task-arn={arn}", "ecsdojo.container-name=~internal~ecs~pause"]})
    assert len(pause) == 1
    for runtime_id in (web, sidecar):
        assert docker_client.containers.get(runtime_id).attrs["HostConfig"]["NetworkMode"] == f"container:{pause[0].id}"
    published = pause[0].attrs["NetworkSettings"]["Ports"]
    assert {entry["HostIp"] for entries in published.values() for entry in entries} == {"127.0.0.1"}
    assert "~internal~ecs~pause" not in containers, "the pause container is not in the API"
    # What the load balancer registers: each container's port, as the pause container publishes it.
    record = {c.name: c for c in local.plane.store.tasks[arn].containers}
    for name, port in (("web", 8080), ("sidecar", 9090)):
        host_port = record[name].host_ports[port]
        assert published[f"{port}/tcp"][0]["HostPort"] == str(host_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/health", timeout=3) as answer:
            assert answer.status == 200


def test_bridge_containers_do_not_share_localhost_but_reach_a_link_by_its_alias(ecs, local, docker_client):
    arn = run(ecs, local, "linked", [app("web", links=["db:database"]), app("db", port=9090)])
    containers = by_name(running(ecs, arn))
    web = containers["web"]["runtimeId"]
    code, _ = fetch(docker_client, web, "http://localhost:9090/health")
    assert code != 0, "bridge mode: each container has its own loopback"
    # The link is a name in web's /etc/hosts; resolving it needs no traffic. (Requests to it would go to a
    # bridge IP, which the network rule forbids.)
    hosts = docker_client.containers.get(web).exec_run(["cat", "/etc/hosts"]).output.decode()
    assert any(line.split()[1:] and "database" in line.split()[1:] for line in hosts.splitlines())
    db = docker_client.containers.get(containers["db"]["runtimeId"]).attrs["State"]["StartedAt"]
    assert parse_docker_time(db) <= parse_docker_time(docker_client.containers.get(web).attrs["State"]["StartedAt"])


def test_depends_on_orders_start_by_the_engines_own_timestamps(ecs, local, docker_client):
    init = {"name": "init", "image": APP, "memory": 64, "essential": False,
            "command": ["python3", "-c", "import time; time.sleep(1.5)"]}
    web = app("web", healthCheck=HEALTH, dependsOn=[{"containerName": "init", "condition": "SUCCESS"}])
    proxy = app("proxy", port=9090, dependsOn=[{"containerName": "web", "condition": "HEALTHY"}])
    arn = run(ecs, local, "ordered", [proxy, web, init])
    first = described(ecs, arn)
    assert first["lastStatus"] in ("PROVISIONING", "PENDING")
    containers = by_name(running(ecs, arn))
    assert (containers["init"]["lastStatus"], containers["init"]["exitCode"]) == ("STOPPED", 0)
    assert containers["web"]["lastStatus"] == containers["proxy"]["lastStatus"] == "RUNNING"
    state = {name: docker_client.containers.get(c["runtimeId"]).attrs["State"] for name, c in containers.items()}
    assert parse_docker_time(state["init"]["FinishedAt"]) <= parse_docker_time(state["web"]["StartedAt"])
    healthy_at = min(parse_docker_time(probe["End"]) for probe in state["web"]["Health"]["Log"]
                     if probe["ExitCode"] == 0)
    assert healthy_at <= parse_docker_time(state["proxy"]["StartedAt"])


def test_a_restart_policy_container_is_restarted_in_place_and_the_task_stays_running(ecs, local, docker_client):
    # restartAttemptPeriod 60 ECS seconds is 1 wall second at speed 60; the app exits 3 after 2 s, again and again.
    flaky = {"name": "flaky", "image": APP, "memory": 64,
             "command": ["python3", "-c", "import sys, time; time.sleep(2); sys.exit(3)"],
             "restartPolicy": {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}}
    once = {"name": "once", "image": APP, "memory": 64, "essential": False,
            "environment": [{"name": "APP_EXIT_AT_START", "value": "4"}]}
    arn = run(ecs, local, "flaky", [flaky, once])
    first = by_name(running(ecs, arn))["flaky"]["runtimeId"]
    starts = []

    def restarted_twice():
        attrs = docker_client.containers.get(first).attrs["State"]
        starts.append(parse_docker_time(attrs["StartedAt"]))
        record = next(c for c in local.plane.store.tasks[arn].containers if c.name == "flaky")
        return record.restart_count if record.restart_count >= 2 else None

    wait_for(restarted_twice, timeout=45, interval=0.25, message="flaky to be restarted twice")
    task = described(ecs, arn)
    containers = by_name(task)
    assert task["lastStatus"] == "RUNNING" and task["desiredStatus"] == "RUNNING"
    assert containers["flaky"]["runtimeId"] == first, "restarted in place: the same container"
    assert len(set(starts)) >= 2, "Docker started that container again"
    # A non-essential container that exits leaves the task running; describe-tasks shows its exit code.
    assert (containers["once"]["lastStatus"], containers["once"]["exitCode"]) == ("STOPPED", 4)
    assert len(ecs.list_tasks(cluster="c")["taskArns"]) == 1, "no replacement task"
