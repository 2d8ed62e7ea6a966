"""ProcessRuntime: the demo app as local processes, imitating what Docker enforces."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from ecsdojo.runtime.base import (
    LABEL_SESSION,
    ContainerSpec,
    ContainerStartError,
    HealthCheckSpec,
    ImageNotFoundError,
    PortMapping,
    RuntimeEvent,
    owned_labels,
)
from ecsdojo.runtime.process import ProcessRuntime, exit_code_of, image_repository, is_app_image, rewrite_ports
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the tests read /proc")

SESSION = f"test-runtime-process-{uuid.uuid4().hex[:10]}"
HEALTH_COMMAND = ("python3 -c \"import urllib.request; "
                  "urllib.request.urlopen('http://localhost:8080/health', timeout=1)\"")


def make_spec(name: str, image: str = "ecsdojo/app:latest", **overrides) -> ContainerSpec:
    options = {"ports": (PortMapping(8080),), "labels": owned_labels(SESSION, **{"test.name": name})}
    options.update(overrides)
    return ContainerSpec(name=f"{SESSION}-{name}", image=image, **options)


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, response.read()


def answers(port: int, path: str = "/health") -> bool:
    try:
        return http_get(port, path, timeout=1.0)[0] == 200
    except (OSError, urllib.error.URLError):
        return False


def process_gone(pid: int) -> bool:
    """Gone, or a zombie waiting for a reaper (it no longer runs)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def app_pid(runtime: ProcessRuntime, port: int) -> int:
    wait_for(lambda: answers(port), message="the app to answer")
    return json.loads(http_get(port, "/")[1])["pid"]


@pytest.fixture
def runtime():
    runtime = ProcessRuntime()
    yield runtime
    runtime.sweep({LABEL_SESSION: SESSION})
    runtime.close()


@pytest.fixture
def events(runtime):
    seen: list[RuntimeEvent] = []
    stop = threading.Event()
    thread = runtime.watch(seen.append, stop)
    yield seen
    stop.set()
    thread.join(timeout=5)


def event_for(seen, container_id: str, action: str):
    return next((event for event in seen if event.container_id == container_id and event.action == action), None)


def test_does_a_container_answer_on_its_host_port_with_the_spec_environment(runtime, events):
    state = runtime.start(make_spec("answer", environment={"APP_VERSION": "v9", "ECS_CLUSTER": "dojo"}))
    assert runtime.simulated and state.running and state.ports[8080] != 8080
    assert len(state.id) == 64 and state.started_at.tzinfo is not None
    wait_for(lambda: answers(state.ports[8080]), message="the app to answer")
    body = json.loads(http_get(state.ports[8080], "/")[1])
    assert body["version"] == "v9" and body["ecs_cluster"] == "dojo"
    wait_for(lambda: event_for(events, state.id, "start"), message="a start event")
    assert "listening on 127.0.0.1:" in runtime.logs(state.id)


def test_is_a_given_host_port_used_and_a_taken_one_refused(runtime):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    state = runtime.start(make_spec("fixed", ports=(PortMapping(8080, wanted),)))
    assert state.ports == {8080: wanted}
    wait_for(lambda: answers(wanted), message="the app on the fixed port")
    with pytest.raises(ContainerStartError, match="port is already allocated"):
        runtime.start(make_spec("fixed-again", ports=(PortMapping(8080, wanted),)))
    with pytest.raises(ContainerStartError, match="already in use"):
        runtime.start(make_spec("fixed"))       # same name


def test_does_a_crash_report_its_exit_code_and_a_die_event(runtime, events):
    state = runtime.start(make_spec("crash"))
    wait_for(lambda: answers(state.ports[8080]), message="the app to answer")
    with contextlib.suppress(OSError):
        http_get(state.ports[8080], "/crash?code=3")
    stopped = wait_for(lambda: (s := runtime.inspect(state.id)) and not s.running and s, message="the exit")
    assert stopped.status == "exited" and stopped.exit_code == 3 and not stopped.oom_killed
    assert stopped.finished_at >= stopped.started_at
    die = wait_for(lambda: event_for(events, state.id, "die"), message="a die event")
    assert die.attributes["exitCode"] == "3" and die.labels[LABEL_SESSION] == SESSION


def test_is_a_process_above_its_memory_limit_oom_killed(runtime, events):
    state = runtime.start(make_spec("oom", memory_mib=64))
    wait_for(lambda: answers(state.ports[8080]), message="the app to answer")
    assert runtime.inspect(state.id).running          # the idle app fits in 64 MiB
    http_get(state.ports[8080], "/oom")
    stopped = wait_for(lambda: (s := runtime.inspect(state.id)) and not s.running and s, message="the OOM kill")
    assert stopped.oom_killed is True and stopped.exit_code == 137
    wait_for(lambda: event_for(events, state.id, "die"), message="a die event")
    actions = [event.action for event in events if event.container_id == state.id]
    assert actions.index("oom") < actions.index("die")


def test_does_the_health_check_reach_the_app_through_the_rewritten_port(runtime, events):
    check = HealthCheckSpec(("CMD-SHELL", HEALTH_COMMAND), interval_s=0.2, timeout_s=1.0, retries=2)
    state = runtime.start(make_spec("health", health_check=check))
    assert state.health == "starting"
    wait_for(lambda: runtime.inspect(state.id).health == "healthy", message="healthy")
    http_get(state.ports[8080], "/hang")
    wait_for(lambda: runtime.inspect(state.id).health == "unhealthy", timeout=20, message="unhealthy")
    assert runtime.inspect(state.id).running
    wait_for(lambda: [e.attributes["health"] for e in events
                      if e.container_id == state.id and e.action == "health_status"] == ["healthy", "unhealthy"],
             message="health_status events")


def test_does_a_cmd_health_check_work_without_a_published_port(runtime):
    check = HealthCheckSpec(("CMD", "python3", "-c", "import urllib.request; "
                             "urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=1)"),
                            interval_s=0.2, timeout_s=1.0, retries=1)
    state = runtime.start(make_spec("cmd-health", ports=(), health_check=check))
    assert state.ports == {}
    wait_for(lambda: runtime.inspect(state.id).health == "healthy", message="healthy")


def test_do_failures_in_the_start_period_not_count(runtime, tmp_path):
    tally = tmp_path / "probes"
    failing = ("CMD-SHELL", f"echo probe >> {tally}; exit 1")
    patient = runtime.start(make_spec("patient", ports=(), health_check=HealthCheckSpec(
        failing, interval_s=0.05, timeout_s=1.0, retries=1, start_period_s=60)))
    wait_for(lambda: tally.exists() and len(tally.read_text().splitlines()) >= 4, message="four failed probes")
    assert runtime.inspect(patient.id).health == "starting"
    impatient = runtime.start(make_spec("impatient", ports=(), health_check=HealthCheckSpec(
        ("CMD-SHELL", "exit 1"), interval_s=0.05, timeout_s=1.0, retries=2)))
    wait_for(lambda: runtime.inspect(impatient.id).health == "unhealthy", message="unhealthy")


def test_does_a_hung_probe_count_as_a_failure_after_its_timeout(runtime):
    check = HealthCheckSpec(("CMD-SHELL", "sleep 30"), interval_s=0.05, timeout_s=0.2, retries=1)
    state = runtime.start(make_spec("hung-probe", ports=(), health_check=check))
    wait_for(lambda: runtime.inspect(state.id).health == "unhealthy", message="unhealthy after a timeout")


def test_does_stop_send_sigterm_and_kill_report_128_plus_the_signal(runtime):
    polite = runtime.start(make_spec("polite"))
    doomed = runtime.start(make_spec("doomed"))
    wait_for(lambda: answers(polite.ports[8080]) and answers(doomed.ports[8080]), message="both apps")
    runtime.stop(polite.id, timeout_s=10)
    assert runtime.inspect(polite.id).exit_code == 0       # the app exits 0 on SIGTERM
    runtime.kill(doomed.id, signal="SIGKILL")
    stopped = wait_for(lambda: (s := runtime.inspect(doomed.id)) and not s.running and s, message="the kill")
    assert stopped.exit_code == 137
    runtime.stop(polite.id)                                # no-ops once stopped or gone
    runtime.kill(polite.id)
    runtime.remove(polite.id)
    runtime.remove(polite.id)
    assert runtime.inspect(polite.id) is None


def test_does_stop_fall_back_to_sigkill_after_the_timeout(runtime):
    state = runtime.start(make_spec("stubborn"))
    pid = app_pid(runtime, state.ports[8080])
    os.kill(pid, 19)                  # SIGSTOP: the app cannot act on SIGTERM any more
    runtime.stop(state.id, timeout_s=0.3)
    assert runtime.inspect(state.id).exit_code == 137


def test_are_other_images_and_commands_refused(runtime):
    with pytest.raises(ImageNotFoundError, match="^CannotPullContainerError: .*nginx:latest"):
        runtime.start(make_spec("nginx", image="nginx:latest"))
    with pytest.raises(ContainerStartError, match="needs a Docker engine"):
        runtime.start(make_spec("shell", command=("sh", "-c", "exit 1")))
    for absent in ("ecsdojo/app:does-not-exist", "ecsdojo/app:v2-typo"):     # tags Docker would not have either
        with pytest.raises(ImageNotFoundError, match="^CannotPullContainerError: .*manifest unknown"):
            runtime.start(make_spec("absent", image=absent))
    state = runtime.start(make_spec("tagged", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/ecsdojo/app:v2",
                                    command=("python3", "/app/app.py")))
    wait_for(lambda: answers(state.ports[8080]), message="the app")
    assert json.loads(http_get(state.ports[8080], "/version")[1])["version"] == "v2"


def test_does_sweep_kill_only_the_labelled_processes(runtime):
    first = runtime.start(make_spec("sweep-1"))
    second = runtime.start(make_spec("sweep-2", labels=owned_labels(SESSION, **{"test.group": "b"})))
    pids = [app_pid(runtime, first.ports[8080]), app_pid(runtime, second.ports[8080])]
    assert [s.id for s in runtime.list({LABEL_SESSION: SESSION, "test.group": "b"})] == [second.id]
    assert runtime.sweep({"test.group": "b"}) == 1
    assert runtime.inspect(first.id).running
    assert runtime.sweep({LABEL_SESSION: SESSION}) == 1
    wait_for(lambda: all(process_gone(pid) for pid in pids), message="the processes to end")
    assert runtime.list({LABEL_SESSION: SESSION}) == []


def test_do_containers_die_with_the_python_process_that_started_them(tmp_path):
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent(f"""
        import json, os, signal, sys, threading
        sys.path.insert(0, {str(ROOT / "src")!r})
        from ecsdojo.runtime.base import ContainerSpec, PortMapping, owned_labels
        from ecsdojo.runtime.process import ProcessRuntime
        runtime = ProcessRuntime()
        state = {{}}
        def start():   # from a short-lived thread: the container must outlive the thread, not the process
            state["s"] = runtime.start(ContainerSpec(name="orphan", image="ecsdojo/app:latest",
                                                     labels=owned_labels({SESSION!r}), ports=(PortMapping(8080),)))
        worker = threading.Thread(target=start); worker.start(); worker.join()
        print(json.dumps({{"port": state["s"].ports[8080]}}), flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), signal.SIGKILL)   # no atexit, no cleanup: only the kernel can help
    """))
    owner = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = None
    try:
        port = json.loads(owner.stdout.readline())["port"]
        wait_for(lambda: answers(port), message="the orphan-to-be to answer")
        pid = json.loads(http_get(port, "/")[1])["pid"]
        owner.stdin.write("go\n")
        owner.stdin.flush()
        owner.wait(timeout=10)
        wait_for(lambda: process_gone(pid), message="the container process to die with its owner")
    finally:
        owner.kill()
        owner.wait()
        if pid is not None and not process_gone(pid):     # the test failed: do not leave the orphan behind
            os.kill(pid, 9)


def test_does_stats_measure_cpu_and_memory(runtime):
    state = runtime.start(make_spec("stats"))
    wait_for(lambda: answers(state.ports[8080]), message="the app")

    def burn():
        with contextlib.suppress(OSError):
            http_get(state.ports[8080], "/cpu?ms=5000", timeout=10)

    threading.Thread(target=burn, daemon=True).start()
    sample = wait_for(lambda: (s := runtime.stats(state.id)) and s.cpu_percent > 20 and s, message="CPU use")
    assert sample.memory_bytes > 5 * 1024 * 1024
    runtime.kill(state.id)
    wait_for(lambda: not runtime.inspect(state.id).running, message="the kill")
    assert runtime.stats(state.id) is None


def test_does_watch_stop_promptly_and_survive_a_failing_callback(runtime):
    stop = threading.Event()
    seen = []

    def callback(event):
        seen.append(event)
        raise ValueError("a broken callback")

    thread = runtime.watch(callback, stop)
    state = runtime.start(make_spec("watched", ports=()))
    runtime.kill(state.id)
    wait_for(lambda: [e.action for e in seen if e.container_id == state.id] == ["start", "die"],
             message="start and die despite the failing callback")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_are_image_names_ports_and_exit_codes_translated():
    assert image_repository("ecsdojo/app") == ("ecsdojo/app", "latest")
    assert image_repository("ecsdojo/app@sha256:abc") == ("ecsdojo/app", "latest")
    assert is_app_image("ecsdojo/app:0.1.0") and is_app_image("localhost:5000/ecsdojo/app")
    assert not is_app_image("ecsdojo/application:1") and not is_app_image("nginx")
    assert rewrite_ports("wget -q localhost:8080/health 0.0.0.0:8080 [::1]:8080 localhost:9999", {8080: 41000}) == (
        "wget -q 127.0.0.1:41000/health 127.0.0.1:41000 127.0.0.1:41000 localhost:9999")
    assert exit_code_of(-9) == 137 and exit_code_of(-15) == 143 and exit_code_of(3) == 3


def test_is_exec_refused_on_simulated_containers_with_the_reason(runtime):
    from ecsdojo.runtime.base import SIMULATED_EXEC_NOTE, ExecNotSupportedError

    state = runtime.start(make_spec(f"ecsdojo-test-{uuid.uuid4().hex[:6]}"))
    assert runtime.supports_exec is False
    with pytest.raises(ExecNotSupportedError) as refused:
        runtime.exec(state.id, ["/bin/sh"])
    assert str(refused.value) == SIMULATED_EXEC_NOTE


def test_is_an_exited_container_restarted_in_place_with_its_id_port_and_health_check(runtime, events):
    check = HealthCheckSpec(("CMD-SHELL", HEALTH_COMMAND), interval_s=0.3, timeout_s=2, retries=2, start_period_s=1)
    state = runtime.start(make_spec("again", health_check=check))
    port = state.ports[8080]
    first_pid = app_pid(runtime, port)
    runtime.kill(state.id, signal="SIGKILL")
    wait_for(lambda: runtime.inspect(state.id).exit_code == 137, message="the kill")
    again = runtime.restart(state.id)
    assert (again.id, again.status, again.exit_code, again.ports) == (state.id, "running", None, {8080: port})
    assert again.started_at > state.started_at
    assert app_pid(runtime, port) != first_pid, "a new process on the same host port"
    wait_for(lambda: runtime.inspect(state.id).health == "healthy", message="the restarted run's health check")
    wait_for(lambda: sum(1 for e in events if e.container_id == state.id and e.action == "start") == 2,
             message="a second start event")
    runtime.stop(state.id, timeout_s=5)
    assert runtime.inspect(state.id).status == "exited"
