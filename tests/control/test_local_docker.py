"""LocalECS on a real Docker engine: containers that crash, run out of memory, hang, heal, and serve
through the local load balancer; the lesson's AWS CLI commands verbatim against `dojo up`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from ecsdojo.control.local import LocalECS
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.docker

APP = "ecsdojo/app:latest"
HEALTH = ["CMD-SHELL", "python3 -c \"import urllib.request as u; u.urlopen('http://localhost:8080/health', timeout=2)\""]


def container(**extra):
    body = {"name": "web", "image": APP, "memory": 128, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    body.update(extra)
    return body


def session_containers(docker_client, local):
    return docker_client.containers.list(all=True, filters={"label": f"ecsdojo.session={local.session}"})


def running_containers(docker_client, local):
    return [c for c in session_containers(docker_client, local) if c.status == "running"]


def get(url, timeout=3.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def get_when_ready(url, timeout=15.0):
    """A container is RUNNING as soon as it starts (as in ECS); its app needs a moment to listen."""
    def attempt():
        try:
            return get(url)
        except OSError:
            return None

    return wait_for(attempt, timeout=timeout, message=f"{url} to answer")


@pytest.fixture
def local(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker") as running:
        yield running
        session = running.session
    leftovers = docker_client.containers.list(all=True, filters={"label": f"ecsdojo.session={session}"})
    assert leftovers == [], "leaving the context must remove every container of the session"


@pytest.fixture
def ecs(local):
    client = local.client("ecs")
    client.create_cluster(clusterName="my-cluster")
    return client


def start_service(ecs, local, *, desired=2, **container_extra):
    ecs.register_task_definition(family="my-task", containerDefinitions=[container(**container_extra)])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task",
                       desiredCount=desired, launchType="EC2")
    return local.wait_for_service("my-cluster", "my-service", timeout=60)


def host_port(local, task):
    return task.containers[0].host_ports[8080]


def test_what_the_api_shows_matches_docker_ps(ecs, local, docker_client):
    start_service(ecs, local, desired=2)
    arns = ecs.list_tasks(cluster="my-cluster", serviceName="my-service")["taskArns"]
    runtime_ids = {t["containers"][0]["runtimeId"] for t in ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"]}
    docker_ids = {c.id for c in running_containers(docker_client, local)}
    assert runtime_ids == docker_ids and len(docker_ids) == 2
    for docker_container in running_containers(docker_client, local):
        bindings = docker_container.attrs["HostConfig"]["PortBindings"]["8080/tcp"]
        assert all(binding["HostIp"] == "127.0.0.1" for binding in bindings)
        assert docker_container.attrs["HostConfig"]["Memory"] == 128 * 1024 * 1024
    for task in local.tasks("my-cluster"):
        assert get_when_ready(f"http://127.0.0.1:{host_port(local, task)}/")["ecs_task_arn"] == task.arn


def test_an_image_reference_docker_refuses_stops_the_task_instead_of_retrying_forever(ecs, local, caplog):
    """Issue 14 item 6: ECS registers `UPPER/Case:tag` (its characters are allowed) and the pull fails; the task
    goes STOPPED (TaskFailedToStart, CannotPullContainerError), the service says so, nothing logs a traceback."""
    caplog.set_level("WARNING", logger="ecsdojo")
    ecs.register_task_definition(family="bad-ref", containerDefinitions=[container(image="UPPER/Case:tag")])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="bad-ref", desiredCount=1,
                       launchType="EC2")

    def stopped():
        arns = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
        tasks = ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"] if arns else []
        return [t for t in tasks if t["lastStatus"] == "STOPPED"]

    task = wait_for(stopped, timeout=30, message="the task to stop")[0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")
    assert "invalid reference format" in task["stoppedReason"]
    wait_for(lambda: "(service my-service) is unable to consistently start tasks successfully." in
             [e["message"] for e in ecs.describe_services(cluster="my-cluster", services=["my-service"])[
                 "services"][0]["events"]], timeout=30, message="the service's event")
    assert not [record for record in caplog.records if record.exc_info], "no traceback may be logged"


def test_a_crash_is_healed_with_the_exit_code_recorded(ecs, local, docker_client):
    start_service(ecs, local, desired=2)
    victim = local.tasks("my-cluster")[0]
    get_when_ready(f"http://127.0.0.1:{host_port(local, victim)}/health")
    try:
        get(f"http://127.0.0.1:{host_port(local, victim)}/crash?code=3")
    except OSError:
        pass
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]["lastStatus"]
             == "STOPPED", timeout=30, message="the crashed task to stop")
    stopped = ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["containers"][0]["exitCode"] == 3
    local.wait_for_service("my-cluster", "my-service", running=2, timeout=30)
    wait_for(lambda: len(running_containers(docker_client, local)) == 2, message="two running containers")


def test_an_oom_kill_is_real_and_reported_like_ecs(ecs, local):
    start_service(ecs, local, desired=1, memory=64)
    victim = local.tasks("my-cluster")[0]
    get_when_ready(f"http://127.0.0.1:{host_port(local, victim)}/health")
    get(f"http://127.0.0.1:{host_port(local, victim)}/oom")
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]["lastStatus"]
             == "STOPPED", timeout=30, message="the OOM-killed task to stop")
    body = ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]["containers"][0]
    assert body["exitCode"] == 137
    assert body["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    local.wait_for_service("my-cluster", "my-service", running=1, timeout=30)


def test_a_task_that_fails_its_health_check_is_replaced(ecs, local):
    start_service(ecs, local, desired=1, healthCheck={"command": HEALTH, "interval": 5, "timeout": 2, "retries": 2})
    victim = local.tasks("my-cluster")[0]
    wait_for(lambda: victim.health_status == "HEALTHY", timeout=30, message="HEALTHY")
    get(f"http://127.0.0.1:{host_port(local, victim)}/hang")
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]["lastStatus"]
             == "STOPPED", timeout=60, message="the unhealthy task to be stopped")
    task = ecs.describe_tasks(cluster="my-cluster", tasks=[victim.arn])["tasks"][0]
    assert task["stoppedReason"] == "Task failed container health checks"
    local.wait_for_service("my-cluster", "my-service", running=1, timeout=30)


def test_the_load_balancer_keeps_answering_while_a_task_heals(ecs, local):
    elbv2 = local.client("elbv2")
    ec2 = local.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = elbv2.create_load_balancer(Name="web-lb", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
                                      HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
                                      HealthyThresholdCount=2)["TargetGroups"][0]
    elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
    ecs.register_task_definition(family="my-task", containerDefinitions=[container()])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="my-task", desiredCount=2,
                       launchType="EC2", loadBalancers=[{"targetGroupArn": group["TargetGroupArn"],
                                                         "containerName": "web", "containerPort": 8080}])
    local.wait_for_service("my-cluster", "my-service", timeout=60)
    url = local.url("web-lb")
    assert url.startswith("http://127.0.0.1:")
    seen = set()

    def both_answer():
        try:
            seen.add(get(url + "/")["ecs_task_arn"])
        except OSError:       # targets still "initial": the load balancer fails open until one is healthy
            pass
        return len(seen) == 2

    wait_for(both_answer, timeout=30, message="both tasks to answer through the load balancer")
    victim = next((t for t in local.tasks("my-cluster") if t.last_status == "RUNNING"), None)
    assert victim is not None, ([(t.id[:8], t.last_status, t.desired_status) for t in local.tasks("my-cluster")],
                               local.service_events("my-cluster", "my-service")[:6])
    local.runtime.kill(victim.containers[0].runtime_id)
    failures = 0
    for _ in range(60):
        try:
            get(url + "/", timeout=5)
        except OSError:
            failures += 1
    assert failures == 0
    wait_for(lambda: victim.last_status == "STOPPED", timeout=30, message="the killed task to stop")
    messages = local.service_events("my-cluster", "my-service")
    assert any(m.startswith("(service my-service) registered") and "target-group" in m for m in messages)


def test_the_lessons_cli_commands_run_verbatim_against_dojo_up(docker_client, app_image, tmp_path):
    env = {**os.environ, "DOJO_HOME": str(tmp_path / "home")}
    up = subprocess.Popen([sys.executable, "-m", "ecsdojo", "up", "--speed", "20", "--port", "0"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        exports = {}
        while len(exports) < 4:
            line = up.stdout.readline()
            assert line, "dojo up exited early"
            match = re.match(r"\s*export (\w+)=(\S+)", line)
            if match:
                exports[match.group(1)] = match.group(2)
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        cli_env = {**env, **exports}
        cli_env.pop("AWS_PROFILE", None)
        aws = [sys.executable, "-m", "awscli"]
        lab = ROOT / "labs" / "terminal"

        def run(*words):
            result = subprocess.run([*aws, *words], env=cli_env, cwd=lab, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            return result.stdout

        run("ecs", "create-cluster", "--cluster-name", "my-cluster")
        run("ecs", "register-task-definition", "--family", "my-task", "--container-definitions",
            "file://container-definitions.json")
        run("ecs", "create-service", "--cluster", "my-cluster", "--service-name", "my-service", "--task-definition",
            "my-task", "--desired-count", "2", "--launch-type", "EC2")
        run("ecs", "update-service", "--cluster", "my-cluster", "--service", "my-service", "--desired-count", "5")
        run("application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
            "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/my-cluster/my-service",
            "--min-capacity", "1", "--max-capacity", "10")

        def five_running():
            body = json.loads(run("ecs", "describe-services", "--cluster", "my-cluster", "--services", "my-service"))
            return body["services"][0]["runningCount"] == 5

        wait_for(five_running, timeout=60, interval=0.5, message="5 running tasks")
        mine = docker_client.containers.list(sparse=True, filters={
            "label": ["ecsdojo.cluster=my-cluster", f"ecsdojo.owner-pid={up.pid}"], "status": "running"})
        assert len(mine) == 5

        def status_shows_five():
            # `dojo status` reads the snapshot `dojo up` writes at each services resync (every 5 s): it may lag
            # the API by one resync
            status = subprocess.run([sys.executable, "-m", "ecsdojo", "status"], env=env, capture_output=True,
                                    text=True, timeout=30)
            return "service my-service (my-cluster) ACTIVE: desired 5, running 5" in status.stdout

        wait_for(status_shows_five, timeout=30, interval=1.0, message="dojo status to show 5 running")
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.wait(timeout=60)
    leftovers = docker_client.containers.list(all=True, sparse=True,
                                              filters={"label": [f"ecsdojo.owner-pid={up.pid}"]})
    assert leftovers == []


def test_containers_of_a_killed_session_are_swept_by_the_next_start(docker_client, app_image, tmp_path):
    """A crashed kernel (SIGKILL) leaves containers; the next LocalECS start removes them by label."""
    script = tmp_path / "crashing_kernel.py"
    script.write_text(
        "import sys\n"
        "from ecsdojo.control.local import LocalECS\n"
        "local = LocalECS(speed=20, runtime='docker', load_balancers=False).start()\n"
        "ecs = local.client('ecs')\n"
        "ecs.create_cluster(clusterName='c')\n"
        "ecs.register_task_definition(family='t', containerDefinitions=[{'name': 'web', "
        "'image': 'ecsdojo/app:latest', 'memory': 64}])\n"
        "ecs.create_service(cluster='c', serviceName='s', taskDefinition='t', desiredCount=2)\n"
        "local.wait_for_service('c', 's', timeout=60)\n"
        "print('ready', flush=True)\n"
        "import time; time.sleep(600)\n")
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert kernel.stdout.readline().strip() == "ready"
        left = lambda: docker_client.containers.list(  # noqa: E731
            all=True, sparse=True, filters={"label": [f"ecsdojo.owner-pid={kernel.pid}"]})
        assert len(left()) == 2
    finally:
        kernel.kill()
        kernel.wait()
    assert len(left()) == 2, "a SIGKILLed process cannot clean up: its containers stay until the next start"
    with LocalECS(speed=20, runtime="docker", load_balancers=False) as local:
        assert local.swept_orphans >= 2
    assert left() == []


def test_a_service_behind_a_load_balancer_in_one_call_answers_and_reports_target_states(ecs, local):
    """`create_service_behind_load_balancer` and `target_states`: what notebooks 05 and 06 did by hand."""
    ecs.register_task_definition(family="my-task", containerDefinitions=[container()])
    url = local.create_service_behind_load_balancer(cluster="my-cluster", service="my-service",
                                                    task_definition="my-task", container_name="web",
                                                    load_balancer="web-lb", port=8081, desired_count=2)
    assert url.startswith("http://127.0.0.1:")
    states = local.target_states("web-lb")
    tasks = {t.id for t in local.tasks("my-cluster", service="my-service")}
    assert set(states) == tasks and set(states.values()) == {"healthy"}
    assert get(url + "/")["ecs_task_arn"].rsplit("/", 1)[-1] in tasks
    targets = local.client("elbv2").describe_target_health(
        TargetGroupArn=local.client("elbv2").describe_target_groups(Names=["web-lb-tg"])["TargetGroups"][0][
            "TargetGroupArn"])["TargetHealthDescriptions"]
    assert len(targets) == 2, "ECS registered both tasks in the target group"


# ---- issue 14: a paused container behind the load balancer; the exit against the balancer's failed checks --------

def served_service(ecs, local, *, desired=2):
    ecs.register_task_definition(family="my-task", containerDefinitions=[container()])
    return local.create_service_behind_load_balancer(cluster="my-cluster", service="my-service",
                                                     task_definition="my-task", container_name="web",
                                                     load_balancer="web-lb", port=8082, desired_count=desired)


def stopped_task(ecs, arn, timeout=60):
    def stopped():
        body = ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]
        return body if body["lastStatus"] == "STOPPED" else None

    return wait_for(stopped, timeout=timeout, message=f"task {arn.rsplit('/', 1)[-1]} to stop")


def api_agrees_with_docker(ecs, local, docker_client, desired=2):
    """describe_services' runningCount, the RUNNING tasks' containers and Docker's running containers agree."""
    def agree():
        service = ecs.describe_services(cluster="my-cluster", services=["my-service"])["services"][0]
        arns = ecs.list_tasks(cluster="my-cluster", serviceName="my-service", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"] if arns else []
        api_ids = {c["runtimeId"] for t in tasks if t["lastStatus"] == "RUNNING" for c in t["containers"]}
        docker_ids = {c.id for c in docker_client.containers.list(
            filters={"label": f"ecsdojo.session={local.session}"}) if c.status in ("running", "paused")}
        return service["runningCount"] == desired and api_ids == docker_ids and len(docker_ids) == desired

    wait_for(agree, timeout=60, message="the API and Docker to agree on the running containers")


def test_a_paused_container_is_stopped_for_failed_elb_checks_and_never_leaks(ecs, local, docker_client):
    from ecsdojo.runtime.faults import Faults

    served_service(ecs, local)
    victim = local.tasks("my-cluster")[0]
    runtime_id = victim.containers[0].runtime_id
    Faults(local.runtime).inject("pause", runtime_id)
    body = stopped_task(ecs, victim.arn)
    assert body["stopCode"] == "ServiceSchedulerInitiated"
    assert body["stoppedReason"] == "Task failed ELB health checks in (elb web-lb)"
    assert docker_client.containers.get(runtime_id).status == "exited", "the engine really stopped it"
    Faults(local.runtime).unpause(runtime_id)
    assert docker_client.containers.get(runtime_id).status == "exited", "nothing left to run untracked"
    api_agrees_with_docker(ecs, local, docker_client)


def test_an_exit_behind_the_load_balancer_is_reported_as_the_exit(ecs, local, docker_client):
    """The balancer sees a dead target first whenever traffic reaches it before the task reconciler looks: the
    exit still wins (the issue saw ServiceSchedulerInitiated for 25 of 44 exits)."""
    import threading
    import time

    from ecsdojo.control.elb.reconciler import NEW_TARGET_GRACE_S
    from ecsdojo.runtime.faults import Faults

    url = served_service(ecs, local)
    done = threading.Event()

    def traffic():
        while not done.is_set():
            try:
                get(url + "/", timeout=2)
            except OSError:
                pass

    threads = [threading.Thread(target=traffic, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for fault, exit_code in (("crash", 3), ("kill", 137), ("crash", 5), ("stop", 0), ("rm", 137)):
            local.wait_for_healthy_targets(2, load_balancer="web-lb", timeout=60)
            victim = min((t for t in local.tasks("my-cluster") if t.last_status == "RUNNING"),
                         key=lambda t: t.health_since)
            # Past the balancer's grace for a new target, so that it may be the first to stop the task.
            time.sleep(max(0.0, victim.health_since + NEW_TARGET_GRACE_S + 0.5 - local.plane.clock.monotonic()))
            if fault == "crash":
                try:
                    get(f"http://127.0.0.1:{host_port(local, victim)}/crash?code={exit_code}")
                except OSError:
                    pass
            else:
                Faults(local.runtime).inject(fault, victim.containers[0].runtime_id)
            body = stopped_task(ecs, victim.arn)
            assert (fault, body["stopCode"], body["stoppedReason"]) == (
                fault, "EssentialContainerExited", "Essential container in task exited")
            assert body["containers"][0]["exitCode"] == exit_code, fault
            api_agrees_with_docker(ecs, local, docker_client)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=5)
