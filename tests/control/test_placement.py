"""Placement on simulated container instances: resources, ports and strategies (pure)."""

from __future__ import annotations

from ecsdojo.control.placement import fits, missing_resource, place, release, reserve
from ecsdojo.control.records import InstanceRecord


def instance(name, zone="us-east-1a", cpu=2048, memory=4096, used_memory=0):
    return InstanceRecord(arn=f"arn:aws:ecs:us-east-1:123456789012:container-instance/c/{name}",
                          ec2_instance_id=f"i-{name}", availability_zone=zone, cpu=cpu, memory=memory,
                          used_memory=used_memory)


def test_a_task_fits_only_where_cpu_memory_and_ports_allow():
    host = instance("a")
    assert fits(host, {"cpu": 256, "memory": 512, "ports": {8080}})
    held = reserve(host, {"cpu": 256, "memory": 3800, "ports": {8080}})
    assert not fits(host, {"cpu": 256, "memory": 512, "ports": set()})      # memory
    assert not fits(instance("b"), {"cpu": 4096, "memory": 1, "ports": set()})  # cpu
    release(host, held)
    reserve(host, {"cpu": 0, "memory": 0, "ports": {8080}})
    assert not fits(host, {"cpu": 0, "memory": 0, "ports": {8080}})       # host port in use


def test_binpack_memory_prefers_the_fullest_instance_that_fits():
    empty, busy = instance("empty"), instance("busy", used_memory=3000)
    assert place({"cpu": 0, "memory": 512}, [empty, busy], strategy=[{"type": "binpack", "field": "memory"}]) is busy
    assert place({"cpu": 0, "memory": 2000}, [empty, busy],
                 strategy=[{"type": "binpack", "field": "memory"}]) is empty


def test_spread_by_instance_balances_a_services_tasks():
    a, b = instance("a"), instance("b")
    counts = {a.arn: 2, b.arn: 0}
    assert place({"memory": 128}, [a, b], strategy=[{"type": "spread", "field": "instanceId"}],
                 group_counts=counts) is b


def test_spread_by_zone_then_binpack():
    a1, a2, b1 = instance("a1", "us-east-1a"), instance("a2", "us-east-1a", used_memory=1000), instance("b1", "us-east-1b")
    counts = {a1.arn: 1}
    chosen = place({"memory": 128}, [a1, a2, b1], group_counts=counts,
                   strategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                             {"type": "binpack", "field": "memory"}])
    assert chosen is b1


def test_nothing_fits_names_the_missing_resource():
    hosts = [instance("a", used_memory=4000), instance("b", used_memory=4000)]
    assert place({"memory": 512}, hosts) is None
    assert "insufficient memory" in missing_resource(hosts, {"memory": 512})
    assert missing_resource([], {"memory": 1}) == "No Container Instances were found in your cluster."
