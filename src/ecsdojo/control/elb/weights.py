"""Weighted forwarding to several target groups, as an ALB forward action with a ForwardConfig does it.

Each request first picks a target group, then a target of that group. Our own few lines rather than a library:
nginx's smooth weighted round robin, so that weights hold exactly over each cycle (90/10 is 9 of every 10
requests) rather than on average, which a learner watching a canary step can count. Not thread-safe: the
balancer calls it under its lock.

Example::

    groups = WeightedGroups()
    groups.set({"blue": 90, "green": 10})
    chosen = groups.pick({"blue": [...], "green": [...]})     # "blue" 9 times, then "green"
    chosen = groups.pick(routable_by_group(registered, healthy, excluded))   # from the balancer's records
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ecsdojo.control.elb.targets import HEALTHY

__all__ = ["WeightedGroups", "MAX_WEIGHT", "routable_by_group"]

MAX_WEIGHT = 999          # ALB's TargetGroupTuple Weight: 0-999
T = TypeVar("T")


class WeightedGroups:
    def __init__(self) -> None:
        self.weights: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self._credit: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.weights)

    def set(self, weights: dict[str, int] | None) -> bool:
        """New weights (None or {}: off); False if they are the ones already set."""
        weights = dict(weights or {})
        if weights == self.weights:
            return False
        self.weights = weights
        self._credit = {group: 0 for group in weights}
        return True

    def pick(self, by_group: dict[str, list[T]]) -> list[T]:
        """The members of the group this request goes to, among the groups with a weight above 0."""
        live = {group: members for group, members in by_group.items() if members and self.weights.get(group, 0) > 0}
        if not live:
            return []
        total = sum(self.weights[group] for group in live)
        for group in live:
            self._credit[group] = self._credit.get(group, 0) + self.weights[group]
        chosen = max(live, key=lambda group: self._credit[group])
        self._credit[chosen] -= total
        return live[chosen]

    def answered(self, group: str) -> None:
        self.counts[group] = self.counts.get(group, 0) + 1


def routable_by_group(registered: Iterable[Any], healthy: Iterable[Any], excluded: set[int]) -> dict[str, list[Any]]:
    """The targets each group may route to: its healthy ones, or all its registered ones when none is healthy
    (an ALB fails open per target group). `registered` / `healthy` are the balancer's TargetRecords (anything
    with ``.state`` and ``.target.group``), `excluded` the ids of records already tried for this request."""
    healthy_groups = {record.target.group for record in healthy}
    by_group: dict[str, list[Any]] = {}
    for record in registered:
        if id(record) not in excluded and (record.state == HEALTHY or record.target.group not in healthy_groups):
            by_group.setdefault(record.target.group, []).append(record)
    return by_group
