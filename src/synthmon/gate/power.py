"""What one window can detect: for each kind of test the gate makes, the smallest true
effect it rolls back on 9 times in 10 (the power), given the samples the window will hold
and the confidence the policy asks for. Pure functions over numbers, like stats.py, and
built on the same bounds the gate decides with, so a plan never promises what the
decision function would not deliver."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import stats as _st

from synthmon import stats

POWER = 0.9  # "caught 9 times in 10"


def _smallest(predicate: Callable[[int], bool], n: int) -> int | None:
    """The smallest x in [0, n] where the monotone `predicate` holds, or None."""
    if n <= 0 or not predicate(n):
        return None
    low, high = 0, n
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _rate_caught(k: int, n: int, power: float = POWER) -> float:
    """The true rate at which X ~ Bin(n, p) reaches k or more with probability `power`:
    P(X >= k) = I_p(k, n - k + 1), so p is that beta distribution's `power` quantile."""
    return float(_st.beta.ppf(power, k, n - k + 1)) if k > 0 else 0.0


def detectable_rate(n: int, threshold: float, confidence: float, method: str
                    ) -> float | None:
    """Absolute rate (5xx, 4xx, schema, captures): the gate rolls back when the one-sided
    lower bound clears the threshold; the smallest true rate that happens at with
    probability POWER in n samples. None: no outcome of n samples can clear it."""
    k = _smallest(lambda x: stats.rate_bounds(x, n, confidence, method)[0] > threshold, n)
    return None if k is None else _rate_caught(k, n)


def detectable_difference(n: int, reference_rate: float, reference_n: int, threshold: float,
                          confidence: float) -> float | None:
    """Percentage points above a reference (auth errors): the smallest true difference
    caught with probability POWER, the reference held at its expected count."""
    ref_x = round(reference_rate * reference_n)
    k = _smallest(lambda x: stats.difference_bounds(x, n, ref_x, reference_n,
                                                    confidence)[0] > threshold, n)
    return None if k is None else _rate_caught(k, n) - reference_rate


def detectable_ratio(n: int, reference_rate: float, reference_n: int, threshold: float,
                     confidence: float) -> float | None:
    """A bad-event rate relative to the control's (WAF hits): the smallest true ratio
    canary / control caught with probability POWER."""
    if reference_rate <= 0:
        return None
    ref_x = round(reference_rate * reference_n)
    k = _smallest(lambda x: stats.ratio_bounds(x, n, ref_x, reference_n,
                                               confidence)[0] > 1 + threshold, n)
    return None if k is None else _rate_caught(k, n) / reference_rate


def detectable_drop(n: int, reference_rate: float, reference_n: int, threshold: float,
                    confidence: float) -> float | None:
    """A good-event rate falling below the control's (signup completion): the smallest
    relative drop caught with probability POWER (the gate rolls back when the ratio's upper
    bound is under 1 - threshold)."""
    if reference_rate <= 0:
        return None
    ref_x = round(reference_rate * reference_n)
    # The largest completed count that still proves the drop.
    under = _smallest(lambda x: stats.ratio_bounds(x, n, ref_x, reference_n,
                                                   confidence)[1] >= 1 - threshold, n)
    k = n if under is None else under - 1
    if k < 0:
        return None
    # P(X <= k) >= POWER  <=>  p <= the (1 - POWER) quantile of Beta(k + 1, n - k).
    p_caught = float(_st.beta.ppf(1 - POWER, k + 1, n - k)) if k < n else 1.0
    return max(0.0, 1 - p_caught / reference_rate)


def detectable_share_over(n: int, quantile: float, confidence: float) -> float | None:
    """P95 over a limit on one endpoint (the order-statistic bound): the gate rolls back
    when the lower bound of the quantile is over the limit, i.e. when enough calls are over
    it. The smallest share of calls over the limit caught with probability POWER (the
    quantile is over the limit as soon as that share passes 1 - quantile)."""
    if n <= 0:
        return None
    k_low = int(_st.binom.ppf(1 - confidence, n, quantile))  # 1-based order statistic
    if k_low < 1:
        return None  # too few calls for a lower bound at all
    k = n - k_low + 1  # calls over the limit that put X(k_low) over it
    return _rate_caught(k, n)


@functools.lru_cache(maxsize=256)
def mann_whitney_shift(runs: int, alpha: float, simulations: int = 800,
                       seed: int = 7) -> float | None:
    """The smallest shift of the canary's run medians, in standard deviations of the run
    medians, that a one-sided Mann-Whitney U with `runs` runs per cohort confirms at
    `alpha` with probability POWER (simulated on normal run medians, fixed seed). None:
    `runs` is too few for the test to reach alpha at all. Kept once computed: gate serve
    asks it at every evaluation, with the same few run counts."""
    if runs < 2 or stats.mann_whitney_smallest_p(runs, runs) >= alpha:
        return None
    rng = np.random.default_rng(seed)
    control = rng.standard_normal((simulations, runs))
    noise = rng.standard_normal((simulations, runs))

    def power(shift: float) -> float:
        p = _st.mannwhitneyu(noise + shift, control, alternative="greater", axis=1,
                             method="exact" if runs <= 12 else "asymptotic").pvalue
        return float(np.mean(p < alpha))

    low, high = 0.0, 1.0
    while power(high) < POWER:
        high *= 2
        if high > 64:
            return None
    for _ in range(12):
        middle = (low + high) / 2
        low, high = (low, middle) if power(middle) >= POWER else (middle, high)
    return high


def burn_ratio(burn: float, availability: float) -> float:
    """The error ratio a burn rate stands for."""
    return burn * (1 - availability)


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
