"""The load generator: bounded runs, the loopback-only rule, error counting, reports and the CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from ecsdojo import cli
from ecsdojo.load import (InvalidLoadOptionError, LoadGenerator, LoadProgress, NonLoopbackURLError, _percentile,
                          run_load)
from tests.conftest import wait_for

# ------------------------------------------------------------------------------------------------ factories


class FakeService:
    """An HTTP server on 127.0.0.1: / answers 200, /fail 500, /slow waits for `gate`, /sleep20 takes 20 ms.

    Records each request's path and Host header."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with service.lock:
                    service.seen.append((self.path, self.headers.get("Host", "")))
                path = urlsplit(self.path).path
                status = 200
                if path == "/fail":
                    status = 500
                elif path == "/missing":
                    status = 404
                elif path == "/slow":
                    service.gate.wait(10)
                elif path == "/sleep20":
                    time.sleep(0.02)      # the service's own work, not a test wait
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass                  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_service():
    services: list[FakeService] = []

    def make() -> FakeService:
        services.append(FakeService())
        return services[-1]

    yield make
    for service in services:
        service.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------------- bounds


def test_does_a_run_stop_at_max_requests(make_service):
    service = make_service()
    report = run_load(service.url, concurrency=4, max_requests=37, duration_s=60, progress=False)
    assert report.requests == 37 == len(service.seen)
    assert report.ok == 37 and report.stopped_by == "max_requests"


def test_does_a_run_stop_at_its_duration(make_service):
    service = make_service()
    report = run_load(service.url, concurrency=2, duration_s=0.5, max_requests=1_000_000, timeout_s=2,
                      progress=False)
    assert report.stopped_by == "duration"
    assert 0 < report.requests < 1_000_000
    assert 0.5 <= report.duration_s <= 0.5 + 2          # the bound plus one request timeout at most


def test_does_an_open_loop_send_no_more_than_its_rate_allows(make_service):
    service = make_service()
    report = run_load(service.url, rate=40, duration_s=0.5, progress=False)
    assert report.mode == "open loop, 40 requests/s"
    assert 1 <= report.requests <= 20                   # slots at 0, 25, 50 ... 475 ms
    assert report.stopped_by == "duration"


def test_does_a_background_generator_stop_on_demand(make_service):
    service = make_service()
    load = LoadGenerator(service.url, concurrency=2, duration_s=60, progress=False).start()
    wait_for(lambda: load.report().requests >= 20, timeout=10, message="requests to flow")
    assert load.running and load.report().stopped_by == "running"
    report = load.stop()
    assert not load.running and report.stopped_by == "stop"
    assert report.requests == load.report().requests == len(service.seen)


def test_does_a_slow_service_not_stretch_a_run_past_its_bounds(make_service):
    service = make_service()
    report = run_load(service.url, path="/slow", concurrency=2, duration_s=0.3, timeout_s=0.5, progress=False)
    assert report.errors == {"timeout": 2} and report.requests == 2
    assert report.duration_s < 0.3 + 0.5 + 2


@pytest.mark.parametrize("options", [
    {"duration_s": 0}, {"duration_s": float("inf")}, {"duration_s": None}, {"max_requests": 0},
    {"max_requests": 10**9}, {"rate": 0}, {"rate": -5}, {"concurrency": 0}, {"concurrency": 10_000},
    {"timeout_s": 0}])
def test_are_unbounded_or_nonsense_options_refused(options):
    with pytest.raises(InvalidLoadOptionError, match=next(iter(options))):
        LoadGenerator("http://127.0.0.1:8080", progress=False, **options)


# --------------------------------------------------------------------------------------------- network rule


@pytest.mark.parametrize("url", [
    "http://10.0.0.5:8080/", "http://example.com/", "http://172.17.0.2:8080", "https://127.0.0.1:8443/",
    "http://127.0.0.2:8080/", "http://[::1]:8080/", "http://user:pw@127.0.0.1:8080/", "127.0.0.1:8080",
    "http://127.0.0.1.example.com/", "http://127.0.0.1:99999/"])
def test_is_any_url_off_127_0_0_1_refused(url):
    with pytest.raises(NonLoopbackURLError, match="network rule"):
        run_load(url, max_requests=1, progress=False)


def test_is_localhost_sent_to_127_0_0_1_with_its_host_header(make_service):
    service = make_service()
    port = urlsplit(service.url).port
    report = run_load(f"http://localhost:{port}/items?page=2", max_requests=3, progress=False)
    assert report.ok == 3
    assert service.seen == [("/items?page=2", f"localhost:{port}")] * 3


def test_does_path_replace_the_urls_path(make_service):
    service = make_service()
    run_load(service.url + "/ignored", path="/health", max_requests=2, concurrency=1, progress=False)
    assert [path for path, _ in service.seen] == ["/health", "/health"]


# ------------------------------------------------------------------------------------------------ counting


def test_are_server_errors_counted_by_status(make_service):
    service = make_service()
    report = run_load(service.url, path="/fail", max_requests=25, progress=False)
    assert report.errors == {"500": 25} and report.ok == 0 and report.error_rate == 1.0
    assert report.p50_ms is not None                     # an answer, even a 500, has a latency


def test_are_4xx_neither_ok_nor_errors(make_service):
    service = make_service()
    report = run_load(service.url, path="/missing", max_requests=5, progress=False)
    assert report.ok == 0 and report.errors == {} and report.status_counts == {"404": 5}


def test_are_refused_connections_counted_as_connection_errors():
    report = run_load(f"http://127.0.0.1:{closed_port()}", max_requests=6, duration_s=10, progress=False)
    assert report.errors == {"connection": 6} and report.requests == 6
    assert report.p50_ms is None


def test_are_percentiles_ordered_and_above_the_services_own_work(make_service):
    service = make_service()
    report = run_load(service.url, path="/sleep20", concurrency=4, max_requests=40, progress=False)
    assert report.ok == 40
    assert 20 <= report.p50_ms <= report.p90_ms <= report.p99_ms <= report.max_ms


def test_is_the_nearest_rank_percentile_right():
    values = [float(v) for v in range(1, 101)]
    assert [_percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert _percentile([7.0], 99) == 7.0 and _percentile([], 50) is None


def test_does_the_timeline_add_up_and_the_report_serialize(make_service):
    service = make_service()
    report = run_load(service.url, concurrency=2, duration_s=1.2, max_requests=300, progress=False)
    assert sum(point.requests for point in report.timeline) == report.requests
    assert [point.t for point in report.timeline] == list(range(len(report.timeline)))
    data = json.loads(json.dumps(report.as_dict()))
    assert data["requests"] == report.requests and data["timeline"][0][0] == 0
    assert f"requests    {report.requests}" in report.summary()


def test_does_a_progress_callback_see_the_run_to_its_end(make_service):
    service = make_service()
    seen: list[LoadProgress] = []
    report = run_load(service.url, path="/fail", max_requests=50, duration_s=10, progress=seen.append)
    assert seen and seen[-1].done and seen[-1].requests == report.requests == 50
    assert seen[-1].errors == report.error_count == 50 and seen[-1].fraction == 1.0


# ------------------------------------------------------------------------------------------------------ CLI


def test_does_dojo_load_print_one_json_line(make_service, capsys):
    service = make_service()
    assert cli.main(["load", service.url, "--concurrency", "2", "--max-requests", "12", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["requests"] == 12


def test_does_dojo_load_print_a_summary(make_service, capsys):
    service = make_service()
    assert cli.main(["load", service.url, "--rate", "50", "--duration", "0.3"]) == 0
    assert "open loop, 50 requests/s" in capsys.readouterr().out


def test_does_dojo_load_refuse_a_remote_url(capsys):
    assert cli.main(["load", "http://example.com/"]) == 2
    assert "network rule" in capsys.readouterr().err


def test_are_rate_and_concurrency_exclusive_on_the_command_line():
    with pytest.raises(SystemExit):
        cli.main(["load", "http://127.0.0.1:8080", "--rate", "5", "--concurrency", "3"])
