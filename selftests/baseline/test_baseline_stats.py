"""The baseline's figures on constructed data: percentiles, and a P95 interval that covers
the true P95 as often as it claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthmon.baseline.stats import min_samples_for_p95_ci, summarize


def test_percentiles_min_max_mean_of_one_to_hundred() -> None:
    figures = summarize(list(range(1, 101)))
    assert figures["count"] == 100
    assert (figures["min_ms"], figures["max_ms"], figures["mean_ms"]) == (1, 100, 50.5)
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p95_ms"] == pytest.approx(95.05)
    assert figures["p99_ms"] == pytest.approx(99.01)
    low, high = figures["p95_ci_ms"]["low"], figures["p95_ci_ms"]["high"]
    assert low <= figures["p95_ms"] <= high


def test_no_latencies_gives_empty_figures_not_an_error() -> None:
    figures = summarize([])
    assert figures["count"] == 0 and figures["p95_ms"] is None
    assert figures["p95_ci_ms"] == {"low": None, "high": None}


def test_the_upper_bound_exists_only_from_the_minimum_sample() -> None:
    n = min_samples_for_p95_ci()
    assert 50 < n < 100  # for 95% two-sided on P95: the binomial says 72
    assert summarize(np.arange(n - 1, dtype=float))["p95_ci_ms"]["high"] is None
    assert summarize(np.arange(n, dtype=float))["p95_ci_ms"]["high"] is not None


def test_the_interval_covers_the_true_p95_about_95_percent_of_the_time() -> None:
    # Long-tailed like real latency: lognormal, true P95 = exp(mu + sigma * z_0.95).
    rng = np.random.default_rng(20261127)
    mu, sigma, n, trials = math.log(40), 0.6, 200, 400
    true_p95 = math.exp(mu + sigma * 1.6448536269514722)
    covered = 0
    for _ in range(trials):
        ci = summarize(rng.lognormal(mu, sigma, n))["p95_ci_ms"]
        covered += ci["low"] <= true_p95 <= ci["high"]
    # Order-statistic intervals are conservative: at least nominal, up to about 97%.
    assert 0.92 <= covered / trials <= 0.995, covered / trials


def test_the_interval_narrows_with_more_samples() -> None:
    rng = np.random.default_rng(7)
    small = summarize(rng.lognormal(3.7, 0.6, 100))["p95_ci_ms"]
    large = summarize(rng.lognormal(3.7, 0.6, 2000))["p95_ci_ms"]
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 2
