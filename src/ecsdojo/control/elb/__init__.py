"""Elastic Load Balancing, locally: elbv2 listeners in moto served on 127.0.0.1 with service tasks as targets.

- `reconciler.BalancerReconciler` — listeners → local balancers; target registration with ECS's service events;
  unhealthy targets replaced;
- `balancer.LocalLoadBalancer` — one listener: round robin, health checks, fail-open; `draining` — deregistered
  targets finishing their in-flight requests;
- `proxy` — its HTTP side (server, handler, request bodies, forwarded headers, responses); `targets` — target
  records, states, settings, matcher.

Example::

    from ecsdojo.control.elb import LocalLoadBalancer, Target
    with LocalLoadBalancer(name="web", health_interval_s=1.0) as lb:
        lb.set_targets([Target("task-1", 32768)])
"""

from __future__ import annotations

from ecsdojo.control.elb.balancer import LocalLoadBalancer
from ecsdojo.control.elb.reconciler import BalancerReconciler
from ecsdojo.control.elb.targets import InvalidHealthCheckSettingError, Target, TargetHealth, parse_matcher

__all__ = ["BalancerReconciler", "LocalLoadBalancer", "Target", "TargetHealth", "InvalidHealthCheckSettingError",
           "parse_matcher"]
