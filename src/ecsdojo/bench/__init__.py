"""`dojo bench …`: one module per figure, each printing one JSON line.

- `heal`  (bench/heal.py): container death → replacement, against Docker's restart policy;
- `scale` (bench/scale.py): CPU target tracking on real containers, load → scale out → scale in;
- `idle`  (bench/idle.py): what an idle engine costs (CPU % of a core, resident memory);
- `grade` lives with the grader (grading/bench.py).

Example::

    $ dojo bench idle --seconds 60
"""

from __future__ import annotations

__all__ = ["register"]


def register(commands) -> None:
    """Add `heal`, `scale` and `idle` to `dojo bench`."""
    from ecsdojo.bench import heal, idle, scale

    heal.register(commands)
    scale.register(commands)
    idle.register(commands)
