"""Recording rules: every criterion's PromQL from the policy, per cohort, per window.

Each part of a criterion's query (numerator, denominator, value, count) is recorded exactly
as the gate sends it to Prometheus, for both cohorts at once (the query keeps `cohort`), so
an alert and the gate can never read different series, and an on-call engineer can
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
from synthmon.promql_templates import BOTH_COHORTS
from synthmon.rules import promql as q
from synthmon.rules.model import RuleInputs


def series(inputs: RuleInputs, criterion_id: str, part: str, window: str | None = None) -> str:
    """The recorded series of one part of a criterion over a window (default: the gate's)."""
    parts = ("numerator", "denominator") if part == q.RATIO else (part,)
    return q.record_name(inputs.criterion(criterion_id, *parts), part, window or inputs.window)


def phase_windows(inputs: RuleInputs) -> list[str]:
    """The phases' lengths as the policy writes them (an alert's `window` label), shortest
    first; their series are recorded under the canonical name (60m as 1h)."""
    return sorted({p.duration for p in inputs.phases if durations.parse(p.duration) > 0},
                  key=lambda window: (durations.parse(window), window))


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


class _Recorder:
    """The recording rules, each query evaluated once: a part whose rendered PromQL was
    already recorded under another criterion's name (the request total is the denominator of
    five criteria) is recorded as a copy of that series, which costs Prometheus nothing."""

    def __init__(self, inputs: RuleInputs) -> None:
        self.inputs = inputs
        self.rules: list[dict[str, Any]] = []
        self._seen: dict[str, str] = {}  # rendered PromQL -> the record that holds it

    def _record(self, name: str, expr: str) -> None:
        earlier = self._seen.setdefault(expr, name)
        self.rules.append({"record": name, "expr": expr if earlier == name else earlier})

    def criterion(self, criterion: Criterion, window: str) -> None:
        for part in q.PARTS:
            if part in criterion.promql:
                self._record(q.record_name(criterion, part, window), criterion.query(
                    part, BOTH_COHORTS, q.canonical(window), self.inputs.route_regex))
        if "numerator" in criterion.promql:
            numerator = self._seen[criterion.query("numerator", BOTH_COHORTS,
                                                   q.canonical(window), self.inputs.route_regex)]
            denominator = self._seen[criterion.query(
                "denominator", BOTH_COHORTS, q.canonical(window), self.inputs.route_regex)]
            self._record(q.record_name(criterion, q.RATIO, window),
                         ratio(numerator, denominator))


def p95_limit_records(inputs: RuleInputs) -> list[dict[str, Any]]:
    """Each critical endpoint's P95 limit as a constant series labelled by method and route
    (and by the limit itself, which an alert text can then name): a larger budget_ms than the
    criterion's threshold wins, as in the gate."""
    name = q.limit_name(inputs.criterion(q.CRITICAL_LATENCY))
    rules = []
    for endpoint, limit in inputs.p95_limits_ms.items():
        method, route = endpoint.split(" ", 1)
        rules.append({"record": name, "expr": f"vector({limit:g})",
                      "labels": {"method": method, "route": route, "limit_ms": f"{limit:g}"}})
    return rules


def recording_rules(inputs: RuleInputs) -> list[dict[str, Any]]:
    """Rules of one group run in order at one evaluation time, so a ratio (or a copy) reads
    the series recorded just before it."""
    recorder = _Recorder(inputs)
    for criterion in inputs.criteria.values():
        for window in criterion_windows(inputs, criterion.id):
            recorder.criterion(criterion, window)
    for window in q.by_length(burn_windows(inputs.alerting.latency_burn)):
        recorder.criterion(inputs.latency_slo, window)
    return [*recorder.rules, *p95_limit_records(inputs)]
