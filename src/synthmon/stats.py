"""The statistics the gate decides with: one-sided bounds for rates, for differences and
ratios of rates, for quantiles, a distribution test for latency, and the burn-rate arithmetic.

Every bound is one-sided at `confidence`: the gate rolls back only when the bound on the
bad side clears the threshold, so a healthy canary is rolled back with probability at most
1 - confidence per test. Pure functions over plain numbers; scipy does the distributions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats as _st


def _z(confidence: float) -> float:
    return float(_st.norm.ppf(confidence))


def wilson_bounds(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """One-sided Wilson score bounds (lower, upper), each holding at `confidence`."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lower = max(0.0, (centre - spread) / denominator)
    upper = min(1.0, (centre + spread) / denominator)
    # Floating point leaves tiny residues at the edges (x = 0 or x = n).
    return (0.0 if successes == 0 else lower), (1.0 if successes == n else upper)


def exact_bounds(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """One-sided Clopper-Pearson (exact binomial) bounds (lower, upper)."""
    if n <= 0:
        return 0.0, 1.0
    alpha = 1 - confidence
    lower = 0.0 if successes == 0 else float(_st.beta.ppf(alpha, successes, n - successes + 1))
    upper = 1.0 if successes == n else float(_st.beta.ppf(1 - alpha, successes + 1, n - successes))
    return lower, upper


def rate_bounds(successes: int, n: int, confidence: float, method: str
                ) -> tuple[float, float]:
    """Two one-sided bounds on a rate; `method` is the policy's gate.rate_bound."""
    if method == "exact":
        return exact_bounds(successes, n, confidence)
    return wilson_bounds(successes, n, confidence)


def difference_bounds(x1: int, n1: int, x2: int, n2: int, confidence: float
                      ) -> tuple[float, float]:
    """One-sided bounds on p1 - p2 (Newcombe's hybrid score method, from Wilson bounds)."""
    if n1 <= 0 or n2 <= 0:
        return -1.0, 1.0
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_bounds(x1, n1, confidence)
    l2, u2 = wilson_bounds(x2, n2, confidence)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def ratio_bounds(x1: int, n1: int, x2: int, n2: int, confidence: float
                 ) -> tuple[float, float]:
    """One-sided bounds on p1 / p2 (Katz log method; 0.5 added to empty cells so a
    perfect control or an empty canary still gives a finite, conservative bound)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0, math.inf
    a, b = x1 + 0.5, x2 + 0.5
    m1, m2 = n1 + 0.5, n2 + 0.5
    log_ratio = math.log((a / m1) / (b / m2))
    se = math.sqrt(max(0.0, 1 / a - 1 / m1 + 1 / b - 1 / m2))
    z = _z(confidence)
    return math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)


def quantile(values: Sequence[float], q: float) -> float:
    if len(values) == 0:
        return math.nan
    return float(np.quantile(np.asarray(values, dtype=float), q))


def quantile_bounds(values: Sequence[float], q: float, confidence: float
                    ) -> tuple[float | None, float | None]:
    """Distribution-free one-sided bounds on the q-quantile from order statistics:
    lower = X(k) with P(Bin(n, q) >= k) >= confidence, upper likewise. None when the
    sample is too small for the bound to exist."""
    n = len(values)
    if n == 0:
        return None, None
    ordered = np.sort(np.asarray(values, dtype=float))
    k_low = int(_st.binom.ppf(1 - confidence, n, q))  # 1-based order statistic
    k_up = int(_st.binom.ppf(confidence, n, q)) + 1
    lower = float(ordered[k_low - 1]) if k_low >= 1 else None
    upper = float(ordered[k_up - 1]) if k_up <= n else None
    return lower, upper


def mann_whitney_greater(canary: Sequence[float], control: Sequence[float],
                         method: Literal["auto", "asymptotic", "exact"] = "asymptotic") -> float:
    """p-value of the one-sided Mann-Whitney U test 'canary is stochastically slower'.
    method 'auto' lets scipy use the exact distribution for small samples without ties
    (what the gate's run-level test needs: a handful of run medians per cohort)."""
    if len(canary) == 0 or len(control) == 0:
        return 1.0
    result = _st.mannwhitneyu(canary, control, alternative="greater", method=method)
    return float(result.pvalue)


def mann_whitney_smallest_p(n: int, m: int) -> float:
    """The smallest one-sided p-value Mann-Whitney U can give with n and m observations
    (every canary value above every control value): 1 / C(n + m, n). When it is not below
    the test's alpha, the test cannot say 'slower' whatever the data: too few to decide."""
    if n <= 0 or m <= 0:
        return 1.0
    return 1.0 / math.comb(n + m, n)


def burn_rate_threshold(budget_fraction: float, period_s: float, phase_s: float,
                        traffic_share: float = 1.0) -> float:
    """The error-budget burn rate at which the canary spends `budget_fraction` of the
    period's budget within one phase. 10% of a 7-day budget: 33.6x over 30 min, 16.8x
    over 60 min, 8.4x over 2 h. The canary serves only `traffic_share` of the traffic, so
    its own error ratio may burn 1/share times faster before it costs that much."""
    if phase_s <= 0 or not 0 < traffic_share <= 1:
        raise ValueError("phase length must be > 0 and the traffic share in (0, 1]")
    return budget_fraction * period_s / phase_s / traffic_share


def burn_rate(error_ratio: float, availability_target: float) -> float:
    """How many times faster than sustainable the budget burns at this error ratio."""
    return error_ratio / (1 - availability_target)


def per_test_confidence(false_rollback_rate: float, tests: int) -> float:
    """Bonferroni: split the family-wise false-rollback rate evenly over the tests."""
    return 1 - false_rollback_rate / max(1, tests)


def samples_for_rate_decision(threshold: float, confidence: float,
                              method: str, limit: int = 10_000_000) -> int:
    """Smallest n at which zero events would prove the rate below `threshold` (the
    'rule of three' generalised): what a go needs to be a proof rather than a non-finding."""
    n = max(1, math.ceil(-math.log(1 - confidence) / max(threshold, 1e-12)) // 2)
    while n < limit and rate_bounds(0, n, confidence, method)[1] > threshold:
        n = int(n * 1.1) + 1
    return n
