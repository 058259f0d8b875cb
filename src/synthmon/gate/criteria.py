"""The synthetic criteria: each turns the canary's and the control's samples into a verdict
with its numbers. Rule for every one: too few samples is hold (with how many more are
needed); rollback only when the one-sided bound on the bad side clears the threshold;
otherwise go. A criterion the policy marks `early_rollback` (availability) rolls back as soon
as its bound clears the threshold, before the minimum sample: the exact bound holds its
confidence at any n, so a canary failing every call is not kept in traffic for minutes."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from synthmon import stats
from synthmon.gate.model import CriterionResult, GateInput, Verdict
from synthmon.policy import Criterion
from synthmon.samples import Sample

MAX_EVIDENCE = 5


def new_result(criterion: Criterion, verdict: Verdict = "hold",
               reason: str = "") -> CriterionResult:
    return CriterionResult(
        id=criterion.id, title=criterion.title, source=criterion.source,
        comparison=criterion.comparison, verdict=verdict, reason=reason,
        threshold=criterion.threshold, threshold_text=threshold_text(criterion),
        unit=criterion.unit, min_samples=criterion.min_samples, min_runs=criterion.min_runs,
        metric=criterion.metric,
    )


def threshold_text(c: Criterion) -> str:
    if c.unit == "ms":
        return f"> {c.threshold:g} ms"
    if c.unit == "count":
        return f"> {c.threshold:g}"
    pct = f"{c.threshold * 100:g}%"
    return {
        "absolute": f"> {pct}",
        "percentage_points": f"+{c.threshold * 100:g} pp vs reference",
        "relative_to_control": f"> {pct} worse than control",
        "relative_to_baseline": f"> {pct} worse than baseline",
    }[c.comparison] if c.unit != "budget_fraction" else f"> {pct} of the error budget"


def hold_for_data(result: CriterionResult, have: int, need: int, per_minute: float,
                  what: str = "requests") -> CriterionResult:
    missing = max(0, need - have)
    result.verdict = "hold"
    result.needs = {what: missing}
    if per_minute > 0:
        result.needs["minutes"] = round(missing / per_minute, 1)
        eta = f" (about {missing / per_minute:.1f} more minutes at {per_minute:.0f}/min)"
    else:
        eta = " (none arrived yet: is the cohort reachable and in scope?)"
    result.reason = f"too little data: {have} {what}, the policy needs {need}; {missing} more{eta}"
    return result


def per_minute(count: int, inp: GateInput) -> float:
    return count / inp.elapsed_s * 60 if inp.elapsed_s > 0 else 0.0


def bad_evidence(bad: Iterable[Sample]) -> dict[str, object]:
    bad = list(bad)
    checks = Counter(s.check for s in bad)
    return {
        "failing_checks": [f"{check} ({n}x)" for check, n in checks.most_common(MAX_EVIDENCE)],
        "synthetic_ids": [s.synthetic_id for s in bad[:MAX_EVIDENCE]],
        "examples": [f"{s.endpoint} -> {s.status}" + (f" ({s.schema_error})" if s.schema_error
                     else "") for s in bad[:3]],
    }


# --- classifications of one sample ------------------------------------------------------
def is_unexpected_4xx(s: Sample) -> bool:
    return s.status is not None and 400 <= s.status < 500 and s.status != s.expected_status


def is_auth_error(s: Sample) -> bool:
    return s.status in (401, 403) and s.status != s.expected_status


def is_schema_failure(s: Sample) -> bool:
    return s.schema_ok is False


def is_incomplete(s: Sample) -> bool:
    return s.is_incomplete


def has_latency(s: Sample) -> bool:
    # Failed calls are fast or time out for reasons of their own; latency is about answers.
    return s.status is not None and s.status < 500 and not s.is_incomplete


def critical(samples: Iterable[Sample], critical_endpoints: set[str]) -> list[Sample]:
    return [s for s in samples if s.critical or s.endpoint in critical_endpoints]


# --- evaluators -----------------------------------------------------------------------
def absolute_rate(criterion: Criterion, inp: GateInput, is_bad: Callable[[Sample], bool],
                  confidence: float, method: str, what: str) -> CriterionResult:
    r = new_result(criterion)
    n, n_ctl = len(inp.canary), len(inp.control)
    bad = [s for s in inp.canary if is_bad(s)]
    x = len(bad)
    r.samples = {"canary": n, "control": n_ctl}
    r.reference = "control"
    r.reference_value = (sum(map(is_bad, inp.control)) / n_ctl) if n_ctl else None
    if n == 0 or (n < criterion.min_samples and not criterion.early_rollback):
        return hold_for_data(r, n, criterion.min_samples, per_minute(n, inp))
    lower, upper = stats.rate_bounds(x, n, confidence, method)
    r.canary_value = x / n
    r.bound = {"lower": lower, "upper": upper, "confidence": confidence, "of": f"canary {what}"}
    r.evidence = bad_evidence(bad)
    if lower > criterion.threshold:
        r.verdict = "rollback"
        r.reason = (f"canary {what} {x}/{n} = {x / n:.2%}; even its lower bound {lower:.2%} "
                    f"is over {criterion.threshold:.2%}")
    elif n < criterion.min_samples:
        return hold_for_data(r, n, criterion.min_samples, per_minute(n, inp))
    else:
        r.verdict = "go"
        r.reason = (f"canary {what} {x}/{n} = {x / n:.2%}, "
                    f"not shown to exceed {criterion.threshold:.2%}")
    return r


def no_answer_rate(criterion: Criterion, inp: GateInput, confidence: float,
                   method: str) -> CriterionResult:
    """The canary's calls without a complete answer (refused, reset, timed out, cut short,
    past the client's deadline, over its body cap), counted against availability as a 5xx
    is. Only while the control completes its own: a control that cannot either means the
    monitor cannot tell a canary fault from its own network, a hold naming the control."""
    ctl_bad = [s for s in inp.control if s.is_incomplete]
    if ctl_bad:
        lower, _ = stats.rate_bounds(len(ctl_bad), len(inp.control), confidence, method)
        if lower > criterion.threshold:
            r = new_result(criterion, "hold")
            r.samples = {"canary": len(inp.canary), "control": len(inp.control)}
            r.reference, r.reference_value = "control", len(ctl_bad) / len(inp.control)
            r.evidence = {"control_error_types": dict(Counter(s.error_type for s in ctl_bad))}
            r.reason = (f"the control could not complete {len(ctl_bad)}/{len(inp.control)} "
                        f"calls either ({_kinds(ctl_bad)}); its lower bound {lower:.2%} is over "
                        f"{criterion.threshold:.2%}, so the monitor cannot tell a canary fault "
                        "from its own network: check that the control is reachable")
            return r
    r = absolute_rate(criterion, inp, is_incomplete, confidence, method, "no-answer rate")
    bad = [s for s in inp.canary if s.is_incomplete]
    if bad:
        r.evidence["error_types"] = dict(Counter(s.error_type for s in bad))
        if r.verdict == "rollback":
            r.reason += f" ({_kinds(bad)})"
    return r


def _kinds(samples: list[Sample]) -> str:
    return ", ".join(f"{kind} x{n}" for kind, n in
                     Counter(s.error_type for s in samples).most_common(3))


def rate_vs_reference(criterion: Criterion, inp: GateInput, is_bad: Callable[[Sample], bool],
                      confidence: float, what: str, baseline_key: str) -> CriterionResult:
    """Percentage points above the baseline's rate (or the control's, when none)."""
    r = new_result(criterion)
    n = len(inp.canary)
    bad = [s for s in inp.canary if is_bad(s)]
    x = len(bad)
    base = inp.baseline.rates.get(baseline_key) if inp.baseline else None
    if base is not None:
        rx, rn, r.reference = base[0], base[1], "baseline"
    else:
        rx, rn, r.reference = sum(map(is_bad, inp.control)), len(inp.control), "control"
        if inp.baseline is None:
            r.evidence["reference_note"] = "no baseline given: compared with control"
        else:
            r.evidence["reference_note"] = f"baseline has no {baseline_key}: compared with control"
    r.samples = {"canary": n, r.reference: rn}

    def hold_short() -> CriterionResult:
        short, have = ("canary", n) if n < criterion.min_samples else (r.reference, rn)
        return hold_for_data(r, have, criterion.min_samples, per_minute(have, inp),
                             what=f"{short} requests")

    short_data = n < criterion.min_samples or rn < criterion.min_samples
    if n == 0 or rn == 0 or (short_data and not criterion.early_rollback):
        return hold_short()
    lower, upper = stats.difference_bounds(x, n, rx, rn, confidence)
    r.canary_value, r.reference_value = x / n, rx / rn
    r.bound = {"lower": lower, "upper": upper, "confidence": confidence,
               "of": f"canary minus {r.reference} {what} (percentage points / 100)"}
    r.evidence.update(bad_evidence(bad))
    diff = x / n - rx / rn
    if lower > criterion.threshold:
        r.verdict = "rollback"
        r.reason = (f"canary {what} {x / n:.2%} vs {r.reference} {rx / rn:.2%}: "
                    f"+{diff * 100:.2f} pp, lower bound +{lower * 100:.2f} pp "
                    f"> +{criterion.threshold * 100:g} pp")
    elif short_data:
        return hold_short()
    else:
        r.verdict = "go"
        r.reason = (f"canary {what} {x / n:.2%} vs {r.reference} {rx / rn:.2%} "
                    f"({diff * 100:+.2f} pp), "
                    f"not shown to exceed +{criterion.threshold * 100:g} pp")
    return r


def schema_failures(criterion: Criterion, inp: GateInput, critical_endpoints: set[str],
                    confidence: float, method: str) -> CriterionResult:
    """Per critical endpoint: the worst endpoint decides (Bonferroni over endpoints)."""
    r = new_result(criterion)
    checked = [s for s in critical(inp.canary, critical_endpoints) if s.schema_ok is not None]
    r.samples = {"canary": len(checked),
                 "control": sum(1 for s in critical(inp.control, critical_endpoints)
                                if s.schema_ok is not None)}
    def hold_short() -> CriterionResult:
        return hold_for_data(r, len(checked), criterion.min_samples,
                             per_minute(len(checked), inp), what="schema-checked requests")

    if not checked or (len(checked) < criterion.min_samples and not criterion.early_rollback):
        return hold_short()
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in checked:
        groups[s.endpoint].append(s)
    per_endpoint_conf = 1 - (1 - confidence) / len(groups)
    worst: tuple[float, str, int, int, float] | None = None
    tripped = []
    for endpoint, group in sorted(groups.items()):
        x = sum(map(is_schema_failure, group))
        lower, upper = stats.rate_bounds(x, len(group), per_endpoint_conf, method)
        if worst is None or lower > worst[0]:
            worst = (lower, endpoint, x, len(group), upper)
        if lower > criterion.threshold:
            tripped.append(f"{endpoint}: {x}/{len(group)}")
    assert worst is not None
    lower, endpoint, x, n, upper = worst
    r.canary_value = x / n
    ctl = [s for s in critical(inp.control, critical_endpoints)
           if s.schema_ok is not None and s.endpoint == endpoint]
    r.reference, r.reference_value = "control", (
        sum(map(is_schema_failure, ctl)) / len(ctl) if ctl else None)
    r.bound = {"lower": lower, "upper": upper, "confidence": per_endpoint_conf,
               "of": f"schema-failure rate of the worst critical endpoint, {endpoint}"}
    r.evidence = bad_evidence(s for s in checked if is_schema_failure(s))
    r.evidence["endpoints"] = len(groups)
    if tripped:
        r.verdict = "rollback"
        r.evidence["tripped_endpoints"] = tripped
        r.reason = (f"schema failures on {', '.join(tripped)}; lower bound {lower:.2%} "
                    f"> {criterion.threshold:.2%}")
    elif len(checked) < criterion.min_samples:
        return hold_short()
    else:
        r.verdict = "go"
        r.reason = (f"worst critical endpoint {endpoint}: {x}/{n} schema failures, "
                    f"not shown to exceed {criterion.threshold:.2%}")
    return r


def _run_medians(samples: list[Sample]) -> list[float]:
    runs: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        runs[s.run_id].append(s.total_ms)
    return [stats.quantile(v, 0.5) for v in runs.values()]


def _latencies(samples: Iterable[Sample]) -> list[float]:
    return [s.total_ms for s in samples if has_latency(s)]


def _runs_needed(min_runs: int, alpha: float) -> int:
    """Runs per cohort the run-level test needs: the policy's minimum, raised if need be
    until Mann-Whitney can reach alpha at all (its smallest p is 1 / C(n + m, n))."""
    need = max(2, min_runs)
    while stats.mann_whitney_smallest_p(need, need) >= alpha:
        need += 1
    return need


def latency_ratio(criterion: Criterion, inp: GateInput, critical_endpoints: set[str],
                  confidence: float) -> CriterionResult:
    """P95 ratio over the critical endpoints both cohorts called, plus a one-sided
    Mann-Whitney U against the control: both must say 'slower' to roll back, so one slow
    sample cannot decide alone and one lucky sample cannot clear a real regression.

    The distribution test's unit is the suite run, never the call: the calls of one run
    share its moment (host load, GC pauses, a noisy neighbour, the cache state), so 60
    calls of one run are not 60 independent draws, and a per-call test treats one unlucky
    run as overwhelming evidence (an A/A calibration of per-call tests on windows of fewer
    than 5 runs rolled back 1.5% of healthy canaries, every one of them on such a test).
    Each run contributes its median latency over the shared critical endpoints; the test
    needs `min_runs` runs per cohort (policy), and at least enough for Mann-Whitney's
    smallest p-value to be below alpha.
    Below that the criterion holds and says how many more runs (and minutes) it needs; it
    never falls back to calls. The P95 ratio is still taken over calls: it is the size of
    the effect, the run-level test is what says the effect is real."""
    r = new_result(criterion)
    canary = [s for s in critical(inp.canary, critical_endpoints) if has_latency(s)]
    control = [s for s in critical(inp.control, critical_endpoints) if has_latency(s)]
    shared = {s.endpoint for s in canary} & {s.endpoint for s in control}
    canary = [s for s in canary if s.endpoint in shared]
    control = [s for s in control if s.endpoint in shared]
    r.samples = {"canary": len(canary), "control": len(control)}
    short = min(len(canary), len(control))
    if short < criterion.min_samples:
        return hold_for_data(r, short, criterion.min_samples, per_minute(short, inp),
                             what="timed critical requests per cohort")
    runs_c, runs_k = _run_medians(canary), _run_medians(control)
    r.samples.update({"canary_runs": len(runs_c), "control_runs": len(runs_k)})
    alpha = 1 - confidence
    need_runs = _runs_needed(criterion.min_runs, alpha)
    few = min(len(runs_c), len(runs_k))
    if few < need_runs:
        hold_for_data(r, few, need_runs, per_minute(few, inp), what="runs")
        r.reason = (f"too few independent suite runs for the latency test: "
                    f"{len(runs_c)} canary and {len(runs_k)} control runs, the test needs "
                    f"{need_runs} per cohort; needs {need_runs - few} more runs"
                    + (f" (about {r.needs['minutes']:g} more minutes)" if "minutes" in r.needs
                       else ""))
        return r
    c_ms, k_ms = _latencies(canary), _latencies(control)
    p95_c = stats.quantile(c_ms, 0.95)
    ref_p95, r.reference = stats.quantile(k_ms, 0.95), "control"
    base = inp.baseline
    if base is not None and criterion.comparison == "relative_to_baseline":
        counts = Counter(s.endpoint for s in canary)
        known = {e: n for e, n in counts.items() if e in base.endpoints}
        if known:
            # The canary's endpoint mix weights the baseline's per-endpoint P95s.
            ref_p95 = sum(base.endpoints[e].p95_ms * n for e, n in known.items()) / sum(
                known.values())
            p95_c = sum(stats.quantile([s.total_ms for s in canary if s.endpoint == e], 0.95)
                        * n for e, n in known.items()) / sum(known.values())
            r.reference = "baseline"
        else:
            r.evidence["reference_note"] = ("baseline has none of these endpoints: "
                                            "compared with control")
    elif criterion.comparison == "relative_to_baseline":
        r.evidence["reference_note"] = "no baseline given: compared with control"
    p_value = stats.mann_whitney_greater(runs_c, runs_k, method="auto")
    r.evidence["distribution_test"] = (f"Mann-Whitney U on run medians "
                                       f"({len(runs_c)} canary vs {len(runs_k)} control runs)")
    ratio = p95_c / ref_p95 if ref_p95 > 0 else math.inf
    r.canary_value, r.reference_value = p95_c, ref_p95
    r.bound = {"p95_ratio": ratio, "mann_whitney_p": p_value, "alpha": 1 - confidence,
               "confidence": confidence, "of": f"canary P95 / {r.reference} P95"}
    worst = sorted(shared, key=lambda e: -(
        stats.quantile([s.total_ms for s in canary if s.endpoint == e], 0.95)
        / max(1e-9, stats.quantile([s.total_ms for s in control if s.endpoint == e], 0.95))))
    r.evidence["slowest_endpoints_vs_control"] = [
        f"{e}: {stats.quantile([s.total_ms for s in canary if s.endpoint == e], 0.95):.1f} ms vs "
        f"{stats.quantile([s.total_ms for s in control if s.endpoint == e], 0.95):.1f} ms"
        for e in worst[:3]]
    slow = sorted(canary, key=lambda s: -s.total_ms)[:MAX_EVIDENCE]
    r.evidence["synthetic_ids"] = [s.synthetic_id for s in slow]
    limit = 1 + criterion.threshold
    if ratio > limit and p_value < 1 - confidence:
        r.verdict = "rollback"
        r.reason = (f"canary P95 {p95_c:.1f} ms is {ratio:.2f}x the {r.reference}'s "
                    f"{ref_p95:.1f} ms (> {limit:.2f}x) and Mann-Whitney U says slower "
                    f"(p = {p_value:.2g} < {1 - confidence:.2g})")
    else:
        why = (f"ratio {ratio:.2f}x <= {limit:.2f}x" if ratio <= limit
               else f"Mann-Whitney p = {p_value:.2g} does not confirm it")
        r.verdict = "go"
        r.reason = f"canary P95 {p95_c:.1f} ms vs {r.reference} {ref_p95:.1f} ms: {why}"
    return r


def latency_absolute(criterion: Criterion, inp: GateInput, critical_endpoints: set[str],
                     confidence: float, limits: dict[str, float] | None = None
                     ) -> CriterionResult:
    """P95 over its limit on any critical endpoint, proved by an order-statistic bound.
    `limits` (Policy.p95_limits_ms) holds an endpoint's own limit where its budget is larger
    than the threshold (login and signup hash passwords); any other is held to the threshold."""
    limits = limits or {}
    r = new_result(criterion)
    groups: dict[str, list[float]] = defaultdict(list)
    for s in critical(inp.canary, critical_endpoints):
        if has_latency(s):
            groups[s.endpoint].append(s.total_ms)
    r.samples = {"canary": sum(map(len, groups.values())),
                 "control": sum(1 for s in critical(inp.control, critical_endpoints)
                                if has_latency(s))}
    total = r.samples["canary"]
    per_endpoint_conf = 1 - (1 - confidence) / max(1, len(groups))
    tripped, worst, unbounded = [], None, []
    # The order-statistic bound is valid at any n (it is simply absent when n is too small
    # to bound anything), so every endpoint is judged; min_samples guards the go in total.
    for endpoint, values in sorted(groups.items()):
        lower, upper = stats.quantile_bounds(values, 0.95, per_endpoint_conf)
        if lower is None:
            unbounded.append(f"{endpoint} ({len(values)} calls)")
        p95 = stats.quantile(values, 0.95)
        if worst is None or p95 > worst[1]:
            worst = (endpoint, p95, lower, upper, len(values))
        limit = limits.get(endpoint, criterion.threshold)
        if lower is not None and lower > limit:
            tripped.append(f"{endpoint}: P95 {p95:.0f} ms (lower bound {lower:.0f} ms "
                           f"> {limit:g} ms)")
    if worst is not None:
        endpoint, p95, lower, upper, n = worst
        r.canary_value = p95
        r.bound = {"lower": lower, "upper": upper, "confidence": per_endpoint_conf,
                   "of": f"P95 of the slowest critical endpoint, {endpoint} (n={n})"}
    if tripped:
        r.verdict = "rollback"
        r.reason = f"P95 over {criterion.threshold:g} ms on {'; '.join(tripped)}"
        r.evidence["tripped_endpoints"] = tripped
        slow = sorted((s for s in inp.canary if has_latency(s)
                       and s.total_ms > criterion.threshold), key=lambda s: -s.total_ms)
        r.evidence["failing_checks"] = [f"{c} ({n}x)" for c, n in
                                        Counter(s.check for s in slow).most_common(MAX_EVIDENCE)]
        r.evidence["synthetic_ids"] = [s.synthetic_id for s in slow[:MAX_EVIDENCE]]
        return r
    if unbounded:
        r.evidence["endpoints_too_few_calls_for_a_bound"] = unbounded
    if total < criterion.min_samples or worst is None:
        return hold_for_data(r, total, criterion.min_samples, per_minute(total, inp),
                             what="timed critical requests")
    r.verdict = "go"
    r.reason = (f"slowest critical endpoint {worst[0]}: P95 {worst[1]:.1f} ms, "
                f"not shown to exceed {limits.get(worst[0], criterion.threshold):g} ms")
    return r
