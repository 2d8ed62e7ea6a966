"""Several containers per task, one TaskReconciler.sync at a time: in which order do they start (dependsOn, links),
what happens when a dependency can never be met, does an awsvpc task share one network namespace, does a
non-essential exit leave the task running, is a restartPolicy container restarted in place?

Built from the fake runtime and a fake desired-state reader (tests/control/fakes.py); every test asserts the exact
runtime actions. The last test goes through boto3 and moto on the process runtime (real processes, no Docker).
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timedelta, timezone

from ecsdojo.control import events
from ecsdojo.control.cli import render_status
from ecsdojo.control.local import LocalECS
from ecsdojo.control.moto.views import TaskDefinitionView
from ecsdojo.control.specs import PAUSE_CONTAINER_NAME, runtime_name
from ecsdojo.runtime.base import LABEL_CONTAINER_NAME
from ecsdojo.runtime.fake import FakeRuntime
from tests.conftest import wait_for
from tests.control.fakes import ACCOUNT, IMAGE, make_engine

LONG_AGO = datetime(2026, 1, 1, tzinfo=timezone.utc)     # containers "started" long before now


def container(name, *, essential=True, ports=(), depends=(), **extra):
    body = {"name": name, "image": IMAGE, "memory": 64, "essential": essential,
            "portMappings": [{"containerPort": port} for port in ports]}
    if depends:
        body["dependsOn"] = [{"containerName": target, "condition": condition} for target, condition in depends]
    body.update(extra)
    return body


def launch(engine, *containers, network_mode="bridge", family="multi"):
    view = TaskDefinitionView(arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:1", family=family,
                              container_definitions=tuple(containers), network_mode=network_mode)
    engine.desired.definitions[view.arn] = view
    result = engine.launcher.launch(cluster="demo", definition=view, count=1, group=f"family:{family}",
                                    started_by="", launch_type="EC2")
    assert result.failure is None
    return engine.store.tasks[result.task_arns[0]]


def name_of(task, container_name):
    return runtime_name(task.cluster, task.id, container_name)


def record(task, name):
    return next(c for c in task.containers if c.name == name)


def started(engine):
    return [engine.runtime.containers[i].labels[LABEL_CONTAINER_NAME] for i in engine.runtime.containers]


# ---- dependsOn --------------------------------------------------------------------------------------------

def test_does_a_container_wait_until_its_success_dependency_exits_zero():
    engine = make_engine()
    task = launch(engine, container("app", depends=[("init", "SUCCESS")]), container("init", essential=False))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "init"))], "app waits; init starts"
    assert task.last_status == "PENDING" and record(task, "app").last_status == "PENDING"
    engine.tasks.sync(task.arn)
    assert len(engine.runtime.actions) == 1, "nothing changes while init runs"
    engine.runtime.exit(record(task, "init").runtime_id, 0)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "init")), ("start", name_of(task, "app"))]
    assert task.last_status == "RUNNING"
    assert (record(task, "init").last_status, record(task, "init").exit_code) == ("STOPPED", 0)
    assert engine.desired.written_tasks[task.arn] == "RUNNING"


def test_does_a_success_dependency_that_exits_non_zero_fail_the_task_as_the_ecs_agent_does():
    engine = make_engine()
    task = launch(engine, container("init", essential=False), container("app", depends=[("init", "SUCCESS")]))
    engine.tasks.sync(task.arn)
    engine.runtime.exit(record(task, "init").runtime_id, 2)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "init"))], "app never starts, nothing to stop"
    app = record(task, "app")
    assert (app.last_status, app.exit_code, app.runtime_id) == ("STOPPED", 143, None)
    assert app.reason == ("CannotStartContainerError: dependency graph: failed to resolve container ordering "
                          "dependency [init] for target [app] as dependency did not exit successfully.")
    assert (task.last_status, task.stop_code, task.stopped_reason) == (
        "STOPPED", events.ESSENTIAL_CONTAINER_EXITED, "Essential container in task exited")
    assert record(task, "init").exit_code == 2


def test_does_a_healthy_dependency_hold_the_start_until_its_health_check_passes():
    engine = make_engine()
    check = {"command": ["CMD-SHELL", "true"], "interval": 5}
    task = launch(engine, container("app", ports=[8080], healthCheck=check),
                  container("proxy", ports=[9090], depends=[("app", "HEALTHY")]))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "app"))]
    engine.runtime.set_health(record(task, "app").runtime_id, "starting")
    engine.tasks.sync(task.arn)
    assert len(engine.runtime.actions) == 1 and task.last_status == "PENDING"
    engine.runtime.set_health(record(task, "app").runtime_id, "healthy")
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "app")), ("start", name_of(task, "proxy"))]
    assert task.last_status == "RUNNING"


def test_does_a_complete_dependency_that_outlives_its_start_timeout_fail_the_waiting_container():
    engine = make_engine(runtime=FakeRuntime(clock=lambda: LONG_AGO))
    task = launch(engine, container("migrate", essential=False, startTimeout=30),
                  container("app", depends=[("migrate", "COMPLETE")]))
    engine.tasks.sync(task.arn)
    # migrate "started" long ago and still runs: past its startTimeout, app gives up.
    assert engine.runtime.actions[0] == ("start", name_of(task, "migrate"))
    assert record(task, "app").reason == ("CannotStartContainerError: dependency graph: container ordering "
                                          "dependency [migrate] for target [app] has timed out.")
    assert task.last_status == "STOPPED" and task.stop_code == events.ESSENTIAL_CONTAINER_EXITED
    assert engine.runtime.actions[1:] == [("stop", record(task, "migrate").runtime_id)]


def test_does_a_non_essential_container_that_cannot_start_leave_the_others_running():
    engine = make_engine()
    task = launch(engine, container("init", essential=False), container("app"),
                  container("report", essential=False, depends=[("init", "SUCCESS")]))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "init")), ("start", name_of(task, "app"))]
    engine.runtime.exit(record(task, "init").runtime_id, 1)
    engine.tasks.sync(task.arn)
    assert len(engine.runtime.actions) == 2
    assert (record(task, "report").last_status, record(task, "report").exit_code) == ("STOPPED", 143)
    assert task.last_status == "RUNNING", "only non-essential containers stopped"


def test_do_bridge_links_start_the_linked_container_first_and_name_it_for_the_engine():
    engine = make_engine()
    # No networkMode: bridge, the EC2 default (API model TaskDefinition.networkMode).
    task = launch(engine, container("web", ports=[8080], links=["db:database"]), container("db"), network_mode=None)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "db")), ("start", name_of(task, "web"))]
    web_spec = engine.runtime.specs[record(task, "web").runtime_id]
    assert web_spec.links == ((name_of(task, "db"), "database"),)
    assert task.last_status == "RUNNING"


def test_are_dependents_stopped_before_their_dependencies():
    engine = make_engine()
    task = launch(engine, container("db"), container("app", depends=[("db", "START")]),
                  container("proxy", depends=[("app", "START")]))
    engine.tasks.sync(task.arn)
    assert started(engine) == ["db", "app", "proxy"]
    engine.runtime.actions.clear()
    engine.store.request_stop(task, events.stop_by_user("done"))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("stop", record(task, n).runtime_id) for n in ("proxy", "app", "db")]
    assert task.last_status == "STOPPED"


# ---- awsvpc: one network namespace --------------------------------------------------------------------------

def test_do_the_containers_of_an_awsvpc_task_join_one_pause_container_that_publishes_their_ports():
    engine = make_engine()
    task = launch(engine, container("app", ports=[8080]), container("sidecar", ports=[9090]), network_mode="awsvpc")
    engine.tasks.sync(task.arn)
    pause_name = runtime_name(task.cluster, task.id, "pause")
    assert engine.runtime.actions == [("start", pause_name), ("start", name_of(task, "app")),
                                      ("start", name_of(task, "sidecar"))]
    pause = engine.runtime.by_name(pause_name)
    assert pause.labels[LABEL_CONTAINER_NAME] == PAUSE_CONTAINER_NAME and task.pause_runtime_id == pause.id
    for name in ("app", "sidecar"):
        spec = engine.runtime.specs[record(task, name).runtime_id]
        assert spec.network_container == pause.id and spec.ports == ()
    assert record(task, "app").host_ports == {8080: pause.ports[8080]}
    assert record(task, "sidecar").host_ports == {9090: pause.ports[9090]}
    assert [c.name for c in task.containers] == ["app", "sidecar"], "the pause container is not in the API"
    assert engine.tasks.sweep_leftovers() == [], "the pause container is the task's own"
    engine.runtime.actions.clear()
    engine.store.request_stop(task, events.stop_by_user("done"))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("stop", record(task, "sidecar").runtime_id),
                                      ("stop", record(task, "app").runtime_id), ("stop", pause.id)]
    assert task.last_status == "STOPPED"


# ---- non-essential exits and restartPolicy ---------------------------------------------------------------------

def test_does_a_non_essential_container_that_exits_leave_the_task_running_with_its_exit_code():
    engine = make_engine()
    task = launch(engine, container("app", ports=[8080]), container("once", essential=False))
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    engine.runtime.exit(record(task, "once").runtime_id, 3)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == []
    assert task.last_status == "RUNNING" and task.desired_status == "RUNNING"
    assert (record(task, "once").last_status, record(task, "once").exit_code) == ("STOPPED", 3)
    assert record(task, "app").last_status == "RUNNING"


def test_is_a_restart_policy_container_restarted_in_place_and_the_task_stays_running():
    engine = make_engine(runtime=FakeRuntime(clock=lambda: LONG_AGO))
    policy = {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}
    task = launch(engine, container("app", ports=[8080], restartPolicy=policy))
    engine.tasks.sync(task.arn)
    runtime_id = record(task, "app").runtime_id
    engine.runtime.actions.clear()
    engine.runtime.crash(runtime_id, 3)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("restart", runtime_id)]
    app = record(task, "app")
    assert (app.runtime_id, app.last_status, app.restart_count, app.exit_code) == (runtime_id, "RUNNING", 1, None)
    assert task.last_status == "RUNNING" and engine.runtime.inspect(runtime_id).running
    engine.runtime.crash(runtime_id, 0)              # an ignored exit code: an essential exit, as without a policy
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("restart", runtime_id)]
    assert (task.last_status, task.stop_code, app.exit_code) == ("STOPPED", events.ESSENTIAL_CONTAINER_EXITED, 0)


def test_is_a_container_that_ran_less_than_its_restart_attempt_period_not_restarted():
    engine = make_engine(runtime=FakeRuntime(clock=lambda: datetime.now(timezone.utc) - timedelta(seconds=30)))
    task = launch(engine, container("app", restartPolicy={"enabled": True, "restartAttemptPeriod": 60}))
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    engine.runtime.crash(record(task, "app").runtime_id, 1)
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [], "ran 30 s of the 60 s period: no restart"
    assert task.last_status == "STOPPED" and record(task, "app").restart_count == 0


def test_does_dojo_status_show_how_often_a_container_was_restarted():
    snapshot = {"tasks": [{"id": "0123456789", "service": None, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                           "health": "UNKNOWN", "taskDefinition": "flaky:1", "stoppedReason": None,
                           "containers": [{"name": "flaky", "status": "RUNNING", "runtimeId": "abc", "ports": {},
                                           "exitCode": None, "restartCount": 2}]}]}
    assert "container flaky RUNNING restarted 2x abc no ports" in render_status(snapshot)


def test_does_a_healthy_dependency_without_a_health_check_fail_at_once_instead_of_waiting_forever():
    engine = make_engine()
    task = launch(engine, container("app"), container("proxy", essential=False, depends=[("app", "HEALTHY")]))
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("start", name_of(task, "app"))]
    assert record(task, "proxy").reason == ("CannotStartContainerError: dependency graph: failed to resolve container "
                                            "ordering dependency [app] for target [proxy] because dependency will "
                                            "never start")
    assert task.last_status == "RUNNING", "proxy is not essential"


def test_does_a_dead_pause_container_stop_its_awsvpc_task_as_an_essential_exit():
    engine = make_engine()
    task = launch(engine, container("app", ports=[8080]), network_mode="awsvpc")
    engine.tasks.sync(task.arn)
    engine.runtime.actions.clear()
    engine.runtime.kill(task.pause_runtime_id)
    engine.runtime.actions.clear()
    engine.tasks.sync(task.arn)
    assert engine.runtime.actions == [("stop", record(task, "app").runtime_id), ("stop", task.pause_runtime_id)]
    assert (task.last_status, task.stop_code) == ("STOPPED", events.ESSENTIAL_CONTAINER_EXITED)


# ---- through boto3, on the process runtime (real processes, no Docker) ----------------------------------------

def test_through_the_api_a_restart_policy_container_is_restarted_in_place_and_the_task_stays_running():
    with LocalECS(speed=60, runtime="process", load_balancers=False) as local:   # 60 ECS s = 1 wall s
        ecs = local.client("ecs")
        ecs.create_cluster(clusterName="c")
        ecs.register_task_definition(family="flaky", containerDefinitions=[{
            "name": "app", "image": IMAGE, "memory": 96, "portMappings": [{"containerPort": 8080}],
            "restartPolicy": {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}}])
        arn = ecs.run_task(cluster="c", taskDefinition="flaky", launchType="EC2")["tasks"][0]["taskArn"]

        def described():
            return ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]

        wait_for(lambda: described()["lastStatus"] == "RUNNING", timeout=30, message="RUNNING")
        runtime_id = described()["containers"][0]["runtimeId"]
        port = local.plane.store.tasks[arn].containers[0].host_ports[8080]

        def pid():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return json.loads(answer.read())["pid"]
            except OSError:
                return None

        first = wait_for(pid, timeout=20, message="the app to answer")
        time.sleep(1.2)                                  # past the 1 s restartAttemptPeriod (wall)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/crash?code=3", timeout=2).read()
        except OSError:
            pass
        wait_for(lambda: local.plane.store.tasks[arn].containers[0].restart_count == 1, timeout=20,
                 message="the restart")
        assert wait_for(lambda: (pid() or first) != first, timeout=20, message="a new process answering")
        task = described()
        assert (task["lastStatus"], task["containers"][0]["lastStatus"]) == ("RUNNING", "RUNNING")
        assert task["containers"][0]["runtimeId"] == runtime_id and "exitCode" not in task["containers"][0]
        assert ecs.list_tasks(cluster="c")["taskArns"] == [arn], "restarted in place, not replaced"


def test_is_a_dependent_container_not_started_once_its_task_is_asked_to_stop():
    from tests.control.test_task_reconciler import StopDuringStartRuntime
    runtime = StopDuringStartRuntime()
    engine = make_engine(runtime=runtime)
    task = launch(engine, container("db"), container("web", depends=[("db", "START")]), family="pair")
    runtime.during_start = lambda: engine.store.request_stop(task, events.stop_by_user("enough"))
    engine.tasks.sync(task.arn)
    db = record(task, "db").runtime_id
    assert runtime.actions == [("start", name_of(task, "db")), ("stop", db)], "web is never started"
    assert record(task, "web").runtime_id is None
    assert (task.last_status, task.stop_code, task.stopped_reason) == ("STOPPED", events.USER_INITIATED, "enough")
