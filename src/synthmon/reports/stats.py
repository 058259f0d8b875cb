"""Per-endpoint figures of a set of samples: count, errors, P50/P95/P99 of total time.

Pure Python (no numpy) because it runs at the end of every pytest run, where an import of
numpy would cost more than the arithmetic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from synthmon.samples import Sample, phase_medians


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks,
    the same definition as numpy's default, so the gate and the reports agree."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def endpoint_stats(samples: Iterable[Sample]) -> dict[str, dict[str, Any]]:
    """{"GET /health": {count, server_errors, no_answer, schema_failures, over_budget,
    p50_ms, ...}}: a 5xx is what a server answered; a call without a complete answer is
    counted apart. Browser steps and vitals too ("STEP save", "LCP /search"), their figures in
    their `unit`."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.endpoint].append(sample)
    stats: dict[str, dict[str, Any]] = {}
    for name, group in groups.items():
        totals = [s.total_ms for s in group]
        stats[name] = {
            "method": group[0].method,
            "route": group[0].route,
            "kind": group[0].kind,
            "unit": group[0].unit,
            "critical": any(s.critical for s in group),
            "count": len(group),
            "server_errors": sum(1 for s in group if s.is_server_error),
            "no_answer": sum(1 for s in group if s.is_incomplete),
            "schema_failures": sum(1 for s in group if s.schema_ok is False),
            "over_budget": sum(1 for s in group if s.budget_verdict != "ok"),
            "budget_ms": group[0].budget_ms,
            "p50_ms": round(percentile(totals, 50), 3),
            "p95_ms": round(percentile(totals, 95), 3),
            "p99_ms": round(percentile(totals, 99), 3),
            "max_ms": round(max(totals), 3),
            # members no schema names, on how many answers (an additive change: no failure)
            "schema_drift": sorted({path for s in group for path in s.schema_drift}),
            "drifted": sum(1 for s in group if s.schema_drift),
            "phases_ms": phase_medians(group),
        }
    return stats
