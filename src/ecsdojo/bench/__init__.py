"""`dojo bench …`: one module per figure, each printing one JSON line.

- `heal`  (bench/heal.py): container death → replacement, against Docker's restart policy;
- `scale` (bench/scale.py): CPU target tracking on real containers, load → scale out → scale in;
- `idle`  (bench/idle.py): what an idle engine costs (CPU % of a core, resident memory);
- `chaos` (bench/chaos.py): random faults against a service behind the load balancer (lost tasks, orphans,
  API-vs-Docker disagreements, failed requests);
- `grade` lives with the grader (grading/bench.py).

Example::

    $ dojo bench idle --seconds 60
"""

from __future__ import annotations

__all__ = ["register", "demo_image_ready"]


def demo_image_ready(runtime: str | None = "docker") -> bool:
    """True when a benchmark on `runtime` can start its containers; otherwise says why on stderr."""
    import sys

    from ecsdojo.images import demo_image_problem

    if runtime == "process":
        return True
    problem = demo_image_problem()
    if problem:
        print(f"dojo bench: {problem}", file=sys.stderr)
    return problem is None


def register(commands) -> None:
    """Add `heal`, `scale`, `idle` and `chaos` to `dojo bench`."""
    from ecsdojo.bench import chaos, heal, idle, scale

    heal.register(commands)
    scale.register(commands)
    idle.register(commands)
    chaos.register(commands)
