"""The rollout watcher's pure parts: binning answers per version, and the figures read from samples."""

from __future__ import annotations

import pytest

from ecsdojo.course.deployments import Rollout, Sample, rollout_figure, version_mix


def make_samples(*rows):
    """rows: (t, version, {revision: running})"""
    return [Sample(t, version, running) for t, version, running in rows]


def test_does_version_mix_split_answers_into_equal_spans():
    samples = make_samples((0.0, "v1", {}), (0.4, "v1", {}), (0.6, "v2", {}), (1.0, None, {}))
    mids, shares = version_mix(samples, bins=2)
    assert mids == [0.25, 0.75]
    assert shares == {"v1": [1.0, 0.0], "v2": [0.0, 0.5], "no answer": [0.0, 0.5]}


def test_does_version_mix_refuse_zero_bins_and_accept_no_samples():
    with pytest.raises(ValueError, match="bins"):
        version_mix([], bins=0)
    assert version_mix([], bins=3) == ([], {})


def test_are_min_and_max_running_summed_over_revisions():
    rollout = Rollout(make_samples((0.0, "v1", {"web:1": 4}), (0.5, "v1", {"web:1": 2}),
                                   (1.0, "v2", {"web:1": 2, "web:2": 2}), (1.5, "v2", {"web:2": 4})))
    assert (rollout.min_running, rollout.max_running) == (2, 4)
    assert rollout.versions_seen == ["v1", "v2"] and rollout.failed_requests == 0


def test_does_the_figure_draw_two_panels_with_bounds():
    rollout = Rollout(make_samples((0.0, "v1", {"web:1": 4}), (1.0, "v2", {"web:10": 4})))
    figure = rollout_figure(rollout, bounds=(2, 4))
    assert len(figure.axes) == 2
    assert [t.get_text() for t in figure.axes[1].texts] == ["minimum healthy: 2", "maximum: 4"]
