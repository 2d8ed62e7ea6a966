"""FakeRuntime: records what the control plane asks for and lets tests drive the containers."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

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
from ecsdojo.runtime.fake import FakeRuntime, fake_container_id

CHECK = HealthCheckSpec(("CMD-SHELL", "exit 0"))


def make_spec(name: str, *, session: str = "fake", **overrides) -> ContainerSpec:
    options = {"image": "ecsdojo/app:latest", "ports": (PortMapping(8080),), "labels": owned_labels(session)}
    options.update(overrides)
    return ContainerSpec(name=name, **options)


def make_runtime(**options) -> tuple[FakeRuntime, list[RuntimeEvent], threading.Event]:
    runtime = FakeRuntime(**options)
    seen: list[RuntimeEvent] = []
    stop = threading.Event()
    runtime.watch(seen.append, stop)
    return runtime, seen, stop


def test_are_actions_recorded_in_order():
    runtime, _, _ = make_runtime()
    first = runtime.start(make_spec("web-1"))
    runtime.stop(first.id, timeout_s=5)
    runtime.kill(first.id, signal="SIGTERM")
    runtime.remove(first.id)
    assert runtime.actions == [("start", "web-1"), ("stop", first.id), ("kill", first.id, "SIGTERM"),
                               ("remove", first.id)]


def test_are_ids_and_dynamic_host_ports_deterministic():
    runtime, _, _ = make_runtime()
    first = runtime.start(make_spec("a"))
    second = runtime.start(make_spec("b", ports=(PortMapping(8080), PortMapping(9090, 19090))))
    assert first.id == fake_container_id(1) and second.id == fake_container_id(2)
    assert first.id[:12] != second.id[:12] and len(first.id) == 64
    assert first.ports == {8080: 32768} and second.ports == {8080: 32769, 9090: 19090}
    assert FakeRuntime().start(make_spec("a")).id == first.id


def test_are_events_delivered_synchronously_for_every_change():
    runtime, seen, _ = make_runtime()
    state = runtime.start(make_spec("web-1", health_check=CHECK))
    assert [(e.action, e.container_id) for e in seen] == [("start", state.id)]
    runtime.set_health(state.id, "healthy")
    runtime.set_health(state.id, "healthy")          # no change, no event
    runtime.set_health(state.id, "unhealthy")
    assert [e.attributes.get("health") for e in seen if e.action == "health_status"] == ["healthy", "unhealthy"]
    crashed = runtime.crash(state.id, exit_code=3)
    assert crashed.exit_code == 3 and crashed.status == "exited" and not crashed.oom_killed
    assert seen[-1].action == "die" and seen[-1].attributes["exitCode"] == "3"
    assert seen[-1].labels[LABEL_SESSION] == "fake"


def test_does_oom_mark_the_container_and_emit_oom_then_die():
    runtime, seen, _ = make_runtime()
    state = runtime.start(make_spec("hog"))
    killed = runtime.oom(state.id)
    assert killed.oom_killed and killed.exit_code == 137 and not killed.running
    assert [e.action for e in seen] == ["start", "oom", "die"]
    runtime.crash(state.id)                           # already stopped: nothing changes
    assert runtime.inspect(state.id).exit_code == 137 and len(seen) == 3


def test_do_stop_kill_and_remove_give_docker_exit_codes():
    runtime, seen, _ = make_runtime()
    polite = runtime.start(make_spec("polite"))
    killed = runtime.start(make_spec("killed"))
    runtime.stop(polite.id)
    runtime.kill(killed.id, signal="SIGKILL")
    assert runtime.inspect(polite.id).exit_code == 0
    assert runtime.inspect(killed.id).exit_code == 137
    stubborn = FakeRuntime(stop_exit_code=137)
    state = stubborn.start(make_spec("stubborn"))
    stubborn.stop(state.id)
    assert stubborn.inspect(state.id).exit_code == 137
    runtime.remove(polite.id)
    assert runtime.inspect(polite.id) is None and seen[-1].action == "destroy"
    runtime.stop("no-such-id")                        # gone: no-ops, still recorded
    runtime.remove("no-such-id")
    assert runtime.actions[-2:] == [("stop", "no-such-id"), ("remove", "no-such-id")]


def test_can_tests_make_starts_fail():
    runtime, seen, _ = make_runtime(images={"ecsdojo/app:latest", "ecsdojo/app:v2"})
    runtime.fail_next_start()
    with pytest.raises(ContainerStartError):
        runtime.start(make_spec("one"))
    runtime.fail_next_start(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        runtime.start(make_spec("one"))
    assert runtime.start(make_spec("one")).running      # only the next start fails
    runtime.fail_image("ecsdojo/app:v2")
    with pytest.raises(ImageNotFoundError, match="^CannotPullContainerError"):
        runtime.start(make_spec("two", image="ecsdojo/app:v2"))
    with pytest.raises(ImageNotFoundError):
        runtime.start(make_spec("three", image="nginx"))
    assert not runtime.image_exists("nginx") and runtime.image_exists("ecsdojo/app:latest")
    assert [a for a in runtime.actions if a[0] == "start"] == [("start", "one")] * 3 + [("start", "two"),
                                                                                         ("start", "three")]
    assert [e.action for e in seen] == ["start"]


def test_are_name_and_host_port_conflicts_start_errors():
    runtime, _, _ = make_runtime()
    runtime.start(make_spec("web", ports=(PortMapping(8080, 8080),)))
    with pytest.raises(ContainerStartError, match="already in use"):
        runtime.start(make_spec("web"))
    with pytest.raises(ContainerStartError, match="port is already allocated"):
        runtime.start(make_spec("web-2", ports=(PortMapping(8080, 8080),)))
    with pytest.raises(ContainerStartError, match="ecsdojo.managed"):
        runtime.start(make_spec("unlabelled", labels={"x": "y"}))


def test_do_list_and_sweep_filter_by_labels():
    runtime, _, _ = make_runtime()
    a = runtime.start(make_spec("a", session="s1"))
    runtime.start(make_spec("b", session="s2"))
    assert [s.id for s in runtime.list({LABEL_SESSION: "s1"})] == [a.id]
    assert runtime.sweep({LABEL_SESSION: "s2"}) == 1
    assert [s.name for s in runtime.list({})] == ["a"] and runtime.by_name("b") is None
    assert [s.name for s in runtime.running()] == ["a"]


def test_is_returned_state_a_copy_and_the_clock_injectable():
    moment = datetime(2024, 1, 1, tzinfo=timezone.utc)
    runtime, _, _ = make_runtime(clock=lambda: moment)
    state = runtime.start(make_spec("a", health_check=CHECK))
    state.labels["mutated"] = "yes"
    state.status = "dead"
    fresh = runtime.inspect(state.id)
    assert "mutated" not in fresh.labels and fresh.status == "running" and fresh.health == "starting"
    assert fresh.started_at == moment
    runtime.crash(state.id)
    assert runtime.inspect(state.id).finished_at == moment


def test_do_stats_follow_set_stats_and_the_running_state():
    runtime, _, _ = make_runtime()
    state = runtime.start(make_spec("a"))
    assert runtime.stats(state.id).cpu_percent == 0.0
    runtime.set_stats(state.id, cpu_percent=75.0, memory_bytes=10)
    assert (runtime.stats(state.id).cpu_percent, runtime.stats(state.id).memory_bytes) == (75.0, 10)
    runtime.crash(state.id)
    assert runtime.stats(state.id) is None


def test_does_setting_stop_unregister_the_watcher():
    runtime = FakeRuntime()
    seen: list[RuntimeEvent] = []
    stop = threading.Event()
    watcher = runtime.watch(seen.append, stop)
    stop.set()
    watcher.join(timeout=5)
    assert not watcher.is_alive()
    runtime.start(make_spec("after"))
    assert seen == []
    runtime.emit(RuntimeEvent("", "reconnect"))
    assert seen == []


def test_is_a_paused_container_alive_until_stopped():
    runtime = FakeRuntime()
    state = runtime.start(make_spec("web"))
    paused = runtime.pause(state.id)
    assert (paused.status, paused.alive, paused.running) == ("paused", True, False)
    assert runtime.unpause(state.id).running
    runtime.pause(state.id)
    runtime.stop(state.id)
    assert (runtime.inspect(state.id).status, runtime.inspect(state.id).alive) == ("exited", False)
    assert runtime.actions == [("start", "web"), ("stop", state.id)]
