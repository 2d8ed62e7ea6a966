"""LocalECS on the fake runtime: what the ECS API shows matches what the control plane did to containers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ecsdojo.control.local import LocalECS
from ecsdojo.runtime.base import ImageNotFoundError
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import wait_for

APP = "ecsdojo/app:latest"


def container(name="web", image=APP, memory=128, **extra):
    body = {"name": name, "image": image, "memory": memory,
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    body.update(extra)
    return {key: value for key, value in body.items() if value is not None}


def fargate_container(name="web"):
    """awsvpc: hostPort omitted (or equal to containerPort), no container memory needed."""
    return {"name": name, "image": APP, "portMappings": [{"containerPort": 8080}]}


@pytest.fixture
def fake():
    return FakeRuntime()


@pytest.fixture
def local(fake):
    with LocalECS(speed=100, runtime=fake, load_balancers=False) as running:
        yield running


@pytest.fixture
def ecs(local):
    client = local.client("ecs")
    client.create_cluster(clusterName="my-cluster")
    return client


def service_body(ecs, name="my-service"):
    return ecs.describe_services(cluster="my-cluster", services=[name])["services"][0]


def wait_running(ecs, count, name="my-service", timeout=15):
    def check():
        body = service_body(ecs, name)
        return body if body["runningCount"] == count and body["pendingCount"] == 0 else None

    return wait_for(check, timeout=timeout, message=f"{name} to run {count} tasks")


def make_service(ecs, *, desired=2, family="my-task", containers=None, **extra):
    ecs.register_task_definition(family=family, containerDefinitions=containers or [container()])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition=family,
                       desiredCount=desired, launchType="EC2", **extra)


def running_ids(fake):
    return [c.id for c in fake.running()]


def test_create_service_starts_desired_count_containers_and_reports_them(ecs, fake):
    make_service(ecs, desired=2)
    body = wait_running(ecs, 2)
    assert [a[0] for a in fake.actions].count("start") == 2
    messages = [e["message"] for e in body["events"]]
    assert any(m.startswith("(service my-service) has started 2 tasks: (task ") for m in messages)
    wait_for(lambda: "(service my-service) has reached a steady state." in
             [e["message"] for e in service_body(ecs)["events"]], message="the steady-state event")
    arns = ecs.list_tasks(cluster="my-cluster", serviceName="my-service")["taskArns"]
    tasks = ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"]
    deployment = body["deployments"][0]["id"]
    assert {t["startedBy"] for t in tasks} == {deployment} and deployment.startswith("ecs-svc/")
    assert {t["group"] for t in tasks} == {"service:my-service"}
    assert all(t["lastStatus"] == "RUNNING" and t["createdAt"] and t["startedAt"] for t in tasks)
    assert {t["containers"][0]["runtimeId"] for t in tasks} == set(running_ids(fake))


def test_scaling_the_desired_count_up_and_down(ecs, fake):
    make_service(ecs, desired=2)
    wait_running(ecs, 2)
    ecs.update_service(cluster="my-cluster", service="my-service", desiredCount=5)
    wait_running(ecs, 5)
    assert len(fake.running()) == 5
    ecs.update_service(cluster="my-cluster", service="my-service", desiredCount=1)
    wait_running(ecs, 1)
    wait_for(lambda: len(fake.running()) == 1, message="surplus containers to stop")
    messages = [e["message"] for e in service_body(ecs)["events"]]
    assert any(m.startswith("(service my-service) has stopped 4 running tasks: (task ") for m in messages)
    stopped = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
    assert len(stopped) == 4
    task = ecs.describe_tasks(cluster="my-cluster", tasks=stopped[:1])["tasks"][0]
    assert task["stopCode"] == "ServiceSchedulerInitiated"
    assert task["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")


def test_a_crashed_container_stops_its_task_and_the_service_replaces_it(ecs, fake):
    make_service(ecs, desired=2)
    wait_running(ecs, 2)
    victim = fake.running()[0]
    fake.crash(victim.id, exit_code=3)
    wait_for(lambda: len(fake.running()) == 2 and victim.id not in running_ids(fake), message="a replacement")
    wait_running(ecs, 2)
    stopped = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
    task = ecs.describe_tasks(cluster="my-cluster", tasks=stopped)["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 3 and task["stoppedAt"]


def test_an_oom_kill_reports_exit_137_and_the_oom_reason(ecs, fake):
    make_service(ecs, desired=1)
    wait_running(ecs, 1)
    fake.oom(fake.running()[0].id)
    wait_for(lambda: ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"], message="a stop")
    stopped = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=stopped)["tasks"][0]["lastStatus"] == "STOPPED",
             message="STOPPED")
    body = ecs.describe_tasks(cluster="my-cluster", tasks=stopped)["tasks"][0]["containers"][0]
    assert body["exitCode"] == 137
    assert body["reason"] == "OutOfMemoryError: Container killed due to memory usage"


def test_an_unhealthy_task_is_replaced_with_aws_event_and_reason(ecs, fake):
    check = {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 1}
    make_service(ecs, desired=1, containers=[container(healthCheck=check)])
    wait_running(ecs, 1)
    first = fake.running()[0]
    fake.set_health(first.id, "healthy")
    fake.set_health(first.id, "unhealthy")
    wait_for(lambda: first.id not in running_ids(fake) and len(fake.running()) == 1, message="the replacement")
    stopped = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
    task = ecs.describe_tasks(cluster="my-cluster", tasks=stopped)["tasks"][0]
    assert task["stoppedReason"] == "Task failed container health checks"
    assert task["healthStatus"] == "UNHEALTHY"
    messages = [e["message"] for e in service_body(ecs)["events"]]
    assert any(m.endswith("failed container health checks.") and m.startswith("(service my-service) (task ")
               for m in messages)


def test_a_standalone_task_that_stops_is_not_replaced(ecs, fake):
    ecs.register_task_definition(family="one-off", containerDefinitions=[container()])
    arn = ecs.run_task(cluster="my-cluster", taskDefinition="one-off", launchType="EC2")["tasks"][0]["taskArn"]
    wait_for(lambda: fake.running(), message="the task's container")
    fake.crash(fake.running()[0].id, exit_code=1)
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED",
             message="STOPPED")
    assert [a[0] for a in fake.actions].count("start") == 1
    assert ecs.list_tasks(cluster="my-cluster")["taskArns"] == []


def test_stop_task_is_user_initiated_and_unknown_tasks_get_an_aws_error(ecs, fake):
    ecs.register_task_definition(family="one-off", containerDefinitions=[container()])
    arn = ecs.run_task(cluster="my-cluster", taskDefinition="one-off")["tasks"][0]["taskArn"]
    wait_for(lambda: fake.running(), message="the container")
    response = ecs.stop_task(cluster="my-cluster", task=arn)["task"]
    assert response["desiredStatus"] == "STOPPED"
    wait_for(lambda: not fake.running(), message="the container to stop")
    task = ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]
    assert (task["stopCode"], task["stoppedReason"]) == ("UserInitiated", "Task stopped by user")
    with pytest.raises(ClientError) as error:
        ecs.stop_task(cluster="my-cluster", task="0123456789abcdef")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_tasks_that_keep_failing_to_start_are_throttled(ecs, fake):
    fake.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    make_service(ecs, desired=1, containers=[container(image="ecsdojo/missing:1")])
    wait_for(lambda: "(service my-service) is unable to consistently start tasks successfully." in
             [e["message"] for e in service_body(ecs)["events"]], timeout=20, message="the throttling event")
    stopped = ecs.list_tasks(cluster="my-cluster", desiredStatus="STOPPED")["taskArns"]
    task = ecs.describe_tasks(cluster="my-cluster", tasks=stopped[:1])["tasks"][0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError")


def test_desired_count_beyond_capacity_gets_the_placement_event(ecs, fake):
    # 2 instances x 4096 MiB: 3 tasks of 3000 MiB cannot all fit
    make_service(ecs, desired=3, containers=[container(memory=3000)])
    wait_for(lambda: any("was unable to place a task because no container instance met all of its requirements"
                         in e["message"] for e in service_body(ecs)["events"]), message="the placement event")
    body = service_body(ecs)
    assert body["runningCount"] == 2
    assert any("insufficient memory" in e["message"] for e in body["events"])


def test_run_task_reports_resource_failures_like_aws(ecs, fake):
    ecs.register_task_definition(family="big", containerDefinitions=[container(memory=3000)])
    response = ecs.run_task(cluster="my-cluster", taskDefinition="big", count=3, launchType="EC2")
    assert len(response["tasks"]) == 2
    assert [f["reason"] for f in response["failures"]] == ["RESOURCE:MEMORY"]


def test_a_cluster_with_no_instances_cannot_place_ec2_tasks(fake):
    with LocalECS(speed=100, runtime=fake, instances=0, load_balancers=False) as local:
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="empty")
        ecs.register_task_definition(family="t", containerDefinitions=[container()])
        response = ecs.run_task(cluster="empty", taskDefinition="t", launchType="EC2")
        assert response["tasks"] == []
        assert response["failures"][0]["reason"] == "No Container Instances were found in your cluster."


@pytest.mark.parametrize("call, code", [
    (lambda ecs: ecs.create_service(cluster="nope", serviceName="s", taskDefinition="my-task", desiredCount=1),
     "ClusterNotFoundException"),
    (lambda ecs: ecs.create_service(cluster="my-cluster", serviceName="s", taskDefinition="ghost:1",
                                    desiredCount=1), "ClientException"),
    (lambda ecs: ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"],
                                              networkMode="awsvpc", cpu="256", memory="4096",
                                              containerDefinitions=[fargate_container()]), "ClientException"),
    (lambda ecs: ecs.create_service(cluster="my-cluster", serviceName="s", taskDefinition="fargate-ok",
                                    desiredCount=1, launchType="FARGATE"), "InvalidParameterException"),
])
def test_bad_input_gets_ecs_shaped_errors(ecs, call, code):
    ecs.register_task_definition(family="my-task", containerDefinitions=[container()])
    ecs.register_task_definition(family="fargate-ok", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                 cpu="256", memory="512", containerDefinitions=[fargate_container()])
    with pytest.raises(ClientError) as error:
        call(ecs)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["Error"]["Message"]


def test_a_fargate_service_with_network_configuration_runs(local, ecs, fake):
    subnet = local.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    ecs.register_task_definition(family="fg", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                 cpu="256", memory="512", containerDefinitions=[fargate_container()])
    ecs.create_service(cluster="my-cluster", serviceName="my-service", taskDefinition="fg", desiredCount=2,
                       launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
    wait_running(ecs, 2)
    task_specs = [s for s in fake.specs.values() if s.labels["ecsdojo.container-name"] != "~internal~ecs~pause"]
    assert len(task_specs) == 2 and all(s.memory_mib == 512 for s in task_specs)
    assert len(fake.specs) == 4, "each awsvpc task also has its pause container (the namespace holder)"


def test_a_rolling_deployment_replaces_every_task_with_the_new_revision(ecs, fake):
    make_service(ecs, desired=2, containers=[container(environment=[{"name": "APP_VERSION", "value": "v1"}])])
    wait_running(ecs, 2)
    ecs.register_task_definition(family="my-task",
                                 containerDefinitions=[container(environment=[{"name": "APP_VERSION", "value": "v2"}])])
    ecs.update_service(cluster="my-cluster", service="my-service", taskDefinition="my-task:2",
                       deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200})

    def completed():
        body = service_body(ecs)
        deployments = body["deployments"]
        return (len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"
                and deployments[0]["taskDefinition"].endswith("my-task:2") and body["runningCount"] == 2)

    wait_for(completed, timeout=20, message="the rollout to complete")
    versions = {fake.specs[c.id].environment["APP_VERSION"] for c in fake.running()}
    assert versions == {"v2"}
    assert service_body(ecs)["deploymentConfiguration"]["minimumHealthyPercent"] == 50


def test_the_circuit_breaker_fails_a_bad_rollout_and_rolls_back(ecs, fake):
    make_service(ecs, desired=2, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait_for(lambda: service_body(ecs)["deployments"][0]["rolloutState"] == "COMPLETED", message="first rollout")
    fake.fail_image("ecsdojo/broken:2", ImageNotFoundError("ecsdojo/broken:2"))
    ecs.register_task_definition(family="my-task", containerDefinitions=[container(image="ecsdojo/broken:2")])
    ecs.update_service(cluster="my-cluster", service="my-service", taskDefinition="my-task:2")

    def rolled_back():
        body = service_body(ecs)
        return body["taskDefinition"].endswith("my-task:1") and any(
            "rolling back to deployment" in e["message"] for e in body["events"])

    wait_for(rolled_back, timeout=30, message="the rollback")
    messages = [e["message"] for e in service_body(ecs)["events"]]
    assert any("deployment failed: tasks failed to start." in m for m in messages)
    wait_running(ecs, 2)


def test_a_revision_whose_containers_crash_after_starting_trips_the_breaker(ecs, fake):
    """Tasks that reach RUNNING and then exit still count as failures while the rollout is in progress."""
    make_service(ecs, desired=2, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    wait_for(lambda: service_body(ecs)["deployments"][0]["rolloutState"] == "COMPLETED", message="first rollout")
    ecs.register_task_definition(family="my-task", containerDefinitions=[container(image="ecsdojo/app:crashy")])
    ecs.update_service(cluster="my-cluster", service="my-service", taskDefinition="my-task:2")

    def crash_new_revision():
        for state in fake.running():
            if fake.specs[state.id].image == "ecsdojo/app:crashy":
                fake.crash(state.id, exit_code=1)
        body = service_body(ecs)
        return body["taskDefinition"].endswith("my-task:1") and any(
            "rolling back to deployment" in e["message"] for e in body["events"])

    wait_for(crash_new_revision, timeout=30, message="the breaker to trip on crashing tasks and roll back")


def test_the_task_resync_removes_a_container_of_the_session_no_task_owns(ecs, local, fake):
    """Issue 14: a leftover (a container with this session's labels whose task record is gone) is swept by the
    periodic task resync; the service's own containers are left alone."""
    from ecsdojo.runtime.base import LABEL_TASK_ARN, ContainerSpec, owned_labels

    make_service(ecs, desired=1)
    wait_running(ecs, 1)
    stray = fake.start(ContainerSpec(name="stray", image=APP, labels={
        **owned_labels(local.session), LABEL_TASK_ARN: "arn:aws:ecs:us-east-1:123456789012:task/my-cluster/gone"}))
    wait_for(lambda: fake.inspect(stray.id) is None, timeout=30, message="the leftover to be removed")
    assert ("remove", stray.id) in fake.actions
    assert len(fake.running()) == 1 and service_body(ecs)["runningCount"] == 1
