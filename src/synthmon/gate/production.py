"""The production-only criteria (source: prometheus): signup completion, time to value,
WAF hits, payment captures, error-budget burn. No Prometheus given: not applicable or hold
as the policy says, and always said; Prometheus unreachable or empty: hold."""

from __future__ import annotations

import math
from collections.abc import Callable

from synthmon import stats
from synthmon.gate.criteria import hold_for_data, new_result, per_minute
from synthmon.gate.model import CriterionResult, GateInput
from synthmon.gate.prometheus import PrometheusClient, PrometheusError
from synthmon.policy import Criterion, Policy

# (query part, cohort) -> the value Prometheus answered for it
Ask = Callable[[str, str], float]

NO_BASELINE_SIGNAL = "the baseline holds no production signal: compared with control"


class _NoData(Exception):
    pass


def evaluate_production(criterion: Criterion, inp: GateInput, policy: Policy,
                        prometheus: PrometheusClient | None, confidence: float,
                        route_re: str) -> CriterionResult:
    r = new_result(criterion)
    if prometheus is None:
        mode = policy.gate["without_prometheus"]
        r.verdict = "hold" if mode == "hold" else "not_applicable"
        r.reason = ("production-only signal, and no --prometheus was given: "
                    + ("the policy requires it (hold)" if mode == "hold"
                       else "not evaluated (the go covers the synthetic criteria only)"))
        return r
    window = f"{max(1, round(inp.window_s))}s"
    sent: list[str] = []

    def ask(key: str, cohort: str) -> float:
        promql = criterion.query(key, cohort, window, route_re)
        sent.append(promql)
        value, labels = prometheus.query(promql, inp.window_s)
        if value is None and key in ("numerator", "count"):
            # A counter of bad (or completed) events that never incremented has no series
            # at all: empty is zero events. The denominator says whether data exists.
            return 0.0
        if value is None:
            raise _NoData(promql)
        if labels:
            r.evidence.setdefault("series", []).append({cohort: labels})
        return value

    try:
        if "numerator" in criterion.promql:
            _rate_criterion(r, criterion, inp, policy, ask, confidence)
        else:
            _value_criterion(r, criterion, inp, ask)
    except PrometheusError as exc:
        r.verdict, r.reason = "hold", f"{exc}; the verdict needs this signal"
    except _NoData as exc:
        r.verdict = "hold"
        r.reason = (f"Prometheus returned no data for `{exc}`: is the cohort scraped, with a "
                    "cohort label, for the whole window?")
    r.evidence["promql"] = sent
    return r


def _rate_criterion(r: CriterionResult, c: Criterion, inp: GateInput, policy: Policy,
                    ask: Ask, confidence: float) -> None:
    x, n = round(ask("numerator", "canary")), round(ask("denominator", "canary"))
    r.samples = {"canary": n}
    if n < c.min_samples:
        hold_for_data(r, n, c.min_samples, per_minute(n, inp), what="events in Prometheus")
        return
    r.canary_value = x / n
    if c.metric == "error_budget_burn":
        _burn(r, c, inp, policy, x, n, confidence)
        return
    if c.comparison == "absolute":
        lower, upper = stats.rate_bounds(x, n, confidence, policy.gate["rate_bound"])
        r.bound = {"lower": lower, "upper": upper, "confidence": confidence, "of": "canary rate"}
        bad = lower > c.threshold
        r.verdict = "rollback" if bad else "go"
        r.reason = (f"canary {x}/{n} = {x / n:.2%}" + (f", lower bound {lower:.2%} > "
                    if bad else ", not shown to exceed ") + f"{c.threshold:.2%}")
        return
    cx, cn = round(ask("numerator", "control")), round(ask("denominator", "control"))
    r.samples["control"] = cn
    r.reference = "control"
    if c.comparison == "relative_to_baseline":
        r.evidence["reference_note"] = NO_BASELINE_SIGNAL
    if cn < c.min_samples:
        hold_for_data(r, cn, c.min_samples, per_minute(cn, inp),
                      what="control events in Prometheus")
        return
    r.reference_value = cx / cn if cn else None
    lower, upper = stats.ratio_bounds(x, n, cx, cn, confidence)
    r.bound = {"lower": lower, "upper": upper, "confidence": confidence,
               "of": "canary rate / control rate"}
    ratio = (x / n) / (cx / cn) if cx else (math.inf if x else 1.0)  # 0 vs 0: the same
    if c.metric == "signup_completion_drop":
        # Completion is a good event: trouble is the ratio's upper bound under 1 - threshold.
        bad = upper < 1 - c.threshold
        r.verdict = "rollback" if bad else "go"
        r.reason = (f"canary completion {x / n:.1%} vs control {cx / cn:.1%} "
                    f"(ratio {ratio:.3f}, upper bound {upper:.3f}): "
                    + (f"a drop of more than {c.threshold:.0%}" if bad
                       else f"not shown to drop more than {c.threshold:.0%}"))
    else:
        bad = lower > 1 + c.threshold
        r.verdict = "rollback" if bad else "go"
        r.reason = (f"canary {x / n:.3%} vs control {cx / cn:.3%} (ratio {ratio:.2f}, lower "
                    f"bound {lower:.2f}): " + ("over" if bad else "not shown over")
                    + f" {1 + c.threshold:.2f}x")


def _burn(r: CriterionResult, c: Criterion, inp: GateInput, policy: Policy, x: int, n: int,
          confidence: float) -> None:
    phase_s = inp.phase_duration_s or inp.window_s
    limit = stats.burn_rate_threshold(c.threshold, policy.error_budget_period_s, phase_s,
                                      inp.traffic_share)
    slo = policy.slo_availability
    lower, upper = stats.rate_bounds(x, n, confidence, policy.gate["rate_bound"])
    burn = stats.burn_rate(x / n, slo)
    r.canary_value = burn
    r.threshold_text = (f"burn > {limit:.1f}x ({c.threshold:.0%} of the budget in "
                        f"{phase_s / 60:g} min at {inp.traffic_share:.0%} of traffic)")
    r.bound = {"lower": stats.burn_rate(lower, slo), "upper": stats.burn_rate(upper, slo),
               "confidence": confidence, "of": "canary burn rate"}
    bad = r.bound["lower"] > limit
    r.verdict = "rollback" if bad else "go"
    r.reason = (f"canary 5xx {x}/{n}: burn rate {burn:.1f}x, lower bound "
                f"{r.bound['lower']:.1f}x " + (">" if bad else "<=") + f" {limit:.1f}x")


def _value_criterion(r: CriterionResult, c: Criterion, inp: GateInput, ask: Ask) -> None:
    if "count" in c.promql:
        # The count first: a quantile of an empty histogram is no data, and the honest
        # hold is 'N more events', not 'is the cohort scraped?'.
        n = round(ask("count", "canary"))
        r.samples = {"canary": n}
        if n < c.min_samples:
            hold_for_data(r, n, c.min_samples, per_minute(n, inp), what="events in Prometheus")
            return
    value = ask("value", "canary")
    r.canary_value = value
    reference = ask("value", "control")
    r.reference, r.reference_value = "control", reference
    if c.comparison == "relative_to_baseline":
        r.evidence["reference_note"] = NO_BASELINE_SIGNAL
    r.bound = {"note": "a histogram quantile or a count: no confidence bound; the minimum "
                       "sample guards it"}
    if c.comparison == "absolute":
        bad = value > c.threshold and value > reference
        r.reason = (f"canary {value:g} vs control {reference:g}: "
                    + ("new findings the control does not have" if bad else "nothing new"))
    else:
        ratio = value / reference if reference > 0 else (math.inf if value > 0 else 1.0)
        bad = ratio > 1 + c.threshold
        r.reason = (f"canary {value:.3g} vs control {reference:.3g}: {ratio:.2f}x "
                    + (">" if bad else "<=") + f" {1 + c.threshold:.2f}x")
    r.verdict = "rollback" if bad else "go"
