"""The local load balancer: routing, health checks, draining, retries, and the loopback-only listener."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ecsdojo.control.elb import InvalidHealthCheckSettingError, LocalLoadBalancer, Target, parse_matcher
from ecsdojo.load import LoadGenerator
from tests.conftest import wait_for

APP = Path(__file__).resolve().parent.parent / "labs" / "app" / "app.py"
FAST = {"health_interval_s": 0.05, "health_timeout_s": 0.5}


# ------------------------------------------------------------------------------------------------ factories


class FakeTask:
    """A stdlib HTTP server on 127.0.0.1 standing in for one task, with knobs for its health and speed.

    /health answers `health_status`; / answers {"task": name}; /echo returns what it received;
    /slow waits until `gate` is set; /fail answers 500."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.health_status = 200
        self.health_hangs = threading.Event()
        self.gate = threading.Event()
        self.in_slow = threading.Event()
        self.hits: Counter[str] = Counter()
        self._open: set[socket.socket] = set()
        task = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def reply(self, status: int, body: dict, extra: dict | None = None) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                task.hits[path] += 1
                if path == "/health":
                    if task.health_hangs.is_set():
                        task.gate.wait(10)
                    self.reply(task.health_status, {"status": task.health_status})
                elif path == "/slow":
                    task.in_slow.set()
                    task.gate.wait(10)
                    self.reply(200, {"task": task.name, "slow": True})
                elif path == "/fail":
                    self.reply(500, {"task": task.name, "error": "boom"})
                elif path == "/echo":
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length).decode() if length else ""
                    self.reply(201, {"task": task.name, "method": self.command, "path": self.path,
                                     "headers": dict(self.headers.items()), "body": body},
                               {"X-Served-By": task.name})
                else:
                    self.reply(200, {"task": task.name})

            do_POST = do_HEAD = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request, client_address) -> None:
                task._open.add(request)
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.target = Target(name, self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def die(self) -> None:
        """Stop as a killed process would: no listener, every open connection closed."""
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        for connection in list(self._open):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def make_task():
    tasks: list[FakeTask] = []

    def make(name: str) -> FakeTask:
        tasks.append(FakeTask(name))
        return tasks[-1]

    yield make
    for task in tasks:
        task.die()


@pytest.fixture
def make_balancer():
    balancers: list[LocalLoadBalancer] = []

    def make(**options) -> LocalLoadBalancer:
        options.setdefault("name", "test-lb")
        balancer = LocalLoadBalancer(**options)
        balancers.append(balancer)
        balancer.start()
        return balancer

    yield make
    for balancer in balancers:
        balancer.stop()


@pytest.fixture
def start_app():
    """The real demo app (labs/app/app.py) as local processes on 127.0.0.1."""
    processes: list[subprocess.Popen] = []

    def start(name: str) -> tuple[Target, subprocess.Popen]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen([sys.executable, str(APP)], stderr=subprocess.DEVNULL,
                                   env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"})
        processes.append(process)
        wait_for(lambda: _answers(port), timeout=10, message=f"demo app {name} on port {port}")
        return Target(name, port), process

    yield start
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def get(balancer: LocalLoadBalancer, path: str = "/", *, method: str = "GET", body: bytes | None = None,
        headers: dict | None = None) -> tuple[int, dict, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection("127.0.0.1", balancer.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, (json.loads(payload) if payload else {}), response
    finally:
        connection.close()


def served_by(balancer: LocalLoadBalancer, requests: int) -> Counter[str]:
    answers = Counter()
    for _ in range(requests):
        status, body, _ = get(balancer)
        assert status == 200, body
        answers[body["task"]] += 1
    return answers


# -------------------------------------------------------------------------------------------------- routing


def test_does_round_robin_spread_requests_evenly_over_healthy_targets(make_task, make_balancer):
    tasks = [make_task(f"task-{i}") for i in range(3)]
    balancer = make_balancer(**FAST)
    balancer.set_targets(task.target for task in tasks)
    assert balancer.wait_healthy(3, timeout=10)

    assert served_by(balancer, 30) == {"task-0": 10, "task-1": 10, "task-2": 10}
    assert balancer.request_counts() == {"task-0": 10, "task-1": 10, "task-2": 10}
    assert [task.hits["/"] for task in tasks] == [10, 10, 10]
    assert balancer.total_requests == 30 and balancer.failed_requests == 0


def test_does_a_target_failing_health_checks_leave_rotation_and_come_back(make_task, make_balancer):
    steady, flaky = make_task("steady"), make_task("flaky")
    events = []
    balancer = make_balancer(**FAST, healthy_threshold=2, unhealthy_threshold=2,
                             on_change=lambda *change: events.append(change))
    balancer.set_targets([steady.target, flaky.target])
    assert balancer.wait_healthy(2, timeout=10)

    flaky.health_status = 503
    wait_for(lambda: balancer.target_health()["flaky"] == "unhealthy", timeout=10, message="flaky unhealthy")
    details = balancer.target_health_details()["flaky"]
    assert details.reason == "Target.ResponseCodeMismatch" and "503" in details.description
    assert served_by(balancer, 6) == {"steady": 6}

    flaky.health_status = 200
    wait_for(lambda: balancer.target_health()["flaky"] == "healthy", timeout=10, message="flaky healthy again")
    assert served_by(balancer, 6) == {"steady": 3, "flaky": 3}
    assert ("flaky", "healthy", "unhealthy") in events and ("flaky", "unhealthy", "healthy") in events


def test_does_the_first_health_check_run_at_once_and_one_pass_make_a_new_target_healthy(make_task, make_balancer):
    """With a 60 s interval and healthy_threshold 5, a new target still serves within seconds."""
    task = make_task("new")
    events = []
    balancer = make_balancer(health_interval_s=60, healthy_threshold=5, on_change=lambda *c: events.append(c))
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)
    assert events == [("new", "unused", "initial"), ("new", "initial", "healthy")]
    assert task.hits["/health"] == 1


def test_does_a_health_check_that_times_out_report_target_timeout(make_task, make_balancer):
    task = make_task("hung")
    task.health_hangs.set()
    balancer = make_balancer(health_interval_s=0.05, health_timeout_s=0.2, unhealthy_threshold=2)
    balancer.set_targets([task.target])
    wait_for(lambda: balancer.target_health()["hung"] == "unhealthy", timeout=10, message="hung unhealthy")
    assert balancer.target_health_details()["hung"].reason == "Target.Timeout"


@pytest.mark.parametrize("matcher, health_status, expected", [
    ("200", 302, "unhealthy"), ("200,302", 302, "healthy"), ("200-299", 204, "healthy")])
def test_does_the_matcher_decide_which_health_codes_pass(make_task, make_balancer, matcher, health_status,
                                                         expected):
    task = make_task("t")
    task.health_status = health_status
    balancer = make_balancer(**FAST, matcher=matcher)
    balancer.set_targets([task.target])
    wait_for(lambda: balancer.target_health()["t"] == expected, timeout=10, message=f"state {expected}")


def test_does_a_modified_health_check_path_turn_a_failing_target_healthy(make_task, make_balancer):
    """ModifyTargetGroup(HealthCheckPath=...): the next probes use the new path; a bad path is refused by name."""
    task = make_task("t")
    balancer = make_balancer(**FAST, health_path="/fail", unhealthy_threshold=2)      # /fail answers 500
    balancer.set_targets([task.target])
    wait_for(lambda: balancer.target_health()["t"] == "unhealthy", timeout=10, message="unhealthy on /fail")
    balancer.set_health_check(path="/health", matcher="200")
    wait_for(lambda: balancer.target_health()["t"] == "healthy", timeout=10, message="healthy on /health")
    with pytest.raises(InvalidHealthCheckSettingError, match="health_path"):
        balancer.set_health_check(path="health", matcher="200")
    assert balancer.health_path == "/health"


def test_does_a_matcher_parse_like_an_alb_matcher():
    codes = parse_matcher("200-299,302")
    assert 200 in codes and 299 in codes and 302 in codes and 301 not in codes and 300 not in codes
    for bad in ("abc", "100", "200-600", "", "299-200"):
        with pytest.raises(InvalidHealthCheckSettingError, match=r"'web'.*matcher"):
            LocalLoadBalancer(name="web", matcher=bad)


def test_do_out_of_range_settings_name_the_load_balancer_and_field():
    with pytest.raises(InvalidHealthCheckSettingError, match=r"load balancer 'web': healthy_threshold=0"):
        LocalLoadBalancer(name="web", healthy_threshold=0)
    with pytest.raises(InvalidHealthCheckSettingError, match="health_path"):
        LocalLoadBalancer(name="web", health_path="health")


def test_does_it_answer_503_naming_the_load_balancer_when_no_target_is_registered(make_balancer):
    balancer = make_balancer(name="empty-lb")
    status, body, _ = get(balancer)
    assert status == 503
    assert body["load_balancer"] == "empty-lb"
    assert balancer.failed_requests == 1 and balancer.total_requests == 1


def test_does_it_fail_open_to_all_targets_when_none_is_healthy(make_task, make_balancer):
    tasks = [make_task("a"), make_task("b")]
    for task in tasks:
        task.health_status = 500
    balancer = make_balancer(**FAST)
    balancer.set_targets(task.target for task in tasks)
    wait_for(lambda: set(balancer.target_health().values()) == {"unhealthy"}, timeout=10, message="all unhealthy")
    assert served_by(balancer, 4) == {"a": 2, "b": 2}


# ------------------------------------------------------------------------------------------------- failures


def test_does_a_target_dying_mid_traffic_cost_no_client_get(start_app, make_balancer):
    """Health checks are 60 s apart, so only the retry on another target can hide the death."""
    (first, first_process), (second, _) = start_app("first"), start_app("second")
    balancer = make_balancer(health_interval_s=60)
    balancer.set_targets([first, second])
    assert balancer.wait_healthy(2, timeout=10)

    load = LoadGenerator(balancer.url, concurrency=4, duration_s=25, max_requests=1500, progress=False).start()
    try:
        wait_for(lambda: load.report().requests >= 200, timeout=15, message="traffic flowing")
        first_process.kill()
        first_process.wait(timeout=10)
        after_kill = load.report().requests
        wait_for(lambda: load.report().requests >= after_kill + 300, timeout=15, message="traffic after the kill")
    finally:
        report = load.stop()

    assert report.errors == {} and report.ok == report.requests
    assert balancer.failed_requests == 0
    health = balancer.target_health_details()["first"]
    assert health.state == "unhealthy" and health.reason == "Target.FailedHealthChecks"
    assert balancer.request_counts()["second"] > balancer.request_counts()["first"]


def test_does_a_post_to_a_dead_target_get_502_without_a_retry(make_task, make_balancer):
    doomed, survivor = make_task("doomed"), make_task("survivor")
    balancer = make_balancer(health_interval_s=60)
    balancer.set_targets([doomed.target, survivor.target])
    assert balancer.wait_healthy(2, timeout=10)
    doomed.die()

    statuses = sorted(get(balancer, "/echo", method="POST", body=b"x")[0] for _ in range(2))
    assert statuses == [201, 502]            # one of the two went to the dead target
    assert balancer.target_health()["doomed"] == "unhealthy"
    assert balancer.failed_requests == 1
    assert [get(balancer, "/echo", method="POST", body=b"x")[0] for _ in range(3)] == [201, 201, 201]
    assert doomed.hits["/echo"] == 0


# ------------------------------------------------------------------------------------------------- draining


def test_does_a_removed_target_drain_its_in_flight_request_then_disappear(make_task, make_balancer):
    tasks = {name: make_task(name) for name in ("a", "b")}
    events = []
    balancer = make_balancer(health_interval_s=60, deregistration_delay_s=30, on_change=lambda *c: events.append(c))
    balancer.set_targets(task.target for task in tasks.values())
    assert balancer.wait_healthy(2, timeout=10)

    slow_answer = {}
    request = threading.Thread(target=lambda: slow_answer.update(zip(("status", "body"), get(balancer, "/slow"))))
    request.start()
    busy = wait_for(lambda: next((task for task in tasks.values() if task.in_slow.is_set()), None), timeout=10,
                    message="the slow request to reach a target")
    other = next(task for task in tasks.values() if task is not busy)

    balancer.set_targets([other.target])
    assert balancer.target_health() == {other.name: "healthy", busy.name: "draining"}
    assert balancer.target_health_details()[busy.name].reason == "Target.DeregistrationInProgress"
    assert served_by(balancer, 3) == {other.name: 3}

    busy.gate.set()
    request.join(timeout=10)
    assert slow_answer["status"] == 200 and slow_answer["body"]["task"] == busy.name
    wait_for(lambda: busy.name not in balancer.target_health(), timeout=10, message="draining to end")
    assert events[-2:] == [(busy.name, "healthy", "draining"), (busy.name, "draining", "unused")]


def test_does_draining_end_after_the_deregistration_delay_even_with_a_request_in_flight(make_task, make_balancer):
    task = make_task("stuck")
    balancer = make_balancer(health_interval_s=60, deregistration_delay_s=0.2)
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)
    request = threading.Thread(target=lambda: get(balancer, "/slow"))
    request.start()
    wait_for(task.in_slow.is_set, timeout=10, message="the slow request")

    balancer.set_targets([])
    assert balancer.target_health() == {"stuck": "draining"}
    wait_for(lambda: balancer.target_health() == {}, timeout=10, message="the delay to end draining")
    task.gate.set()
    request.join(timeout=10)


def test_is_a_removed_idle_target_gone_at_once(make_task, make_balancer):
    task = make_task("idle")
    balancer = make_balancer(health_interval_s=60, deregistration_delay_s=300)
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)
    balancer.set_targets([])
    assert balancer.target_health() == {}


# ----------------------------------------------------------------------------------------------- proxying


def test_does_it_proxy_method_path_query_headers_and_body_and_add_forwarded_headers(make_task, make_balancer):
    task = make_task("echo")
    balancer = make_balancer(**FAST)
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)

    status, body, response = get(balancer, "/echo?color=blue&n=2", method="POST", body=b'{"hello": 1}',
                                 headers={"X-Custom": "kept", "Host": "shop.example", "X-Forwarded-For": "10.1.2.3"})
    assert status == 201 and response.getheader("X-Served-By") == "echo"
    assert body["method"] == "POST" and body["path"] == "/echo?color=blue&n=2" and body["body"] == '{"hello": 1}'
    headers = body["headers"]
    assert headers["X-Custom"] == "kept" and headers["Host"] == "shop.example"
    assert headers["X-Forwarded-For"] == "10.1.2.3, 127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(balancer.port) and headers["X-Forwarded-Proto"] == "http"


def test_does_one_client_connection_carry_many_requests(make_task, make_balancer):
    task = make_task("t")
    balancer = make_balancer(**FAST)
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)
    connection = http.client.HTTPConnection("127.0.0.1", balancer.port, timeout=10)
    connection.connect()
    first_socket = connection.sock
    for method in ("GET", "HEAD", "GET"):
        connection.request(method, "/")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
    assert connection.sock is first_socket
    connection.close()


# ------------------------------------------------------------------------------------------------ listener


def _listening_addresses(port: int) -> list[str]:
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if int(local_port, 16) == port and state == "0A":      # LISTEN
                addresses.append(address)
    return addresses


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads the kernel's socket table (Linux)")
def test_does_it_listen_on_127_0_0_1_only(make_balancer):
    balancer = make_balancer()
    assert balancer.url == f"http://127.0.0.1:{balancer.port}"
    assert _listening_addresses(balancer.port) == ["0100007F"]       # 127.0.0.1, little-endian hex


def test_does_it_fall_back_to_an_ephemeral_port_when_the_port_is_busy():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy_port = squatter.getsockname()[1]
        balancer = LocalLoadBalancer(name="fallback")
        try:
            port = balancer.start(busy_port)
            assert port != busy_port and balancer.port == port and balancer.requested_port == busy_port
            assert get(balancer)[0] == 503
        finally:
            balancer.stop()


def test_does_it_never_bind_a_privileged_port():
    balancer = LocalLoadBalancer(name="low")
    try:
        assert balancer.start(80) >= 1024
    finally:
        balancer.stop()


def test_does_it_use_the_requested_port_when_free():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    balancer = LocalLoadBalancer(name="exact")
    try:
        assert balancer.start(free_port) == free_port
    finally:
        balancer.stop()


def test_do_targets_set_before_start_get_checked_once_started(make_task):
    task = make_task("early")
    balancer = LocalLoadBalancer(name="early-lb", **FAST)
    try:
        balancer.set_targets([task.target])
        assert balancer.target_health() == {"early": "initial"} and task.hits["/health"] == 0
        balancer.start()
        assert balancer.wait_healthy(1, timeout=10)
    finally:
        balancer.stop()


def test_can_an_on_change_callback_call_back_into_the_balancer(make_task, make_balancer):
    task = make_task("t")
    seen = []
    balancer = make_balancer(**FAST)
    balancer.on_change = lambda target_id, old, new: seen.append((new, balancer.target_health().get(target_id)))
    balancer.set_targets([task.target])
    wait_for(lambda: ("healthy", "healthy") in seen, timeout=10, message="the callback to see the new state")


def test_does_stop_close_the_listener_and_end_health_checks(make_task):
    task = make_task("t")
    balancer = LocalLoadBalancer(name="stopper", **FAST)
    balancer.start()
    balancer.set_targets([task.target])
    assert balancer.wait_healthy(1, timeout=10)
    port = balancer.port
    balancer.stop()
    balancer.stop()                                  # twice is fine
    assert not _answers(port)
    wait_for(lambda: not [thread for thread in threading.enumerate() if thread.name.startswith("lb-stopper-")],
             timeout=10, message="the listener and health-check threads to end")


def test_does_a_get_find_the_one_live_target_when_the_others_died_at_once(make_task, make_balancer):
    """Two of three targets die between health checks: a GET is retried on each other target until one answers
    (it fails only when every target does)."""
    first, second, survivor = make_task("first"), make_task("second"), make_task("survivor")
    balancer = make_balancer(health_interval_s=60)
    balancer.set_targets([first.target, second.target, survivor.target])
    assert balancer.wait_healthy(3, timeout=10)
    assert get(balancer, "/")[0] == 200        # round robin: the next GET goes to "second", its retry to "first"
    first.die()
    second.die()
    assert [get(balancer, "/")[0] for _ in range(6)] == [200] * 6
    assert balancer.failed_requests == 0
    assert balancer.target_health() == {"first": "unhealthy", "second": "unhealthy", "survivor": "healthy"}
    survivor.die()
    assert get(balancer, "/")[0] == 502 and balancer.failed_requests == 1


# ------------------------------------------------------------------------------- weighted target groups


def test_do_listener_weights_split_requests_exactly_between_two_target_groups(make_task, make_balancer):
    """A forward action to two target groups (LINEAR/CANARY steps): 90/10 is 9 of every 10 requests."""
    blue, green = make_task("blue-1"), make_task("green-1")
    balancer = make_balancer(**FAST)
    balancer.set_targets([Target("blue-1", blue.target.port, "tg-blue"), Target("green-1", green.target.port, "tg-green")])
    assert balancer.wait_healthy(2, timeout=10)
    balancer.set_weights({"tg-blue": 90, "tg-green": 10})
    assert served_by(balancer, 20) == {"blue-1": 18, "green-1": 2}
    balancer.set_weights({"tg-blue": 0, "tg-green": 100})
    assert served_by(balancer, 5) == {"green-1": 5}
    assert balancer.group_request_counts() == {"tg-blue": 18, "tg-green": 7}
    balancer.set_weights({"tg-blue": 1, "tg-green": 1})
    assert served_by(balancer, 4) == {"blue-1": 2, "green-1": 2}


def test_does_a_weight_out_of_range_name_the_load_balancer_and_group(make_balancer):
    balancer = make_balancer(**FAST)
    with pytest.raises(ValueError, match="test-lb.*tg-green"):
        balancer.set_weights({"tg-blue": 1, "tg-green": 1000})
