"""Every path into moto is reconciled: services and clusters that did not come through the ECS API handlers
(CloudFormation, moto's own models) are adopted, rolled on a stack update and drained on a stack delete.

Unit tests drive Discovery with the fakes (exact records and keys); integration tests run LocalECS with the fake
runtime and CloudFormation through boto3; the docker test runs the terminal lab's template with the AWS CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from ecsdojo.cloud import environment_for_subprocess
from ecsdojo.control.ecs.discovery import Discovery
from ecsdojo.control.local import LocalECS
from ecsdojo.control.store import service_key
from ecsdojo.runtime import FakeRuntime
from tests.conftest import ROOT, wait_for
from tests.control.fakes import make_engine

BIN = Path(sys.executable).parent
LAB = ROOT / "labs" / "terminal"


# ---- unit: Discovery with the fakes ---------------------------------------------------------------------------
def discovery(engine, added_instances):
    return Discovery(store=engine.store, desired=engine.desired, clock=engine.clock,
                     add_instances=added_instances.append)


def test_a_service_the_store_does_not_know_is_adopted_with_its_settings_and_scheduled():
    engine, added = make_engine(), []
    definition = engine.desired.add_definition("web")
    spec = engine.desired.add_service("demo", "web", definition=definition, desired=2)
    engine.desired.requests[("demo", "web")] = {
        "launchType": "EC2", "generation": 1, "healthCheckGracePeriodSeconds": 30, "enableExecuteCommand": True,
        "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 150}}
    engine.desired.extra_clusters.add("empty")

    assert discovery(engine, added).sync() == [("demo", "web")]

    assert added == ["empty"]                       # "demo" already has instances; a new cluster gets some
    record = engine.store.service("demo", "web")
    assert record.arn == spec.arn
    assert [(d.status, d.task_definition_arn, d.desired_count) for d in record.deployments] == \
        [("PRIMARY", definition.arn, 2)]
    settings = record.settings
    assert (settings.health_check_grace_period_s, settings.enable_execute_command, settings.minimum_healthy_percent,
            settings.maximum_percent) == (30, True, 50, 150)
    assert service_key("demo", "web") in engine.queue.added
    engine.services.sync("demo", "web")
    assert len(engine.service_tasks("web")) == 2
    assert all(t.enable_execute_command for t in engine.service_tasks("web"))


def test_discovery_is_idempotent_and_leaves_api_made_services_alone():
    engine, added = make_engine(), []
    engine.service("web", desired=1, minimum_healthy_percent=100)     # as CreateService records it
    before = list(engine.store.service("demo", "web").deployments)
    assert discovery(engine, added).sync() == []
    assert discovery(engine, added).sync() == []
    assert engine.store.service("demo", "web").deployments == before
    assert engine.queue.added == []


def test_a_task_definition_changed_behind_the_api_rolls_the_service_once():
    engine, added = make_engine(), []
    first = engine.desired.add_definition("web")
    engine.desired.add_service("demo", "web", definition=first, desired=2)
    finder = discovery(engine, added)
    finder.sync()
    engine.services.sync("demo", "web")                        # two tasks of the first deployment
    second = engine.desired.add_definition("web")            # a stack update: new revision, service points at it
    engine.desired.services[("demo", "web")] = replace(engine.desired.services[("demo", "web")],
                                                       task_definition_arn=second.arn)
    assert finder.sync() == [("demo", "web")]
    assert finder.sync() == []
    deployments = engine.store.service("demo", "web").deployments
    assert [(d.status, d.task_definition_arn) for d in deployments] == [("PRIMARY", second.arn),
                                                                        ("ACTIVE", first.arn)]


def test_new_settings_from_a_stack_update_are_taken_once_per_generation():
    engine, added = make_engine(), []
    definition = engine.desired.add_definition("web")
    engine.desired.add_service("demo", "web", definition=definition, desired=1)
    engine.desired.requests[("demo", "web")] = {"launchType": "EC2", "generation": 1,
                                                "healthCheckGracePeriodSeconds": 10}
    finder = discovery(engine, added)
    finder.sync()
    record = engine.store.service("demo", "web")
    record.settings.health_check_grace_period_s = 99          # UpdateService through the API since then
    assert finder.sync() == []
    assert record.settings.health_check_grace_period_s == 99
    engine.desired.requests[("demo", "web")] = {"launchType": "EC2", "generation": 2,
                                                "healthCheckGracePeriodSeconds": 20}
    assert finder.sync() == [("demo", "web")]
    assert record.settings.health_check_grace_period_s == 20


def test_a_service_deleted_and_made_again_under_its_name_is_adopted_afresh():
    engine, added = make_engine(), []
    definition = engine.desired.add_definition("web")
    engine.desired.add_service("demo", "web", definition=definition, desired=1)
    engine.desired.requests[("demo", "web")] = {"launchType": "EC2", "generation": 1, "identity": "first",
                                                "enableExecuteCommand": True}
    finder = discovery(engine, added)
    finder.sync()
    first = engine.store.service("demo", "web")
    first.events.insert(0, {"message": "(service web) has reached a steady state."})
    engine.desired.requests[("demo", "web")] = {"launchType": "EC2", "generation": 1, "identity": "second"}
    assert finder.sync() == [("demo", "web")]
    again = engine.store.service("demo", "web")
    assert again is not first
    assert again.settings.enable_execute_command is False and again.adopted_identity == "second"
    assert not any("steady state" in e["message"] for e in again.events)


def test_an_api_made_service_is_followed_not_readopted():
    engine, added = make_engine(), []
    record = engine.service("web", desired=1)
    engine.desired.requests[("demo", "web")] = {"launchType": "EC2", "identity": "object-1"}
    finder = discovery(engine, added)
    assert finder.sync() == []
    assert engine.store.service("demo", "web") is record and record.adopted_identity == "object-1"


def test_an_inactive_service_is_not_adopted():
    engine, added = make_engine(), []
    definition = engine.desired.add_definition("web")
    spec = engine.desired.add_service("demo", "web", definition=definition, desired=1)
    engine.desired.services[("demo", "web")] = replace(spec, status="INACTIVE")
    assert discovery(engine, added).sync() == []
    assert engine.store.service("demo", "web") is None


# ---- integration: CloudFormation through boto3, fake runtime ------------------------------------------------------
TEMPLATE = """
Resources:
  Cluster: {Type: "AWS::ECS::Cluster", Properties: {ClusterName: cf}}
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: cf-web
      NetworkMode: bridge
      ContainerDefinitions:
        - {Name: web, Image: "ecsdojo/app:latest", Memory: 128, Essential: true,
           PortMappings: [{ContainerPort: 8080, HostPort: 0}]}
  Service:
    Type: AWS::ECS::Service
    Properties: {ServiceName: cf-web, Cluster: !Ref Cluster, TaskDefinition: !Ref TaskDefinition,
                 LaunchType: EC2, EnableExecuteCommand: true}
"""


def test_a_cloudformation_service_runs_like_an_api_one():
    with LocalECS(speed=20, runtime=FakeRuntime(), load_balancers=False, autoscaling=False) as local:
        ecs, cloudformation = local.client("ecs"), local.client("cloudformation")
        cloudformation.create_stack(StackName="s", TemplateBody=TEMPLATE)
        # DesiredCount left out: "a default value of 1 is used" (AWS::ECS::Service, CloudFormation user guide)
        local.wait_for_service("cf", "cf-web", running=1, timeout=30)
        assert len(ecs.list_container_instances(cluster="cf")["containerInstanceArns"]) == 2
        service = ecs.describe_services(cluster="cf", services=["cf-web"])["services"][0]
        assert (service["desiredCount"], service["runningCount"], service["enableExecuteCommand"]) == (1, 1, True)
        assert any("has reached a steady state" in e["message"] for e in service["events"])
        definition = ecs.describe_task_definition(taskDefinition="cf-web")["taskDefinition"]
        assert definition["networkMode"] == "bridge"             # kept (moto's own CloudFormation drops it)
        task = ecs.describe_tasks(cluster="cf", tasks=ecs.list_tasks(cluster="cf")["taskArns"])["tasks"][0]
        assert task["enableExecuteCommand"] is True and task["group"] == "service:cf-web"
        snapshot = local.plane.snapshot()
        assert [(s["cluster"], s["name"], s["running"]) for s in snapshot["services"]] == [("cf", "cf-web", 1)]

        cloudformation.delete_stack(StackName="s")
        wait_for(lambda: not local.tasks("cf"), timeout=30, message="the stack's tasks to stop")
        assert ecs.list_clusters()["clusterArns"] == []
        assert ecs.list_task_definitions(status="INACTIVE")["taskDefinitionArns"][0].endswith("cf-web:1")

        # deployed again: a new service under the same name, with the new template's settings
        cloudformation.create_stack(StackName="s", TemplateBody=TEMPLATE.replace("EnableExecuteCommand: true",
                                                                                 "EnableExecuteCommand: false"))
        local.wait_for_service("cf", "cf-web", running=1, timeout=30)
        assert ecs.describe_services(cluster="cf", services=["cf-web"])["services"][0]["enableExecuteCommand"] is False


def test_a_service_made_by_any_other_route_into_moto_is_adopted():
    with LocalECS(speed=20, runtime=FakeRuntime(), load_balancers=False, autoscaling=False) as local:
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "web", "image": "ecsdojo/app:latest", "memory": 128}])
        with local.plane.lock:     # straight into moto's backend, past the ECS API handlers
            local.plane.adapter.ecs.create_service("c", "sideways", 2, task_definition_str="web")
        local.wait_for_service("c", "sideways", running=2, timeout=30)


# ---- real containers: the terminal lab's template, with the AWS CLI ------------------------------------------------
def shell(local, command: str) -> subprocess.CompletedProcess:
    env = environment_for_subprocess(local.endpoint_url)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(command, shell=True, capture_output=True, text=True, env=env, cwd=LAB, timeout=240)


DEPLOY = ("VPC=$(aws ec2 describe-vpcs --query 'Vpcs[0].VpcId' --output text) && "
          "SUBNETS=$(aws ec2 describe-subnets --query 'Subnets[0:2].SubnetId' --output text | tr '\\t' ',') && "
          "aws cloudformation deploy --stack-name web-stack --template-file service-stack.yaml "
          "--parameter-overrides VpcId=$VPC Subnets=$SUBNETS")


@pytest.mark.docker
def test_the_labs_cloudformation_service_reaches_steady_state_and_rolls_on_update(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", autoscaling=False) as local:
        deployed = shell(local, DEPLOY)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        stable = shell(local, "aws ecs wait services-stable --cluster cfn-cluster --services cfn-web")
        assert stable.returncode == 0, stable.stderr
        ecs = local.client("ecs")
        service = ecs.describe_services(cluster="cfn-cluster", services=["cfn-web"])["services"][0]
        assert (service["runningCount"], service["pendingCount"]) == (2, 0)
        containers = docker_client.containers.list(filters={"label": f"ecsdojo.session={local.session}"})
        assert len(containers) == 2
        local.wait_for_healthy_targets(2, load_balancer="cfn-web-lb", timeout=60)
        body = urllib.request.urlopen(local.url("cfn-web-lb"), timeout=5).read().decode()
        assert '"ecs_service": "cfn-web"' in body and "cfn-web:1" in body

        updated = shell(local, DEPLOY + " AppVersion=v2")
        assert updated.returncode == 0, updated.stdout + updated.stderr
        wait_for(lambda: ecs.describe_services(cluster="cfn-cluster", services=["cfn-web"])["services"][0]
                 ["taskDefinition"].endswith("cfn-web:2"), timeout=30, message="the service on revision 2")
        stable = shell(local, "aws ecs wait services-stable --cluster cfn-cluster --services cfn-web")
        assert stable.returncode == 0, stable.stderr

        def rolled():
            tasks = local.tasks("cfn-cluster")
            return len(tasks) == 2 and all(t.task_definition_arn.endswith("cfn-web:2") for t in tasks)
        wait_for(rolled, timeout=60, message="both tasks on revision 2")

        deleted = shell(local, "aws cloudformation delete-stack --stack-name web-stack && "
                               "aws cloudformation wait stack-delete-complete --stack-name web-stack")
        assert deleted.returncode == 0, deleted.stderr
        wait_for(lambda: not docker_client.containers.list(filters={"label": f"ecsdojo.session={local.session}"}),
                 timeout=60, message="the stack's containers to stop")


def test_a_task_definition_ecs_would_refuse_fails_the_stack_and_rolls_it_back(tmp_path):
    broken = TEMPLATE.replace("NetworkMode: bridge", "NetworkMode: bridge\n      RequiresCompatibilities: [FARGATE]\n"
                                                     "      Cpu: 256\n      Memory: 512")
    (tmp_path / "broken.yaml").write_text(broken)
    with LocalECS(speed=20, runtime=FakeRuntime(), load_balancers=False, autoscaling=False) as local:
        done = shell(local, f"aws cloudformation deploy --stack-name bad --template-file {tmp_path / 'broken.yaml'}")
        assert done.returncode != 0
        assert "Failed to create/update the stack" in done.stderr
        events = local.client("cloudformation").describe_stack_events(StackName="bad")["StackEvents"]
        assert [e["ResourceStatus"] for e in events][:2] == ["ROLLBACK_COMPLETE", "CREATE_FAILED"]
        assert events[1]["ResourceStatusReason"] == \
            "ClientException: Fargate only supports network mode \u2018awsvpc\u2019. (networkMode is 'bridge')"
        assert local.client("ecs").list_clusters()["clusterArns"] == []       # what it made is rolled back
