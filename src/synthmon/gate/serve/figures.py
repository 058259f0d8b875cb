"""The numbers the ship-room page draws, taken from one evaluation's window: the latency
distribution of each cohort's timed critical calls (as an ECDF, a hundred points at most),
and the plan of the served phase on the pace the window actually had."""

from __future__ import annotations

from dataclasses import dataclass, field

from synthmon import stats
from synthmon.gate.criteria import critical, has_latency
from synthmon.gate.plan import Plan, SuitePace, Traffic, make_plan
from synthmon.gate.sources import Window
from synthmon.policy import Policy

ECDF_POINTS = 101


@dataclass(frozen=True)
class Distribution:
    cohort: str
    n: int
    p50_ms: float | None
    p95_ms: float | None
    quantiles_ms: list[float]  # the 0th..100th percentile, ECDF_POINTS values


@dataclass(frozen=True)
class Figures:
    latency: dict[str, Distribution] = field(default_factory=dict)
    plan: Plan | None = None


def distribution(cohort: str, values: list[float]) -> Distribution:
    if not values:
        return Distribution(cohort, 0, None, None, [])
    quantiles = [stats.quantile(values, i / (ECDF_POINTS - 1)) for i in range(ECDF_POINTS)]
    return Distribution(cohort, len(values), stats.quantile(values, 0.5),
                        stats.quantile(values, 0.95), quantiles)


def figures(policy: Policy, phase: str, window: Window | None, traffic: Traffic | None,
            with_prometheus: bool, window_s: float | None = None) -> Figures:
    if window is None:
        return Figures()
    endpoints = set(policy.critical_endpoints())
    latency = {}
    for cohort, samples in (("canary", window.canary), ("control", window.control)):
        latency[cohort] = distribution(
            cohort, [s.total_ms for s in critical(samples, endpoints) if has_latency(s)])
    pacing = float(policy.gate["pacing_s"])
    pace = {cohort: SuitePace.from_samples(samples, pacing, f"the {cohort}'s pace in this "
                                           "window", elapsed_s=window.elapsed_s)
            for cohort, samples in (("canary", window.canary), ("control", window.control))}
    try:
        plan = make_plan(policy, phase, pace, traffic, with_prometheus, window_s)
    except (ValueError, ZeroDivisionError):
        plan = None  # the page shows the verdict whatever the plan's arithmetic did
    return Figures(latency, plan)
