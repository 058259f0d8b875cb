"""The statistics the gate decides with, against textbook values and simulation."""

import math
import random

import pytest
from scipy.stats import binom

from synthmon import stats


def test_wilson_bounds_match_the_textbook_value():
    # 10/100 at 95% one-sided (z = 1.6449): (0.1135 -+ 0.0512) / 1.0271.
    lower, upper = stats.wilson_bounds(10, 100, 0.95)
    assert lower == pytest.approx(0.0607, abs=5e-4)
    assert upper == pytest.approx(0.1603, abs=5e-4)


def test_exact_bounds_zero_events_is_the_rule_of_three():
    lower, upper = stats.exact_bounds(0, 1000, 0.95)
    assert lower == 0.0
    assert upper == pytest.approx(3 / 1000, rel=0.01)


def _chance_lower_bound_exceeds_truth(p, n, confidence, method):
    return sum(binom.pmf(x, n, p) for x in range(n + 1)
               if stats.rate_bounds(x, n, confidence, method)[0] > p)


def test_exact_lower_bound_exceeds_the_truth_at_most_alpha():
    # The property the gate's false-rollback rate rests on, computed exactly.
    for n in (300, 400, 1000, 3000):
        assert _chance_lower_bound_exceeds_truth(0.003, n, 0.99, "exact") <= 0.01


def test_wilson_lower_bound_is_liberal_for_rare_events():
    # Why the policy uses exact bounds: at p = 0.3% and n = 400, Wilson's 99% lower bound
    # overshoots the truth about 3% of the time, three times its nominal 1%.
    assert _chance_lower_bound_exceeds_truth(0.003, 400, 0.99, "wilson") > 0.02


def test_difference_bounds_bracket_the_difference():
    lower, upper = stats.difference_bounds(30, 1000, 10, 1000, 0.99)
    assert lower < 0.02 < upper
    assert lower > 0  # 3% vs 1% on 1000 each is clearly different


def test_ratio_bounds_detect_a_15_percent_drop_at_production_volume():
    _lower, upper = stats.ratio_bounds(8500, 10000, 10000, 10000, 0.99)
    assert upper < 0.9
    _lower, upper = stats.ratio_bounds(17, 20, 20, 20, 0.99)
    assert upper > 0.9  # 20 signups cannot prove it


def test_quantile_bounds_cover_the_true_p95():
    rng = random.Random(3)
    true_p95 = -math.log(0.05)  # exponential(1)
    misses = 0
    for _ in range(400):
        values = [rng.expovariate(1) for _ in range(200)]
        lower, _upper = stats.quantile_bounds(values, 0.95, 0.95)
        misses += lower is not None and lower > true_p95
    assert misses / 400 <= 0.08


def test_quantile_bounds_need_enough_samples():
    # With 3 samples the 2nd is a 99% lower bound of P95 (P(Bin(3, .95) >= 2) = 0.993),
    # but no sample can bound it from above.
    assert stats.quantile_bounds([1.0, 2.0, 3.0], 0.95, 0.99) == (2.0, None)
    assert stats.quantile_bounds([], 0.95, 0.99) == (None, None)


def test_mann_whitney_sees_a_shift_and_not_noise():
    rng = random.Random(5)
    control = [rng.lognormvariate(0, 0.3) * 10 for _ in range(300)]
    same = [rng.lognormvariate(0, 0.3) * 10 for _ in range(300)]
    slower = [v * 1.4 for v in same]
    assert stats.mann_whitney_greater(slower, control) < 1e-6
    assert stats.mann_whitney_greater(same, control) > 0.001


@pytest.mark.parametrize(("phase_min", "expected"), [(30, 33.6), (60, 16.8), (120, 8.4)])
def test_burn_rate_thresholds_of_the_issue(phase_min, expected):
    assert stats.burn_rate_threshold(0.10, 7 * 86400, phase_min * 60) == pytest.approx(expected)


def test_burn_rate_threshold_scales_with_the_traffic_share():
    assert stats.burn_rate_threshold(0.10, 7 * 86400, 1800, 0.05) == pytest.approx(672)
    with pytest.raises(ValueError):
        stats.burn_rate_threshold(0.1, 7 * 86400, 0, 0.05)


def test_bonferroni_split():
    assert stats.per_test_confidence(0.01, 5) == pytest.approx(0.998)


def test_samples_for_rate_decision_is_about_the_rule_of_three():
    n = stats.samples_for_rate_decision(0.003, 0.95, "exact")
    assert 950 <= n <= 1100
