"""The decision function: every criterion of the policy over one window of samples (and
Prometheus, when given) to one verdict. Pure apart from the Prometheus queries, so the
calibration can call it on thousands of resampled windows."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from synthmon import stats
from synthmon.gate import criteria as synthetic
from synthmon.gate.drift import drift_note, drift_signal
from synthmon.gate.model import CriterionResult, Decision, GateInput, Outcome
from synthmon.gate.production import evaluate_production
from synthmon.gate.prometheus import PrometheusClient
from synthmon.gate.scope import out_of_scope_reason
from synthmon.policy import Criterion, Policy
from synthmon.samples import Sample


def _synthetic_evaluator(c: Criterion, policy: Policy) -> Callable[..., CriterionResult]:
    """metric -> the function that judges it from samples."""
    def rate(is_bad: Callable[[Sample], bool], what: str) -> Callable[..., CriterionResult]:
        def run(c: Criterion, inp: GateInput, crit: set[str], conf: float,
                method: str) -> CriterionResult:
            if c.comparison == "absolute":
                return synthetic.absolute_rate(c, inp, is_bad, conf, method, what)
            return synthetic.rate_vs_reference(c, inp, is_bad, conf, what, c.metric)
        return run

    table: dict[str, Callable[..., CriterionResult]] = {
        "server_error_rate": rate(lambda s: s.is_server_error, "5xx rate"),
        "no_answer_rate": lambda c, inp, crit, conf, method: synthetic.no_answer_rate(
            c, inp, conf, method),
        "unexpected_4xx_rate": rate(synthetic.is_unexpected_4xx, "non-user-error 4xx rate"),
        "auth_error_rate": rate(synthetic.is_auth_error, "auth error rate"),
        "schema_failure_rate": lambda c, inp, crit, conf, method: synthetic.schema_failures(
            c, inp, crit, conf, method),
        "latency_p95_ratio": lambda c, inp, crit, conf, method: synthetic.latency_ratio(
            c, inp, crit, conf),
        "latency_p95_absolute": lambda c, inp, crit, conf, method: synthetic.latency_absolute(
            c, inp, crit, conf, policy.p95_limits_ms(c.threshold)),
    }
    if c.metric not in table:
        raise ValueError(f"criterion {c.id}: metric {c.metric} has no synthetic evaluator; "
                         "use source: prometheus")
    return table[c.metric]


def evaluate(policy: Policy, inp: GateInput, prometheus: PrometheusClient | None = None,
             only: set[str] | None = None) -> Decision:
    # Every criterion is about HTTP calls: browser steps and Web Vitals are not requests.
    inp = dataclasses.replace(inp, canary=[s for s in inp.canary if s.is_http],
                              control=[s for s in inp.control if s.is_http])
    chosen = [c for c in policy.criteria if only is None or c.id in only]
    # Criteria the phase's scope starves (payments in phase 5) are set aside first: they
    # take no share of the false-rollback budget and never hold the phase.
    unjudged = {c.id: why for c in chosen
                if (why := out_of_scope_reason(c, inp.scope, inp.phase)) is not None}
    in_play = [c for c in chosen if c.id not in unjudged
               and (c.source == "synthetic" or prometheus is not None)]
    confidence = stats.per_test_confidence(
        float(policy.gate["false_rollback_rate"]), len(in_play))
    method = policy.gate["rate_bound"]
    crit_endpoints = set(policy.critical_endpoints())
    route_re = policy.critical_route_regex()
    results = []
    for c in chosen:
        if c.id in unjudged:
            results.append(synthetic.new_result(c, "not_applicable", unjudged[c.id]))
        elif c.source == "synthetic":
            results.append(_synthetic_evaluator(c, policy)(c, inp, crit_endpoints, confidence,
                                                            method))
        else:
            results.append(evaluate_production(c, inp, policy, prometheus, confidence, route_re))
    return combine(policy, inp, results, confidence)


def combine(policy: Policy, inp: GateInput, results: list[CriterionResult],
            confidence: float) -> Decision:
    tripped = [r for r in results if r.verdict == "rollback"]
    held = [r for r in results if r.verdict == "hold"]
    skipped = [r for r in results if r.verdict == "not_applicable"]
    control_down = _unreachable(inp.control)
    verdict: Outcome
    if control_down:
        # A control that answers nothing means the monitor cannot tell a canary fault from
        # its own network or a wider outage: never roll back (nor go) on that comparison.
        verdict = "hold"
        summary = (f"HOLD: the control answered none of its {len(inp.control)} requests "
                   f"({control_down}); the gate cannot judge the canary against it. Check "
                   "that the control is reachable from the monitor.")
    elif tripped:
        verdict = "rollback"
        summary = "ROLLBACK: " + "; ".join(f"{r.id} ({r.reason})" for r in tripped)
    elif held:
        verdict = "hold"
        summary = _hold_summary(held, len(results))
    else:
        verdict = "go"
        summary = (f"GO for phase {inp.phase}: all {len(results) - len(skipped)} "
                   "evaluated criteria pass")
        if skipped:
            summary += (f"; NOT evaluated ({len(skipped)}): "
                        + ", ".join(f"{r.id} ({_why_not(r)})" for r in skipped))
    drift = drift_signal(inp.canary, inp.control)
    drift_seen = drift_note(drift)
    return Decision(
        verdict=verdict, summary=summary, phase=inp.phase, criteria=results,
        signals={"schema_drift": drift},
        generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        inputs={
            "phase": inp.phase, "scope": inp.scope, "traffic_share": inp.traffic_share,
            "window_s": inp.window_s, "elapsed_s": round(inp.elapsed_s, 1),
            "canary_samples": len(inp.canary), "control_samples": len(inp.control),
            "canary_builds": sorted({s.build_id for s in inp.canary}),
            "control_builds": sorted({s.build_id for s in inp.control}),
            "baseline": inp.baseline.path if inp.baseline else None,
            "policy": str(policy.path),
            "per_test_confidence": confidence,
            "false_rollback_rate": policy.gate["false_rollback_rate"],
        },
        notes=[*inp.notes, *([drift_seen] if drift_seen else [])],
    )


def _unreachable(samples: list[Sample]) -> str | None:
    """Why a cohort answered none of its requests, or None when it answered at least one."""
    if not samples or any(s.status is not None for s in samples):
        return None
    reasons = Counter(s.error_type or "no answer" for s in samples)
    return ", ".join(f"{why} x{n}" for why, n in reasons.most_common(3))


def _why_not(r: CriterionResult) -> str:
    if r.reason.startswith("not applicable in phase"):
        return "out of this phase's scope"
    if r.source == "prometheus":
        return "production-only, no --prometheus"
    return "not applicable"


def _hold_summary(held: list[CriterionResult], total: int) -> str:
    """The ship-room reads the first clause: how many cannot decide and the longest wait;
    criteria held for the same reason (a dead Prometheus) are named together, once."""
    head = f"HOLD: {len(held)} of {total} criteria cannot decide yet"
    waits = [(r.needs["minutes"], r.id) for r in held if "minutes" in r.needs]
    if waits:
        minutes, who = max(waits)
        head += f" (longest wait: about {minutes:g} more minutes, for {who})"
    by_reason: dict[str, list[str]] = defaultdict(list)
    for r in held:
        by_reason[r.reason].append(r.id)
    return head + ". " + "; ".join(f"{', '.join(ids)}: {reason}"
                                   for reason, ids in by_reason.items())
