"""The awslogs log driver: a container's lines in CloudWatch Logs (moto), read back with boto3 and `dojo logs tail`.

Unit tests drive LogShipper with a fake sink and runtime (exact actions); integration tests run LocalECS on the
process runtime (no Docker needed) and, marked docker, on real containers.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.ecs.logs import LOGS_KEY, LogShipper
from ecsdojo.control.local import LocalECS
from ecsdojo.control.moto.views import TaskDefinitionView
from tests.conftest import wait_for

AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}
MISSING = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/not-created", "awslogs-region": "us-east-1",
                                               "awslogs-stream-prefix": "ecs"}}
DOJO = str(Path(sys.executable).with_name("dojo"))


# ---- unit: LogShipper with fakes ------------------------------------------------------------------------------
class Sink:
    def __init__(self, groups=()):
        self.groups = set(groups)
        self.actions: list[tuple] = []

    def group_exists(self, region, group):
        return group in self.groups

    def create_group(self, region, group):
        self.actions.append(("create_group", region, group))
        self.groups.add(group)

    def put_events(self, region, group, stream, lines):
        self.actions.append(("put", group, stream, [line for _, line in lines]))
        return group in self.groups


class Lines:
    """A runtime that has written `written` (time, line) pairs per container."""

    def __init__(self):
        self.written: dict[str, list[tuple[float, str]]] = {}

    def log_events(self, container_id, *, since=None):
        return [(at, line) for at, line in self.written.get(container_id, []) if since is None or at > since]


class Queue:
    def __init__(self):
        self.added: list[tuple] = []

    def add_after(self, key, delay):
        self.added.append((key, delay))


def definition(log_configuration):
    return TaskDefinitionView(arn="arn:td/web:1", family="web", container_definitions=(
        {"name": "web", "image": "ecsdojo/app:latest", "logConfiguration": log_configuration},
        {"name": "sidecar", "image": "ecsdojo/app:latest"}))


def task(launch_type="EC2"):
    record = r.TaskRecord(arn="arn:aws:ecs:us-east-1:123456789012:task/c/abc123", id="abc123", cluster="c",
                          task_definition_arn="arn:td/web:1", group="family:web", launch_type=launch_type)
    record.containers = [r.ContainerRecord(name="web", image="x", runtime_id="cid-web"),
                         r.ContainerRecord(name="sidecar", image="x", runtime_id="cid-side")]
    return record


def test_prepare_creates_the_group_when_asked_and_refuses_a_missing_one_in_ecs_words():
    sink = Sink()
    shipper = LogShipper(sink=sink, runtime=Lines(), queue=Queue(), default_region="us-east-1")
    assert shipper.prepare(task(), definition(AWSLOGS)) is None
    assert sink.actions == [("create_group", "us-east-1", "/ecs/web")]
    assert shipper.prepare(task(), definition(MISSING)) == ("web", events.log_group_missing_reason("EC2"))
    assert shipper.prepare(task("FARGATE"), definition(MISSING))[1].startswith(
        "ResourceInitializationError: failed to initialize logging driver")
    assert events.log_group_missing_reason("EC2").startswith("CannotStartContainerError: ")


def test_the_shipper_puts_only_new_lines_into_the_ecs_named_stream_and_flushes_on_stop():
    sink, lines, queue = Sink({"/ecs/web"}), Lines(), Queue()
    shipper = LogShipper(sink=sink, runtime=lines, queue=queue, default_region="us-east-1")
    lines.written["cid-web"] = [(1.0, "one"), (2.0, "two")]
    lines.written["cid-side"] = [(1.5, "not shipped: no awslogs")]
    shipper.track(task(), definition(AWSLOGS))
    assert queue.added == [(LOGS_KEY, 1.0)]
    shipper.sync_key(LOGS_KEY)
    lines.written["cid-web"].append((3.0, "three"))
    shipper.sync_key(LOGS_KEY)
    shipper.sync_key(LOGS_KEY)               # nothing new: nothing put
    lines.written["cid-web"].append((4.0, "last words"))
    shipper.flush(task())
    shipper.sync_key(LOGS_KEY)               # forgotten after the flush
    assert sink.actions == [("put", "/ecs/web", "ecs/web/abc123", ["one", "two"]),
                            ("put", "/ecs/web", "ecs/web/abc123", ["three"]),
                            ("put", "/ecs/web", "ecs/web/abc123", ["last words"])]
    assert len(queue.added) == 4             # at track, then after each of the 3 looks while tracked; not after


def test_tracking_a_task_again_as_more_containers_start_ships_no_line_twice():
    # The task reconciler tracks a task after each container start (a container that dies before the task is
    # RUNNING still has its stream, as with the awslogs driver); a second track keeps what was shipped.
    sink, lines, queue = Sink({"/ecs/web"}), Lines(), Queue()
    shipper = LogShipper(sink=sink, runtime=lines, queue=queue, default_region="us-east-1")
    lines.written["cid-web"] = [(1.0, "one")]
    shipper.track(task(), definition(AWSLOGS))
    shipper.sync_key(LOGS_KEY)
    shipper.track(task(), definition(AWSLOGS))
    lines.written["cid-web"].append((2.0, "two"))
    shipper.flush(task())
    assert sink.actions == [("put", "/ecs/web", "ecs/web/abc123", ["one"]),
                            ("put", "/ecs/web", "ecs/web/abc123", ["two"])]


def test_without_a_prefix_the_stream_is_named_after_the_container_id():
    sink, lines = Sink({"/ecs/web"}), Lines()
    options = {**AWSLOGS["options"]}
    del options["awslogs-stream-prefix"]
    shipper = LogShipper(sink=sink, runtime=lines, queue=Queue(), default_region="us-east-1")
    lines.written["cid-web"] = [(1.0, "hello")]
    shipper.track(task(), definition({"logDriver": "awslogs", "options": options}))
    shipper.sync_key(LOGS_KEY)
    assert sink.actions[-1] == ("put", "/ecs/web", "cid-web", ["hello"])


# ---- integration: LocalECS on the process runtime --------------------------------------------------------------
@pytest.fixture
def local():
    with LocalECS(speed=20, runtime="process", load_balancers=False) as running:
        yield running


def register(ecs, family, log_configuration):
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "web", "image": "ecsdojo/app:latest", "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}], "logConfiguration": log_configuration}])


def stream_messages(logs, group, stream):
    try:
        return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def run_and_read_logs(local):
    ecs, logs = local.client("ecs"), local.client("logs")
    ecs.create_cluster(clusterName="c")
    register(ecs, "web", AWSLOGS)
    arn = ecs.run_task(cluster="c", taskDefinition="web", launchType="EC2")["tasks"][0]["taskArn"]
    stream = f"ecs/web/{arn.rsplit('/', 1)[-1]}"
    # awslogs-create-group: the group is made when the task's containers start (not at RunTask).
    wait_for(lambda: [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/ecs/web"],
             timeout=30, message="the log group made by awslogs-create-group")
    started = wait_for(lambda: [m for m in stream_messages(logs, "/ecs/web", stream) if "listening on" in m],
                       timeout=30, message="the app's first line in its log stream")
    assert started[0].startswith("ecsdojo-app ")
    port = wait_for(lambda: local.tasks("c")[0].containers[0].host_ports.get(8080), timeout=10,
                    message="the task's port")
    with contextlib.suppress(OSError):          # the app may answer before it exits, or not
        urllib.request.urlopen(f"http://127.0.0.1:{port}/crash?code=4", timeout=5).close()
    wait_for(lambda: ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED",
             timeout=30, message="the crashed task to stop")
    # A stopped task's last lines stay readable.
    assert wait_for(lambda: [m for m in stream_messages(logs, "/ecs/web", stream) if "exiting with code 4" in m],
                    timeout=10, message="the crash's last words in the stream")
    return stream


def test_a_tasks_lines_reach_its_log_stream_and_stay_after_it_stops(local):
    run_and_read_logs(local)


def test_a_missing_log_group_fails_the_start_with_ecs_wording(local):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="c")
    register(ecs, "nogroup", MISSING)
    arn = ecs.run_task(cluster="c", taskDefinition="nogroup", launchType="EC2")["tasks"][0]["taskArn"]
    body = wait_for(lambda: [t for t in ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"]
                             if t["lastStatus"] == "STOPPED"], timeout=30, message="the task to stop")[0]
    assert body["stopCode"] == "TaskFailedToStart"
    assert body["stoppedReason"] == events.log_group_missing_reason("EC2")
    assert "The specified log group does not exist" in body["containers"][0]["reason"]
    assert local.runtime.list({"ecsdojo.session": local.session}) == []   # no container was started


def test_dojo_logs_tail_prints_the_lines_with_v2_options(local):
    stream = run_and_read_logs(local)
    common = [DOJO, "logs", "tail", "/ecs/web", "--endpoint-url", local.endpoint_url]
    detailed = subprocess.run(common, capture_output=True, text=True, timeout=60)
    assert detailed.returncode == 0, detailed.stdout + detailed.stderr
    lines = detailed.stdout.splitlines()
    assert any(f" {stream} ecsdojo-app " in line for line in lines)
    short = subprocess.run([*common, "--format", "short", "--filter-pattern", "exiting"], capture_output=True,
                           text=True, timeout=60)
    assert [line.split(" ", 1)[1] for line in short.stdout.splitlines()] == [
        "crash requested: exiting with code 4"]
    old = subprocess.run([*common, "--since", "2000-01-01T00:00:00Z", "--format", "json"], capture_output=True,
                         text=True, timeout=60)
    assert len([json.loads(line) for line in old.stdout.splitlines()]) == len(lines)
    missing = subprocess.run([DOJO, "logs", "tail", "/ecs/nope", "--endpoint-url", local.endpoint_url],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stdout and "/ecs/nope" in missing.stdout


def test_dojo_logs_tail_follow_prints_new_lines_as_they_arrive(local):
    ecs, logs = local.client("ecs"), local.client("logs")
    ecs.create_cluster(clusterName="c")
    register(ecs, "web", AWSLOGS)
    logs.create_log_group(logGroupName="/ecs/web")
    follower = subprocess.Popen([DOJO, "logs", "tail", "/ecs/web", "--follow", "--format", "short",
                                 "--endpoint-url", local.endpoint_url], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)                  # the follower has looked at least once and found nothing
        ecs.run_task(cluster="c", taskDefinition="web", launchType="EC2")
        line = follower.stdout.readline()
        assert "listening on" in line
    finally:
        follower.terminate()
        follower.wait(timeout=20)


# ---- real containers --------------------------------------------------------------------------------------------
@pytest.mark.docker
def test_a_real_containers_stdout_reaches_its_log_stream(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", load_balancers=False) as local:
        stream = run_and_read_logs(local)
        tailed = subprocess.run([DOJO, "logs", "tail", "/ecs/web", "--endpoint-url", local.endpoint_url],
                                capture_output=True, text=True, timeout=60)
        assert f" {stream} " in tailed.stdout and "exiting with code 4" in tailed.stdout


def test_start_live_tail_works_from_boto3_and_the_aws_cli(local):
    """StartLiveTail's "stream-" host prefix would turn 127.0.0.1 into a name that does not resolve: the course
    turns botocore's host-prefix injection off (AWS_DISABLE_HOST_PREFIX_INJECTION, inject_host_prefix)."""
    import os

    logs = local.client("logs")
    logs.create_log_group(logGroupName="/ecs/live")
    logs.create_log_stream(logGroupName="/ecs/live", logStreamName="ecs/web/1")
    logs.put_log_events(logGroupName="/ecs/live", logStreamName="ecs/web/1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "live line"}])
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/live"
    stream = logs.start_live_tail(logGroupIdentifiers=[group_arn])["responseStream"]
    results = [r["message"] for event in stream for r in event.get("sessionUpdate", {}).get("sessionResults", [])]
    assert results == ["live line"]
    cli = subprocess.run([sys.executable, "-m", "awscli", "logs", "start-live-tail", "--log-group-identifiers",
                          group_arn], env={**os.environ, **local.cli_environment()}, capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 0 and "live line" in cli.stdout, cli.stderr
