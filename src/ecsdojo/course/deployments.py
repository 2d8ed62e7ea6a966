"""Watch a rolling deployment from outside: which version the load balancer answers with, and how many tasks of
each task-definition revision run, sampled over time — as numbers and a picture.

`RolloutWatcher` polls in a background thread (bounded in time and in samples) while the notebook updates the
service; `rollout_figure` draws what it saw. `version_mix` is the pure part: it bins the samples.

Example::

    watcher = RolloutWatcher(local, "dojo", "web", url=local.url("web-lb")).start()
    ecs.update_service(cluster="dojo", service="web", taskDefinition="web:2")
    local.wait_for(lambda: rollout_state() == "COMPLETED")
    samples = watcher.stop()
    samples.min_running, samples.max_running      # 2 4 with minimumHealthyPercent 50, maximumPercent 100
    rollout_figure(samples, title="web: v1 -> v2")

The plot builds a `matplotlib.figure.Figure` directly (Jupyter shows a returned Figure inline), without `pyplot`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sample", "Rollout", "RolloutWatcher", "version_mix", "rollout_figure"]


@dataclass(frozen=True)
class Sample:
    """One look at the service: seconds since the watch began, the version the load balancer answered with
    (None: no answer or no load balancer), and the RUNNING tasks per task-definition revision ("web:2")."""

    t: float
    version: str | None
    running: dict[str, int]


@dataclass
class Rollout:
    """Every sample of one watch, and the figures read from them."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def running_totals(self) -> list[int]:
        return [sum(s.running.values()) for s in self.samples]

    @property
    def min_running(self) -> int:
        """Fewest RUNNING tasks (all revisions) seen at any sample (0 when nothing was sampled)."""
        return min(self.running_totals, default=0)

    @property
    def max_running(self) -> int:
        """Most RUNNING tasks (all revisions) seen at any sample."""
        return max(self.running_totals, default=0)

    @property
    def versions_seen(self) -> list[str]:
        """The versions the load balancer answered with, in the order they first appeared."""
        seen: list[str] = []
        for sample in self.samples:
            if sample.version is not None and sample.version not in seen:
                seen.append(sample.version)
        return seen

    @property
    def failed_requests(self) -> int:
        return sum(1 for s in self.samples if s.version is None)


class RolloutWatcher:
    """Sample a service every `interval` seconds in a thread until `stop()` (or `limit_s`, or `max_samples`).

    `url` is the load balancer's URL (its `/version` is asked once per sample); without it only task counts
    are sampled. `local` is a started `LocalECS`.
    """

    def __init__(self, local: Any, cluster: str, service: str, *, url: str | None = None, interval: float = 0.05,
                 limit_s: float = 90.0, max_samples: int = 3000) -> None:
        self.local, self.cluster, self.service, self.url = local, cluster, service, url
        self.interval, self.limit_s, self.max_samples = interval, limit_s, max_samples
        self._rollout = Rollout()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RolloutWatcher:
        self._thread = threading.Thread(target=self._run, name="rollout-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Rollout:
        """Stop sampling and return what was seen."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self._rollout

    def sample_once(self, began: float) -> Sample:
        running: dict[str, int] = {}
        for task in self.local.tasks(self.cluster, service=self.service):
            if task.last_status == "RUNNING":
                revision = task.task_definition_arn.rsplit("/", 1)[-1]
                running[revision] = running.get(revision, 0) + 1
        return Sample(t=time.monotonic() - began, version=self._ask_version(), running=running)

    def _ask_version(self) -> str | None:
        if self.url is None:
            return None
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + "/version", timeout=2) as response:
                return str(json.loads(response.read())["version"])
        except (OSError, ValueError, KeyError):
            return None

    def _run(self) -> None:
        began = time.monotonic()
        while (not self._stop.is_set() and time.monotonic() - began < self.limit_s
               and len(self._rollout.samples) < self.max_samples):
            self._rollout.samples.append(self.sample_once(began))
            self._stop.wait(self.interval)


def version_mix(samples: Sequence[Sample], *, bins: int = 20) -> tuple[list[float], dict[str, list[float]]]:
    """Split the watch into `bins` equal spans; for each, the share (0..1) of answers per version.

    Returns (span mid-points in seconds, {version: shares}); failed requests count as version "no answer".
    Spans without samples get share 0 for every version.

    >>> version_mix([Sample(0.0, "v1", {}), Sample(1.0, "v2", {})], bins=2)
    ([0.25, 0.75], {'v1': [1.0, 0.0], 'v2': [0.0, 1.0]})
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if not samples:
        return [], {}
    end = max(s.t for s in samples) or 1.0
    width = end / bins
    labels: list[str] = []
    for sample in samples:
        label = sample.version or "no answer"
        if label not in labels:
            labels.append(label)
    counts = [dict.fromkeys(labels, 0) for _ in range(bins)]
    for sample in samples:
        index = min(int(sample.t / width), bins - 1)
        counts[index][sample.version or "no answer"] += 1
    shares = {label: [(c[label] / sum(c.values())) if sum(c.values()) else 0.0 for c in counts] for label in labels}
    mids = [round(width * (i + 0.5), 6) for i in range(bins)]
    return mids, shares


def rollout_figure(rollout: Rollout, *, title: str = "Rolling deployment", bins: int = 20,
                   bounds: tuple[int, int] | None = None):
    """Two panels on one time axis: the share of load-balancer answers per version (top) and the RUNNING
    tasks per revision (bottom, stacked), with the deployment's (minimum, maximum) task bounds as lines."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5.2))
    top, bottom = figure.subplots(2, 1, sharex=True)
    mids, shares = version_mix(rollout.samples, bins=bins)
    if mids:
        top.stackplot(mids, *shares.values(), labels=list(shares), alpha=0.8)
        top.legend(loc="center right", fontsize=8)
    top.set_ylabel("share of answers")
    top.set_ylim(0, 1)
    top.set_title(title)
    times = [s.t for s in rollout.samples]
    revisions = sorted({r for s in rollout.samples for r in s.running}, key=_revision_key)
    if times and revisions:
        bottom.stackplot(times, *[[s.running.get(r, 0) for s in rollout.samples] for r in revisions],
                         labels=revisions, step="post", alpha=0.8)
        bottom.legend(loc="center right", fontsize=8)
    if bounds is not None:
        for value, name in zip(bounds, ("minimum healthy", "maximum")):
            bottom.axhline(value, linestyle="--", color="black", linewidth=1)
            bottom.text(0, value + 0.08, f"{name}: {value}", fontsize=8)
    bottom.set_ylabel("RUNNING tasks")
    bottom.set_xlabel("seconds since the watch began (wall clock)")
    bottom.set_ylim(0, max(rollout.max_running, bounds[1] if bounds else 0) + 1)
    figure.tight_layout()
    return figure


def _revision_key(revision: str) -> tuple[str, int]:
    family, _, number = revision.rpartition(":")
    return family, int(number) if number.isdigit() else 0
