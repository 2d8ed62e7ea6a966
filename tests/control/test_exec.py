"""ECS Exec: enableExecuteCommand carried to tasks, ExecuteCommand refused as ECS refuses it, and (real containers)
`aws ecs execute-command --interactive` working verbatim through the course's session-manager-plugin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ecsdojo.cloud import environment_for_subprocess
from ecsdojo.control.ecs.exec import EXEC_NOT_ENABLED, read_token
from ecsdojo.control.local import LocalECS
from ecsdojo.runtime import ExecNotSupportedError, ExecResult, FakeRuntime
from ecsdojo.session_manager_plugin import INSTALLED
from tests.conftest import wait_for

BIN = Path(sys.executable).parent
CONTAINER = {"name": "web", "image": "ecsdojo/app:latest", "memory": 128,
             "portMappings": [{"containerPort": 8080, "hostPort": 0}]}


def running_task(local, ecs, *, exec_enabled: bool, cluster: str = "c") -> dict:
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="web", containerDefinitions=[CONTAINER])
    arn = ecs.run_task(cluster=cluster, taskDefinition="web", launchType="EC2",
                       enableExecuteCommand=exec_enabled)["tasks"][0]["taskArn"]

    def running():
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        return task if task["lastStatus"] == "RUNNING" else None
    return wait_for(running, timeout=60, message="the task to run")


# ---- the control plane's side, on the fake runtime (nothing runs) -------------------------------------------------
@pytest.fixture
def fake_local():
    with LocalECS(speed=20, runtime=FakeRuntime(), load_balancers=False, autoscaling=False) as running:
        yield running


def test_run_task_carries_enable_execute_command_to_describe_tasks(fake_local):
    ecs = fake_local.client("ecs")
    task = running_task(fake_local, ecs, exec_enabled=True)
    assert task["enableExecuteCommand"] is True
    assert task["containers"][0]["managedAgents"] == [{"name": "ExecuteCommandAgent", "lastStatus": "RUNNING"}]


def test_execute_command_is_refused_with_ecs_words_when_exec_was_not_enabled(fake_local):
    ecs = fake_local.client("ecs")
    task = running_task(fake_local, ecs, exec_enabled=False)
    assert not task.get("enableExecuteCommand")
    with pytest.raises(ecs.exceptions.InvalidParameterException) as refused:
        ecs.execute_command(cluster="c", task=task["taskArn"], container="web", command="/bin/sh", interactive=True)
    assert refused.value.response["Error"]["Message"] == EXEC_NOT_ENABLED


def test_execute_command_needs_interactive_and_an_existing_container(fake_local):
    ecs = fake_local.client("ecs")
    task = running_task(fake_local, ecs, exec_enabled=True)
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="interactive"):
        ecs.execute_command(cluster="c", task=task["taskArn"], command="ls", interactive=False)
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="container nope does not exist"):
        ecs.execute_command(cluster="c", task=task["taskArn"], container="nope", command="ls", interactive=True)


def test_the_session_names_the_container_and_the_command_and_local_exec_runs_it(fake_local):
    ecs = fake_local.client("ecs")
    task = running_task(fake_local, ecs, exec_enabled=True)
    reply = ecs.execute_command(cluster="c", task=task["taskArn"], command="sh -c 'echo hi'", interactive=True)
    assert reply["containerName"] == "web" and reply["interactive"] is True
    assert reply["session"]["sessionId"].startswith("ecs-execute-command-")
    target = read_token(reply["session"]["tokenValue"])
    runtime_id = task["containers"][0]["runtimeId"]
    assert (target.runtime, target.container_id, target.argv) == ("fake", runtime_id, ("sh", "-c", "echo hi"))
    runtime = fake_local.runtime
    runtime.exec_results[("cat", "/etc/hostname")] = ExecResult(exit_code=0, output="box\n")
    assert fake_local.exec(task["taskArn"], "cat /etc/hostname") == ExecResult(exit_code=0, output="box\n")
    assert runtime.actions[-1] == ("exec", runtime_id, ("cat", "/etc/hostname"))


def test_a_service_with_exec_enabled_launches_tasks_with_it(fake_local):
    ecs = fake_local.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="web", containerDefinitions=[CONTAINER])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="web", desiredCount=1, launchType="EC2",
                       enableExecuteCommand=True)
    fake_local.wait_for_service("c", "s", timeout=30)
    assert ecs.describe_services(cluster="c", services=["s"])["services"][0]["enableExecuteCommand"] is True
    arns = ecs.list_tasks(cluster="c", serviceName="s")["taskArns"]
    assert [t["enableExecuteCommand"] for t in ecs.describe_tasks(cluster="c", tasks=arns)["tasks"]] == [True]


# ---- simulated containers: what is not possible, said clearly ---------------------------------------------------
def test_on_simulated_containers_exec_says_why_it_cannot_work():
    with LocalECS(speed=20, runtime="process", load_balancers=False, autoscaling=False) as local:
        ecs = local.client("ecs")
        task = running_task(local, ecs, exec_enabled=True)
        with pytest.raises(ecs.exceptions.TargetNotConnectedException, match="simulated"):
            ecs.execute_command(cluster="c", task=task["taskArn"], command="/bin/sh", interactive=True)
        with pytest.raises(ExecNotSupportedError, match="nothing to exec into"):
            local.exec(task["taskArn"], "/bin/sh")


# ---- real containers: the AWS CLI, verbatim, through the shipped plugin -------------------------------------------
def aws(local, *words, stdin: str = "") -> subprocess.CompletedProcess:
    env = environment_for_subprocess(local.endpoint_url)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"     # the venv's aws and session-manager-plugin
    return subprocess.run([str(BIN / "aws"), *words], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.docker
def test_aws_ecs_execute_command_runs_in_the_real_container_through_the_plugin(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", load_balancers=False, autoscaling=False) as local:
        ecs = local.client("ecs")
        task = running_task(local, ecs, exec_enabled=True)
        done = aws(local, "ecs", "execute-command", "--cluster", "c", "--task", task["taskArn"], "--container", "web",
                   "--interactive", "--command", "echo hi")
        assert done.returncode == 0, done.stderr
        assert INSTALLED in done.stdout                       # the CLI's check that the plugin is there
        assert "hi" in done.stdout.splitlines()               # the command's output, from inside the container
        assert "Starting session with SessionId: ecs-execute-command-" in done.stdout
        # a shell, driven through stdin as a terminal would drive it: it runs in the container, not here
        shell = aws(local, "ecs", "execute-command", "--cluster", "c", "--task", task["taskArn"], "--container",
                    "web", "--interactive", "--command", "/bin/sh", stdin="cat /etc/hostname\nexit\n")
        container = docker_client.containers.get(task["containers"][0]["runtimeId"])
        assert container.attrs["Config"]["Hostname"] in shell.stdout.splitlines(), shell.stdout + shell.stderr
        # from Python too
        assert local.exec(task["taskArn"], "sh -c 'echo $((6 * 7))'") == ExecResult(exit_code=0, output="42\n")


@pytest.mark.docker
def test_aws_ecs_execute_command_is_refused_for_a_task_without_exec(docker_client, app_image):
    with LocalECS(speed=20, runtime="docker", load_balancers=False, autoscaling=False) as local:
        task = running_task(local, local.client("ecs"), exec_enabled=False)
        done = aws(local, "ecs", "execute-command", "--cluster", "c", "--task", task["taskArn"], "--container", "web",
                   "--interactive", "--command", "echo hi")
        assert done.returncode != 0
        assert "(InvalidParameterException) when calling the ExecuteCommand operation" in done.stderr
        assert "execute command was not enabled when the task was run" in done.stderr
        assert "hi" not in done.stdout.splitlines()


class Screen:
    """What a pseudo-terminal showed; `wait_for` consumes it up to a text (fails the test after `timeout` s)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.unread = b""

    def wait_for(self, text: bytes, *, timeout: float = 30.0) -> bytes:
        import select
        import time

        deadline = time.monotonic() + timeout
        while text not in self.unread:
            if time.monotonic() > deadline:
                pytest.fail(f"the terminal never showed {text!r}; it showed {self.unread!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.unread += os.read(self.fd, 4096)
                except OSError:             # the other end closed
                    pytest.fail(f"the terminal closed before {text!r}; it showed {self.unread!r}")
        shown, _, self.unread = self.unread.partition(text)
        return shown + text


@pytest.mark.docker
def test_execute_command_gives_a_real_terminal_shell_in_the_container(docker_client, app_image):
    """As a learner types it: a pseudo-terminal, a shell prompt, a tty inside the container, `exit` ends it."""
    import pty

    with LocalECS(speed=20, runtime="docker", load_balancers=False, autoscaling=False) as local:
        task = running_task(local, local.client("ecs"), exec_enabled=True)
        env = environment_for_subprocess(local.endpoint_url)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        pid, fd = pty.fork()
        if pid == 0:                     # the child: the AWS CLI on the terminal
            os.execve(str(BIN / "aws"), ["aws", "ecs", "execute-command", "--cluster", "c", "--task",
                                         task["taskArn"], "--container", "web", "--interactive", "--command",
                                         "/bin/sh"], env)
        try:
            screen = Screen(fd)
            screen.wait_for(b"Starting session with SessionId: ecs-execute-command-")
            screen.wait_for(b"# ")                 # the shell's prompt (root's): type once it is there, as a person
            os.write(fd, b"echo $((6 * 7)); tty\n")
            shown = screen.wait_for(b"/dev/pts/")
            assert b"\r\n42\r\n" in shown
            os.write(fd, b"exit\n")
            screen.wait_for(b"Exiting session with sessionId: ecs-execute-command-")
        except BaseException:
            os.kill(pid, signal.SIGKILL)         # never leave the CLI waiting on a terminal nobody reads
            raise
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 0
