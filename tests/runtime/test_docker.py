"""DockerRuntime against the real engine (marked docker), plus its pure builders and parsers (no engine)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest

from ecsdojo.runtime.base import (
    LABEL_SESSION,
    ContainerSpec,
    ContainerStartError,
    HealthCheckSpec,
    ImageNotFoundError,
    InvalidImageReferenceError,
    PortMapping,
    RuntimeEvent,
    owned_labels,
)
from ecsdojo.runtime.docker import (
    ContainerNotManagedError,
    DockerRuntime,
    container_state,
    cpu_percent,
    docker_run_options,
    memory_bytes,
    parse_docker_time,
    runtime_event,
)
from tests.conftest import wait_for

SESSION = f"test-runtime-docker-{uuid.uuid4().hex[:10]}"
HEALTH_COMMAND = ("python3 -c \"import urllib.request; "
                  "urllib.request.urlopen('http://localhost:8080/health', timeout=1)\"")


def make_spec(name: str, image: str = "ecsdojo/app:latest", **overrides) -> ContainerSpec:
    """A spec labelled with this test run's session, published on a dynamic 127.0.0.1 port."""
    options = {"ports": (PortMapping(8080),), "labels": owned_labels(SESSION, **{"test.name": name})}
    options.update(overrides)
    return ContainerSpec(name=f"{SESSION}-{name}", image=image, **options)


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, response.read()


def answers(port: int, path: str = "/health"):
    try:
        return http_get(port, path, timeout=1.0)[0] == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture
def runtime(docker_client, app_image):
    runtime = DockerRuntime()
    yield runtime
    # Everything this run created carries its session label, managed or not.
    for container in docker_client.containers.list(all=True, filters={"label": f"{LABEL_SESSION}={SESSION}"}):
        container.remove(force=True)
    runtime.close()


@pytest.fixture
def events(runtime):
    """Events seen by a watch() running for the test; stopped at the end."""
    seen: list[RuntimeEvent] = []
    stop = threading.Event()
    thread = runtime.watch(seen.append, stop)
    yield seen
    stop.set()
    thread.join(timeout=5)


def event_for(seen: list[RuntimeEvent], container_id: str, action: str):
    return next((event for event in seen if event.container_id == container_id and event.action == action), None)


# ----- against the engine -----

@pytest.mark.docker
def test_does_start_publish_on_loopback_only_and_does_the_app_answer(runtime, docker_client):
    state = runtime.start(make_spec("publish"))
    attrs = docker_client.api.inspect_container(state.id)
    bindings = attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
    published = attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert {entry["HostIp"] for entry in published} == {"127.0.0.1"}
    assert state.running and state.ports[8080] == int(published[0]["HostPort"])
    assert state.labels["ecsdojo.managed"] == "true" and state.started_at.tzinfo is not None
    wait_for(lambda: answers(state.ports[8080]), message="/health on the published port")


@pytest.mark.docker
def test_are_limits_and_cpu_shares_set_as_the_ecs_agent_sets_them(runtime, docker_client):
    state = runtime.start(make_spec("limits", memory_mib=96, memory_reservation_mib=32, cpu_units=256,
                                    environment={"APP_VERSION": "v7"}))
    host = docker_client.api.inspect_container(state.id)["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 96 * 1024 * 1024
    assert host["MemoryReservation"] == 32 * 1024 * 1024
    assert host["CpuShares"] == 256
    wait_for(lambda: answers(state.ports[8080], "/version"), message="/version")
    assert json.loads(http_get(state.ports[8080], "/version")[1])["version"] == "v7"


@pytest.mark.docker
def test_does_a_crash_report_its_exit_code_and_a_die_event(runtime, events):
    state = runtime.start(make_spec("crash"))
    port = state.ports[8080]
    wait_for(lambda: answers(port), message="the app to answer")
    with contextlib.suppress(OSError):       # the app answers, then exits (or drops the connection)
        http_get(port, "/crash?code=3")
    stopped = wait_for(lambda: (s := runtime.inspect(state.id)) and not s.running and s, message="the exit")
    assert stopped.status == "exited" and stopped.exit_code == 3 and not stopped.oom_killed
    assert stopped.finished_at is not None and stopped.finished_at >= stopped.started_at
    die = wait_for(lambda: event_for(events, state.id, "die"), message="a die event")
    assert die.attributes["exitCode"] == "3"
    assert die.labels[LABEL_SESSION] == SESSION
    assert event_for(events, state.id, "start") is not None


@pytest.mark.docker
def test_is_exceeding_memory_a_real_oom_kill(runtime, events):
    state = runtime.start(make_spec("oom", memory_mib=64))
    wait_for(lambda: answers(state.ports[8080]), message="the app to answer")
    http_get(state.ports[8080], "/oom")
    stopped = wait_for(lambda: (s := runtime.inspect(state.id)) and not s.running and s, message="the OOM kill")
    assert stopped.oom_killed is True and stopped.exit_code == 137
    wait_for(lambda: event_for(events, state.id, "oom"), message="an oom event")


@pytest.mark.docker
def test_does_the_health_check_go_healthy_then_unhealthy_after_hang(runtime, docker_client, events):
    check = HealthCheckSpec(("CMD-SHELL", HEALTH_COMMAND), interval_s=0.3, timeout_s=1.0, retries=2)
    state = runtime.start(make_spec("health", health_check=check))
    assert state.health == "starting"
    healthcheck = docker_client.api.inspect_container(state.id)["Config"]["Healthcheck"]
    assert healthcheck["Test"] == ["CMD-SHELL", HEALTH_COMMAND]
    assert healthcheck["Interval"] == 300_000_000 and healthcheck["Retries"] == 2
    wait_for(lambda: runtime.inspect(state.id).health == "healthy", timeout=20, message="healthy")
    http_get(state.ports[8080], "/hang")
    wait_for(lambda: runtime.inspect(state.id).health == "unhealthy", timeout=20, message="unhealthy")
    assert runtime.inspect(state.id).running     # Docker does not act on unhealthy; the control plane does
    changes = wait_for(lambda: [e.attributes["health"] for e in events
                                if e.container_id == state.id and e.action == "health_status"][:2] == [
                                    "healthy", "unhealthy"], message="health_status events")
    assert changes


@pytest.mark.docker
def test_is_a_missing_image_a_cannot_pull_error(runtime, docker_client):
    image = f"ecsdojo-test.invalid/{SESSION}:missing"
    with pytest.raises(ImageNotFoundError, match=r"^CannotPullContainerError: .*" + image.replace(".", r"\.")):
        runtime.start(make_spec("missing", image=image))
    no_pull = DockerRuntime(pull_timeout_s=0)
    with pytest.raises(ImageNotFoundError, match="CannotPullContainerError"):
        no_pull.start(make_spec("missing2", image=image))
    no_pull.close()
    assert not runtime.image_exists(image) and runtime.image_exists("ecsdojo/app:latest")
    assert docker_client.containers.list(all=True, filters={"name": f"{SESSION}-missing"}) == []


@pytest.mark.docker
@pytest.mark.parametrize("image", ["UPPER/Case:tag", "ecsdojo/app:tag#x"])
def test_is_an_image_reference_docker_refuses_a_permanent_cannot_pull_error(runtime, docker_client, image):
    """Docker answers 400 "invalid reference format" (issue 14 item 6): a RuntimeError_, not an SDK APIError that
    the control plane would retry forever."""
    with pytest.raises(InvalidImageReferenceError, match=r"^CannotPullContainerError: .*invalid reference format"):
        runtime.start(make_spec("badref", image=image))
    assert docker_client.containers.list(all=True, filters={"name": f"{SESSION}-badref"}) == []


@pytest.mark.docker
def test_is_a_taken_host_port_a_start_error_that_leaves_nothing_behind(runtime, docker_client):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ContainerStartError, match="^CannotStartContainerError: "):
            runtime.start(make_spec("taken", ports=(PortMapping(8080, port),)))
    assert docker_client.containers.list(all=True, filters={"name": f"{SESSION}-taken"}) == []


@pytest.mark.docker
def test_do_list_and_sweep_touch_only_our_labelled_containers(runtime, docker_client):
    ours = runtime.start(make_spec("ours", ports=()))
    foreign = docker_client.containers.create("ecsdojo/app:latest", name=f"{SESSION}-foreign",
                                              labels={LABEL_SESSION: SESSION, "test.name": "foreign"})
    listed = runtime.list({LABEL_SESSION: SESSION})
    assert [state.id for state in listed] == [ours.id]
    with pytest.raises(ContainerNotManagedError):
        runtime.remove(foreign.id)
    with pytest.raises(ContainerNotManagedError):
        runtime.inspect(foreign.id)
    assert runtime.sweep({LABEL_SESSION: SESSION}) == 1
    assert runtime.inspect(ours.id) is None
    foreign.reload()                          # still there
    assert foreign.status == "created"


@pytest.mark.docker
def test_does_stop_send_sigterm_first_and_sigkill_after_the_timeout(runtime):
    polite = runtime.start(make_spec("polite", ports=()))
    stubborn = runtime.start(make_spec("stubborn", ports=(), command=(
        "python3", "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)")))
    wait_for(lambda: "listening" in runtime.logs(polite.id), message="the app to listen")
    runtime.stop(polite.id, timeout_s=10)
    runtime.stop(stubborn.id, timeout_s=1)
    assert runtime.inspect(polite.id).exit_code == 0        # the app exits 0 on SIGTERM
    assert runtime.inspect(stubborn.id).exit_code == 137    # SIGKILL after the timeout
    runtime.stop(polite.id, timeout_s=1)                    # already stopped: a no-op
    runtime.kill(polite.id)                                 # not running: a no-op
    runtime.remove(polite.id)
    runtime.remove(polite.id)                               # gone: a no-op
    assert runtime.inspect(polite.id) is None


@pytest.mark.docker
def test_is_a_paused_container_alive_and_stopped_at_once(runtime):
    """`docker pause` freezes the process: still alive (not exited) for the runtime; a stop ends it promptly
    (the engine resumes it to deliver SIGTERM; observed on Docker 20.10), and pausing or unpausing a container that
    is not running is a no-op."""
    state = runtime.start(make_spec("paused", ports=()))
    wait_for(lambda: "listening" in runtime.logs(state.id), message="the app to listen")
    runtime.pause(state.id)
    paused = runtime.inspect(state.id)
    assert (paused.status, paused.alive, paused.running, paused.exit_code) == ("paused", True, False, None)
    runtime.stop(state.id, timeout_s=10)
    stopped = runtime.inspect(state.id)
    assert (stopped.status, stopped.alive) == ("exited", False)
    runtime.unpause(state.id)                               # not paused: a no-op
    runtime.pause(state.id)                                 # not running: a no-op
    assert runtime.inspect(state.id).status == "exited"


@pytest.mark.docker
def test_does_kill_report_128_plus_the_signal(runtime):
    state = runtime.start(make_spec("kill", ports=()))
    runtime.kill(state.id, signal="SIGKILL")
    stopped = wait_for(lambda: (s := runtime.inspect(state.id)) and not s.running and s, message="the kill")
    assert stopped.exit_code == 137 and not stopped.oom_killed


@pytest.mark.docker
def test_does_stats_sample_a_running_container_and_not_a_stopped_one(runtime):
    state = runtime.start(make_spec("stats", ports=()))
    sample = runtime.stats(state.id)
    assert sample is not None and sample.memory_bytes > 1024 * 1024 and sample.cpu_percent >= 0
    runtime.kill(state.id)
    wait_for(lambda: not runtime.inspect(state.id).running, message="the kill")
    assert runtime.stats(state.id) is None


@pytest.mark.docker
def test_does_watch_stop_promptly_when_stop_is_set(runtime):
    stop = threading.Event()
    thread = runtime.watch(lambda event: None, stop)
    wait_for(lambda: thread.is_alive(), message="the watch thread")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


# ----- pure builders and parsers (no engine) -----

def test_are_run_options_what_the_ecs_agent_would_pass():
    check = HealthCheckSpec(("CMD", "python3", "-c", "pass"), interval_s=5, timeout_s=2, retries=4,
                            start_period_s=10)
    spec = make_spec("options", memory_mib=128, cpu_units=None, health_check=check, command=("python3", "x"),
                     ports=(PortMapping(8080), PortMapping(9090, 19090, "udp")))
    options = docker_run_options(spec)
    assert options["ports"] == {"8080/tcp": ("127.0.0.1", None), "9090/udp": ("127.0.0.1", 19090)}
    assert options["mem_limit"] == options["memswap_limit"] == 128 * 1024 * 1024
    assert "mem_reservation" not in options
    assert options["cpu_shares"] == 2                  # agent >= 1.2.0: null CPU is passed as 2 shares
    assert options["command"] == ["python3", "x"]
    assert options["healthcheck"] == {"test": ["CMD", "python3", "-c", "pass"], "interval": 5_000_000_000,
                                      "timeout": 2_000_000_000, "retries": 4, "start_period": 10_000_000_000}


def test_does_container_state_parse_docker_inspect_output():
    attrs = {
        "Id": "abc", "Name": "/web-1",
        "Config": {"Image": "ecsdojo/app:latest", "Labels": {"ecsdojo.managed": "true"}},
        "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True, "Error": "",
                  "StartedAt": "2024-05-01T10:00:00.123456789Z", "FinishedAt": "0001-01-01T00:00:00Z",
                  "Health": {"Status": "unhealthy"}},
        "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
        "NetworkSettings": {"Ports": {}},
    }
    state = container_state(attrs)
    assert (state.name, state.status, state.exit_code, state.oom_killed, state.health) == (
        "web-1", "exited", 137, True, "unhealthy")
    assert state.error is None and state.finished_at is None and state.ports == {}
    assert state.started_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    running = container_state({**attrs, "State": {"Status": "running", "ExitCode": 0},
                               "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1",
                                                                           "HostPort": "32771"}]}}})
    assert running.exit_code is None and running.ports == {8080: 32771} and running.health is None


def test_does_a_health_status_event_become_action_and_attribute():
    raw = {"Type": "container", "Action": "health_status: healthy",
           "Actor": {"ID": "abc", "Attributes": {"name": "web-1", "image": "x", "ecsdojo.managed": "true"}}}
    event = runtime_event(raw)
    assert event == RuntimeEvent("abc", "health_status", {"ecsdojo.managed": "true"},
                                 {"name": "web-1", "image": "x", "health": "healthy"})
    assert runtime_event({**raw, "Action": "exec_start: /bin/sh -c true"}) is None
    assert runtime_event({**raw, "Action": "die"}).action == "die"


def test_are_stats_computed_like_docker_stats():
    sample = {"cpu_stats": {"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2},
              "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
              "memory_stats": {"usage": 50_000_000, "stats": {"total_inactive_file": 10_000_000}}}
    assert cpu_percent(sample) == pytest.approx(40.0)      # 2000/10000 of the machine × 2 CPUs
    assert memory_bytes(sample) == 40_000_000
    assert parse_docker_time("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


class StubEventStream:
    """One Docker events stream: yields its events, then waits until closed (as a live stream does)."""

    def __init__(self, items):
        self.items = list(items)
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.items
        self.closed.wait(10)

    def close(self):
        self.closed.set()


class StubEngine:
    """A docker client double whose first events stream breaks, as during an engine restart."""

    def __init__(self):
        self.api = type("Api", (), {"timeout": None})()
        self.calls = 0
        self.streams: list[StubEventStream] = []

    def ping(self):
        return True

    def events(self, *, decode, filters):
        assert decode is True and filters["label"] == "ecsdojo.managed=true"
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("engine restarting")
        stream = StubEventStream([{"Action": "die", "Actor": {"ID": "c1", "Attributes": {"exitCode": "1"}}}])
        self.streams.append(stream)
        return stream

    def close(self):
        pass


def test_does_watch_reconnect_after_losing_the_engine_and_say_so():
    engine = StubEngine()
    runtime = DockerRuntime(client=engine)
    seen: list[RuntimeEvent] = []
    stop = threading.Event()
    thread = runtime.watch(seen.append, stop)
    wait_for(lambda: len(seen) >= 2, message="reconnect and die events")
    assert [event.action for event in seen[:2]] == ["reconnect", "die"]
    assert seen[1].container_id == "c1" and seen[1].attributes["exitCode"] == "1"
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and engine.streams[0].closed.is_set()


class StubHangingRegistry(StubEngine):
    """An engine without the image whose pull never answers (an unreachable registry that hangs)."""

    def __init__(self):
        super().__init__()
        import docker.errors

        release = self.release = threading.Event()
        self.pulls = 0

        def get(image):
            raise docker.errors.ImageNotFound(f"No such image: {image}")

        def pull(repository, tag=None, stream=False, decode=False):
            self.pulls += 1
            release.wait(30)
            return iter(())

        self.images = type("Images", (), {"get": staticmethod(get)})()
        self.api.pull = pull


def test_does_a_hanging_pull_give_up_after_the_pull_timeout_and_not_retry_at_once():
    engine = StubHangingRegistry()
    runtime = DockerRuntime(client=engine, pull_timeout_s=0.2)
    try:
        with pytest.raises(ImageNotFoundError, match=r"CannotPullContainerError: .*no answer within 0.2 s"):
            runtime.start(make_spec("hanging", image="registry.example/app:1"))
        with pytest.raises(ImageNotFoundError, match="the last pull failed"):
            runtime.start(make_spec("hanging", image="registry.example/app:1"))
        assert engine.pulls == 1
    finally:
        engine.release.set()


def test_does_exec_run_inside_the_container_with_its_exit_code_and_both_streams(runtime):
    from ecsdojo.runtime.base import ContainerStartError, ExecResult

    state = runtime.start(make_spec(f"ecsdojo-test-exec-{uuid.uuid4().hex[:6]}"))
    result = runtime.exec(state.id, ["sh", "-c", "cat /etc/hostname; echo oops >&2; exit 3"])
    assert result == ExecResult(exit_code=3, output=f"{state.id[:12]}\noops\n")
    runtime.kill(state.id)
    wait_for(lambda: not runtime.inspect(state.id).running, timeout=10, message="the container to exit")
    with pytest.raises(ContainerStartError, match="is not running"):
        runtime.exec(state.id, ["true"])


def test_does_exec_attached_join_stdin_and_stdout_to_the_command(runtime, tmp_path):
    import os

    state = runtime.start(make_spec(f"ecsdojo-test-exec-{uuid.uuid4().hex[:6]}"))
    (tmp_path / "in").write_text("echo from-stdin\nexit 5\n")
    read_fd = os.open(tmp_path / "in", os.O_RDONLY)
    write_fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        code = runtime.exec_attached(state.id, ["/bin/sh"], stdin=read_fd, stdout=write_fd, tty=False)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert code == 5
    assert (tmp_path / "out").read_text() == "from-stdin\n"


# ----- several containers per task -----

def test_does_a_joined_container_publish_no_ports_and_links_become_docker_links():
    joined = docker_run_options(make_spec("joined", network_container="abc123"))
    assert joined["network_mode"] == "container:abc123" and "ports" not in joined
    linked = docker_run_options(make_spec("linked", links=(("ecsdojo-c-1234-db", "database"),)))
    assert linked["links"] == {"ecsdojo-c-1234-db": "database"} and "network_mode" not in linked


@pytest.mark.docker
def test_is_a_container_restarted_in_place_in_the_namespace_it_joined(runtime, docker_client, events):
    holder = runtime.start(make_spec("holder", command=("python3", "-c", "import signal; signal.pause()")))
    app = runtime.start(make_spec("app", ports=(), network_container=holder.id))
    port = holder.ports[8080]
    wait_for(lambda: answers(port), message="the app through the holder's published port")
    runtime.kill(app.id, signal="SIGKILL")
    wait_for(lambda: runtime.inspect(app.id).exit_code == 137, message="the kill")
    again = runtime.restart(app.id)
    assert (again.id, again.status) == (app.id, "running") and again.started_at > app.started_at
    wait_for(lambda: answers(port), message="the restarted app on the same published port")
    assert docker_client.containers.get(app.id).attrs["HostConfig"]["NetworkMode"] == f"container:{holder.id}"
