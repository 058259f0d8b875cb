"""The run's own latency verdict: one slow call is degraded, a slow run fails.

Per call, a budget is a soft line (over it: degraded, reported and counted) and the hard
limit a hard one (the check fails). Neither sees a systematic slowdown: a target whose every
answer takes three times its budget, or whose bodies trail the headers by 400 ms, stays
under every hard limit and would pass. So the run is judged as a whole, by the policy's
`budgets.run`, over its critical calls (answered ones, the body included, less the set-up
of the fresh connection the first call of each check makes to measure its phases):

- the median of total_ms / budget_ms over every critical call is above `median_ratio_limit`
  (most critical calls over their budget), when there are at least `min_calls` of them; or
- a critical endpoint called at least `min_endpoint_calls` times has its median over
  `median_ratio_limit` times its budget.

Medians, not means or maxima: a GC pause or a busy neighbour makes single calls slow, never
half of them (bench/latency_verdict.py measures both error rates).

A run with too few critical calls for either rule is not judged (`judged` false): it neither
passes nor fails on latency. A judged verdict is listed with the checks as
`synthmon::run_latency` (summary.json, junit.xml), where the monitor and CI read results.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from synthmon.policy import Policy


@dataclass(frozen=True, slots=True)
class RunLatencyRule:
    median_ratio_limit: float
    min_calls: int
    min_endpoint_calls: int

    @classmethod
    def from_policy(cls, policy: Policy) -> RunLatencyRule:
        rule = policy.data["budgets"]["run"]
        return cls(float(rule["median_ratio_limit"]), int(rule["min_calls"]),
                   int(rule["min_endpoint_calls"]))


@dataclass(frozen=True, slots=True)
class EndpointLatency:
    endpoint: str
    calls: int
    median_ms: float
    median_ttfb_ms: float | None
    budget_ms: float
    slowest_synthetic_id: str | None = None  # the call to look up in the logs and traces

    @property
    def ratio(self) -> float:
        return self.median_ms / self.budget_ms if self.budget_ms > 0 else 0.0

    def describe(self) -> str:
        ttfb = "" if self.median_ttfb_ms is None else f", TTFB {self.median_ttfb_ms:.0f} ms"
        return (f"{self.endpoint} median {self.median_ms:.0f} ms over its {self.budget_ms:.0f} "
                f"ms budget ({self.ratio:.1f}x{ttfb}, {self.calls} calls)")


@dataclass(frozen=True, slots=True)
class RunLatencyVerdict:
    failed: bool
    judged: bool  # enough critical calls for at least one of the rules
    calls: int  # critical calls judged
    median_ratio: float | None  # None: no critical call answered
    slow: tuple[EndpointLatency, ...]  # endpoints whose median is over the limit, worst first
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"failed": self.failed, "judged": self.judged, "calls": self.calls,
                "median_ratio": self.median_ratio, "reason": self.reason,
                "slow_endpoints": [{"endpoint": e.endpoint, "calls": e.calls,
                                    "median_ms": round(e.median_ms, 3),
                                    "median_ttfb_ms": None if e.median_ttfb_ms is None
                                    else round(e.median_ttfb_ms, 3),
                                    "budget_ms": e.budget_ms,
                                    "slowest_synthetic_id": e.slowest_synthetic_id}
                                   for e in self.slow]}


def _field(sample: Any, name: str) -> Any:
    return sample.get(name) if isinstance(sample, Mapping) else getattr(sample, name, None)


def judge(samples: Iterable[Any], rule: RunLatencyRule) -> RunLatencyVerdict:
    """Samples (Sample objects or their dicts) -> the run's verdict."""
    by_endpoint: dict[str, list[Any]] = defaultdict(list)
    ratios: list[float] = []
    for sample in samples:
        budget = float(_field(sample, "budget_ms") or 0)
        if not _field(sample, "critical") or _field(sample, "status") is None or budget <= 0:
            continue
        if _field(sample, "kind") not in (None, "http"):  # a browser step or Web Vital
            continue
        by_endpoint[f"{_field(sample, 'method')} {_field(sample, 'route')}"].append(sample)
        ratios.append(_served_ms(sample) / budget)
    endpoints = [_summarise(endpoint, group) for endpoint, group in by_endpoint.items()]
    over = sorted((e for e in endpoints if e.ratio > rule.median_ratio_limit),
                  key=lambda e: e.ratio, reverse=True)
    median_ratio = statistics.median(ratios) if ratios else None
    run_slow = median_ratio is not None and len(ratios) >= rule.min_calls \
        and median_ratio > rule.median_ratio_limit
    endpoint_slow = [e for e in over if e.calls >= rule.min_endpoint_calls]
    failed = run_slow or bool(endpoint_slow)
    judged = len(ratios) >= rule.min_calls or any(
        e.calls >= rule.min_endpoint_calls for e in endpoints)
    named = over if run_slow else endpoint_slow
    if failed:
        whole = (f"the median critical call took {median_ratio:.1f}x its budget over "
                 f"{len(ratios)} calls" if run_slow else
                 f"{len(endpoint_slow)} critical endpoint(s) over budget on most calls")
        reason = (f"the run is slow: {whole} (limit {rule.median_ratio_limit:g}x, "
                  f"canary-policy.yaml budgets.run): " + "; ".join(e.describe() for e in named))
    elif median_ratio is None:
        reason = "no critical call answered: no run latency verdict"
    elif not judged:
        reason = (f"{len(ratios)} critical call(s), too few to judge the run's latency (it "
                  f"takes {rule.min_calls}, or {rule.min_endpoint_calls} of one endpoint)")
    else:
        reason = (f"the median critical call took {median_ratio:.2f}x its budget over "
                  f"{len(ratios)} calls (limit {rule.median_ratio_limit:g}x)")
    return RunLatencyVerdict(failed, judged, len(ratios), median_ratio, tuple(named), reason)


def _served_ms(sample: Any) -> float:
    """The call's time less the set-up of a fresh connection (the one call per check that
    measures phases pays a handshake the others do not; the run judges the service)."""
    total = float(_field(sample, "total_ms"))
    phases = _field(sample, "phases")
    if phases:
        total -= sum(float(phases.get(name, 0.0)) for name in ("dns", "connect", "tls"))
    return max(0.0, total)


def _summarise(endpoint: str, group: list[Any]) -> EndpointLatency:
    ttfbs = [float(t) for t in (_field(s, "ttfb_ms") for s in group) if t is not None]
    slowest = max(group, key=_served_ms)
    return EndpointLatency(
        endpoint=endpoint, calls=len(group),
        median_ms=statistics.median(_served_ms(s) for s in group),
        median_ttfb_ms=statistics.median(ttfbs) if ttfbs else None,
        budget_ms=float(_field(group[0], "budget_ms")),
        slowest_synthetic_id=_field(slowest, "synthetic_id"))
