"""Module 01's Docker demos: the pure builders, and the behaviours the notebook shows on a real engine."""

from __future__ import annotations

import pytest

from ecsdojo.course.docker_demos import (DEMO_LABEL, DemoEvent, DemoTimeout, DockerDemo, NoDockerEngine,
                                         docker_health_check, facts_from_state, lifetime_plot, restart_policy)


def inspect_attrs(*, status="exited", exit_code=0, oom=False, restarts=0, health=None, policy=None, retries=0):
    """A factory for the dict `docker inspect` returns, with only the fields the demos read."""
    state = {"Status": status, "Running": status == "running", "ExitCode": exit_code, "OOMKilled": oom}
    if health is not None:
        state["Health"] = {"Status": health}
    return {"State": state, "RestartCount": restarts,
            "HostConfig": {"RestartPolicy": {"Name": policy or "", "MaximumRetryCount": retries}}}


# ---- pure builders ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    (None, None), ("no", None), ("always", {"Name": "always"}), ("unless-stopped", {"Name": "unless-stopped"}),
    ("on-failure", {"Name": "on-failure"}), ("on-failure:2", {"Name": "on-failure", "MaximumRetryCount": 2}),
])
def test_which_restart_policies_map_to_the_docker_sdk_argument(text, expected):
    assert restart_policy(text) == expected


@pytest.mark.parametrize("text", ["sometimes", "always:3", "on-failure:x"])
def test_does_an_unknown_restart_policy_fail_with_the_choices(text):
    with pytest.raises(ValueError, match="restart policy|on-failure:N"):
        restart_policy(text)


def test_is_the_health_check_a_python_probe_in_nanoseconds():
    check = docker_health_check(interval_s=0.5, timeout_s=1, retries=2)
    assert check["test"][0] == "CMD-SHELL" and "http://localhost:8080/health" in check["test"][1]
    assert (check["interval"], check["timeout"], check["retries"]) == (500_000_000, 1_000_000_000, 2)


def test_do_the_facts_read_an_oom_kill_and_the_retry_limit():
    facts = facts_from_state("x", inspect_attrs(exit_code=137, oom=True, restarts=2, policy="on-failure", retries=3))
    assert (facts.status, facts.exit_code, facts.oom_killed, facts.restart_count) == ("exited", 137, True, 2)
    assert facts.restart_policy == "on-failure:3"
    assert facts.line() == "status=exited exit_code=137 restarts=2 oom_killed=True"


def test_is_health_left_out_when_there_is_no_health_check():
    assert facts_from_state("x", inspect_attrs(status="running")).health is None
    assert facts_from_state("x", inspect_attrs(status="running", health="none")).health is None
    unhealthy = facts_from_state("x", inspect_attrs(status="running", health="unhealthy"))
    assert unhealthy.line().endswith("health=unhealthy")


def test_does_the_plot_have_one_row_per_container():
    events = [DemoEvent(0.1, "a", "start"), DemoEvent(0.5, "a", "die"), DemoEvent(0.2, "b", "start"),
              DemoEvent(1.0, "b", "health_status: unhealthy")]
    figure = lifetime_plot(events)
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == ["a", "b"]


def test_does_connect_say_how_to_fix_a_missing_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(NoDockerEngine, match="dojo doctor"):
        DockerDemo.connect(timeout_s=2)


# ---- on a real engine ------------------------------------------------------------------------------
@pytest.fixture
def demo(docker_client, app_image):
    running = DockerDemo(docker_client, image=app_image)
    try:
        yield running
    finally:
        running.remove_all()
    assert docker_client.containers.list(all=True, filters={"label": f"ecsdojo.session={running.session}"}) == []


@pytest.mark.docker
def test_is_the_port_published_on_loopback_only_and_labelled(demo):
    web = demo.run("web")
    web.reload()
    bindings = web.attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
    assert web.labels[DEMO_LABEL] == "docker-limits" and web.labels["ecsdojo.managed"] == "true"
    assert demo.get(web, "/").body["service"] == "ecsdojo-app"


@pytest.mark.docker
def test_does_a_crash_without_a_restart_policy_stay_down(demo):
    web = demo.run("plain")
    facts = demo.crash(web, code=3, quiet_s=1.0)
    assert (facts.status, facts.exit_code, facts.restart_count) == ("exited", 3, 0)
    assert demo.get(web, "/").status is None


@pytest.mark.docker
def test_does_on_failure_restart_the_same_container_but_not_after_exit_zero(demo):
    web = demo.run("on-failure", restart="on-failure")
    first_id = web.id
    facts = demo.crash(web, code=3)
    assert facts.running and facts.restart_count == 1 and web.id == first_id
    assert demo.get(web, "/health").status == 200
    assert demo.crash(web, code=0, quiet_s=1.0).status == "exited"


@pytest.mark.docker
def test_is_an_oom_kill_reported_and_seen_in_the_event_stream(demo):
    hungry = demo.run("oom", memory_mib=64)
    demo.get(hungry, "/oom")
    facts = demo.wait_for(hungry, lambda f: f.status == "exited", timeout=30)
    assert (facts.exit_code, facts.oom_killed) == (137, True)
    actions = [event.action for event in demo.events() if event.container == "oom"]
    assert actions[0] == "start" and "oom" in actions and actions[-1] == "die"


@pytest.mark.docker
def test_does_running_a_cell_again_replace_its_container(demo):
    first = demo.run("again", wait_ready=False)
    second = demo.run("again", wait_ready=False)
    assert [c.id for c in demo.containers()] == [second.id] and first.id != second.id


@pytest.mark.docker
def test_does_waiting_fail_with_the_last_state_seen(demo):
    web = demo.run("waits")
    with pytest.raises(DemoTimeout, match="status=running"):
        demo.wait_for(web, lambda f: f.status == "exited", timeout=0.3)


@pytest.mark.parametrize("info, enforced", [
    ({"SecurityOptions": ["name=rootless"], "CgroupVersion": "1", "CgroupDriver": "none"}, False),
    ({"SecurityOptions": ["name=seccomp,profile=default"], "CgroupVersion": "1", "CgroupDriver": "cgroupfs"}, True),
    ({"SecurityOptions": ["name=rootless"], "CgroupVersion": "2", "CgroupDriver": "systemd"}, True),
])
def test_the_oom_demo_knows_when_the_engine_cannot_enforce_memory_limits(info, enforced):
    """A classroom's rootless engine on cgroup v1 never OOM-kills: module 01 says so instead of waiting."""
    from ecsdojo.course.docker_demos import DockerDemo

    client = type("Client", (), {"info": lambda self: info})()
    assert DockerDemo(client).memory_limits_enforced is enforced
