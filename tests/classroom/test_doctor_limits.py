"""Does `dojo doctor` say when the engine cannot enforce memory limits (rootless on cgroup v1), and only then?"""

from __future__ import annotations

from ecsdojo.doctor import engine_limits_outcome


def test_a_rootless_engine_without_cgroups_is_reported_with_the_oom_demos_named():
    outcome = engine_limits_outcome({"SecurityOptions": ["name=seccomp,profile=default", "name=rootless"],
                                     "CgroupDriver": "none", "CgroupVersion": "1"})
    assert outcome is not None and not outcome.ok and not outcome.blocking
    assert "NOT enforced" in outcome.detail and "modules 01 and 04" in outcome.detail
    assert "cgroup v2" in outcome.fix


def test_a_rootful_engine_or_a_cgroup_v2_rootless_engine_gets_no_note():
    assert engine_limits_outcome({"SecurityOptions": ["name=seccomp,profile=default"], "CgroupDriver": "cgroupfs",
                                  "CgroupVersion": "1"}) is None
    assert engine_limits_outcome({"SecurityOptions": ["name=rootless"], "CgroupDriver": "systemd",
                                  "CgroupVersion": "2"}) is None
