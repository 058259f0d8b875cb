"""Recording rules: every criterion's PromQL from the policy, per cohort, per window.

Each part of a criterion's query (numerator, denominator, value, count) is recorded exactly
as the gate sends it to Prometheus, once per cohort (the `cohort` label is the rule's own),
so an alert and the gate can never read different series, and an on-call engineer can
graph exactly what an alert saw. A ratio fills a zero numerator for a cohort that has
traffic but no matching events yet (a counter gets a labelled series only on its first
increment); otherwise "canary minus control" would vanish whenever the control had no
errors at all, the very case it must catch.
"""

from __future__ import annotations

from typing import Any

from synthmon import durations
from synthmon.alerting.settings import BurnWindow
from synthmon.policy import Criterion
from synthmon.promql_templates import COHORTS
from synthmon.rules import promql as q
from synthmon.rules.model import RuleInputs


def series(inputs: RuleInputs, criterion_id: str, part: str, window: str | None = None) -> str:
    """The recorded series of one part of a criterion over a window (default: the gate's)."""
    parts = ("numerator", "denominator") if part == q.RATIO else (part,)
    return q.record_name(inputs.criterion(criterion_id, *parts), part, window or inputs.window)


def phase_windows(inputs: RuleInputs) -> list[str]:
    return q.by_length({p.duration for p in inputs.phases if durations.parse(p.duration) > 0})


def criterion_windows(inputs: RuleInputs, criterion_id: str) -> list[str]:
    """Every window a criterion's query is recorded over, shortest first: the rolling
    window, the trend windows for the trended criteria, the burn-rate and phase windows
    for the error budget's."""
    wanted = {inputs.window}
    if criterion_id in q.TRENDED:
        wanted |= {q.TREND_SHORT, q.TREND_LONG}
    if criterion_id == q.ERROR_BUDGET:
        wanted |= {*burn_windows(inputs.alerting.availability_burn), *phase_windows(inputs)}
    return q.by_length(wanted)


def burn_windows(pairs: tuple[BurnWindow, ...]) -> set[str]:
    return {window for pair in pairs for window in (pair.long, pair.short)}


def latency_slo_series(inputs: RuleInputs, part: str, window: str) -> str:
    return q.record_name(inputs.latency_slo, part, window)


def ratio(numerator: str, denominator: str) -> str:
    return f"(\n  {numerator}\n  or 0 * {denominator}\n)\n/\n{denominator}"


def _criterion_records(inputs: RuleInputs, criterion: Criterion, window: str
                       ) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for part in q.PARTS:
        if part not in criterion.promql:
            continue
        for cohort in COHORTS:
            rules.append({
                "record": q.record_name(criterion, part, window),
                "expr": criterion.query(part, cohort, window, inputs.route_regex),
                "labels": {"cohort": cohort},
            })
    if "numerator" in criterion.promql:
        rules.append({
            "record": q.record_name(criterion, q.RATIO, window),
            "expr": ratio(q.record_name(criterion, "numerator", window),
                          q.record_name(criterion, "denominator", window)),
        })
    return rules


def recording_rules(inputs: RuleInputs) -> list[dict[str, Any]]:
    """Rules of one group run in order at one evaluation time, so the ratio reads the
    numerator and denominator recorded just before it."""
    rules: list[dict[str, Any]] = []
    for criterion in inputs.criteria.values():
        for window in criterion_windows(inputs, criterion.id):
            rules.extend(_criterion_records(inputs, criterion, window))
    for window in q.by_length(burn_windows(inputs.alerting.latency_burn)):
        rules.extend(_criterion_records(inputs, inputs.latency_slo, window))
    return rules
