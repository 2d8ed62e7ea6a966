"""The only code that imports moto: it reads desired state, writes observed state and maps errors.

- `ecs.MotoAdapter` — moto's ECS, EC2 and ELBv2 (interception of the ECS API calls moto does not model,
  frozen views of services / task definitions / target groups, writes of task and service status);
- `autoscaling` — moto's Application Auto Scaling and CloudWatch (used by control/autoscaling.py and metrics);
- `logs.MotoLogs` — moto's CloudWatch Logs, written as the awslogs log driver would (groups, streams, events);
- `views` — the frozen value types handed out (`ServiceSpec`, `TaskDefinitionView`, `TargetGroupSpec`, ...);
- `errors` — our AWS-shaped errors and their mapping onto moto's exceptions.

Example::

    adapter = MotoAdapter(region="us-east-1")
    with adapter.lock:
        spec = adapter.service("my-cluster", "web")     # a ServiceSpec, or None
"""

from __future__ import annotations

from ecsdojo.control.moto.ecs import MotoAdapter

__all__ = ["MotoAdapter"]
