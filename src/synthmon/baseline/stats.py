"""The figures of one endpoint's latencies: percentiles, spread and a CI for P95.

Percentiles use linear interpolation (numpy's default), the definition the reports and
the gate use. The P95 interval is distribution-free: two order statistics chosen from the
binomial distribution of how many samples fall below the true P95 (two one-sided 97.5%
bounds from synthmon.stats, the gate's own routine), so it holds for any latency shape,
long tails included, and it is simply absent when the sample is too small to bound P95.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as st

from synthmon.stats import quantile_bounds

CONFIDENCE = 0.95


def min_samples_for_p95_ci(confidence: float = CONFIDENCE, q: float = 0.95) -> int:
    """The smallest n for which both ends of the two-sided interval exist."""
    tail = 1 - (1 - confidence) / 2
    n = 1
    while True:
        low = int(st.binom.ppf(1 - tail, n, q))
        high = int(st.binom.ppf(tail, n, q)) + 1
        if low >= 1 and high <= n:
            return n
        n += 1


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def summarize(latencies_ms: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """count, min/max/mean, p50/p95/p99 and the P95 interval of one endpoint (ms)."""
    values = np.asarray(latencies_ms, dtype=float)
    if values.size == 0:
        return {"count": 0, "min_ms": None, "max_ms": None, "mean_ms": None, "p50_ms": None,
                "p95_ms": None, "p99_ms": None, "p95_ci_ms": {"low": None, "high": None}}
    p50, p95, p99 = np.quantile(values, [0.50, 0.95, 0.99])
    low, high = quantile_bounds(values.tolist(), 0.95, 1 - (1 - confidence) / 2)
    return {
        "count": int(values.size),
        "min_ms": _r(values.min()),
        "max_ms": _r(values.max()),
        "mean_ms": _r(values.mean()),
        "p50_ms": _r(p50),
        "p95_ms": _r(p95),
        "p99_ms": _r(p99),
        "p95_ci_ms": {"low": _r(low), "high": _r(high)},
    }
