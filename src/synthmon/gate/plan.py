"""Before a phase starts: for each criterion, the smallest effect the phase's window can
detect with the policy's confidence (9 times in 10), and which criteria cannot decide at
all within the phase. Synthetic criteria are judged on the gate's own suite runs, so their
sample comes from the suite's pace (calls per run, run length, from recorded runs or the
live window); production criteria on real traffic, so theirs comes from Prometheus's recent
rates or --traffic, times the phase's share."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from synthmon import durations, stats
from synthmon.gate import power
from synthmon.gate.criteria import critical, has_latency, is_auth_error
from synthmon.gate.scope import out_of_scope_reason
from synthmon.policy import Criterion, Policy
from synthmon.samples import Sample


@dataclass(frozen=True)
class SuitePace:
    """How much one cohort's paced suite runs send, per minute of the window."""

    runs_per_min: float
    calls_per_min: float
    critical_per_min: dict[str, float]  # endpoint -> timed critical calls per minute
    schema_per_min: dict[str, float]  # critical endpoint -> schema-checked calls per minute
    run_median_cv: float | None  # spread of run medians / their mean (latency test)
    auth_error_rate: float  # in the runs seen (the reference of the pp criterion)
    basis: str  # where the figures come from, said with them

    @classmethod
    def from_samples(cls, samples: Sequence[Sample], pacing_s: float, basis: str,
                     elapsed_s: float | None = None) -> SuitePace | None:
        """From recorded runs: each run's calls and length, paced as the gate paces them
        (elapsed_s None), or as observed over `elapsed_s` seconds of a live window."""
        runs: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            runs[s.run_id].append(s)
        if not runs:
            return None
        lengths = [max(s.started_at + s.total_ms / 1000 for s in run)
                   - min(s.started_at for s in run) for run in runs.values()]
        if elapsed_s is None:
            run_s = stats.quantile(lengths, 0.5) + pacing_s
            runs_per_min = 60 / max(run_s, 0.1)
        else:
            runs_per_min = len(runs) / max(elapsed_s, 1.0) * 60
        per_run = len(samples) / len(runs)
        crit = [s for s in critical(samples, set()) if has_latency(s)]
        by_endpoint = Counter(s.endpoint for s in crit)
        checked = Counter(s.endpoint for s in critical(samples, set()) if s.schema_ok is not None)
        medians = [stats.quantile([s.total_ms for s in run if has_latency(s)] or [0.0], 0.5)
                   for run in runs.values()]
        mean = sum(medians) / len(medians)
        cv = (float(np.std(medians, ddof=1)) / mean
              if len(medians) >= 3 and mean > 0 else None)
        scale = runs_per_min / len(runs)
        return cls(runs_per_min=runs_per_min, calls_per_min=per_run * runs_per_min,
                   critical_per_min={e: n * scale for e, n in by_endpoint.items()},
                   schema_per_min={e: n * scale for e, n in checked.items()},
                   run_median_cv=cv,
                   auth_error_rate=sum(map(is_auth_error, samples)) / len(samples),
                   basis=basis)


@dataclass(frozen=True)
class Traffic:
    """Production events per second, per criterion: the whole service's rate of the
    criterion's denominator (its events) and its bad-event ratio, where known."""

    events_per_s: dict[str, float]  # criterion id -> events/s, both cohorts together
    base_rate: dict[str, float]  # criterion id -> numerator / denominator (control)
    basis: str


@dataclass
class PlanRow:
    id: str
    title: str
    source: str
    verdict: str  # can_decide | cannot_decide | not_applicable | unknown
    samples: float | None  # in the judged window
    detectable: float | None  # the smallest effect, in `effect_unit`
    effect_unit: str
    sentence: str
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    phase: str
    traffic_share: float
    duration_s: float
    window_s: float  # what the verdict at the phase's end is judged on
    confidence: float
    rows: list[PlanRow] = field(default_factory=list)

    @property
    def cannot_decide(self) -> list[PlanRow]:
        return [r for r in self.rows if r.verdict == "cannot_decide"]

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "traffic_share": self.traffic_share,
                "duration_s": self.duration_s, "window_s": self.window_s,
                "confidence": self.confidence, "power": power.POWER,
                "criteria": [r.to_dict() for r in self.rows],
                "cannot_decide": [r.id for r in self.cannot_decide]}


def _pct(value: float) -> str:
    return f"{value:.2%}" if value < 0.1 else f"{value:.1%}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


class _Planner:
    def __init__(self, policy: Policy, phase: str, pace: dict[str, SuitePace | None],
                 traffic: Traffic | None, with_prometheus: bool, window_s: float | None):
        self.policy, self.phase = policy, phase
        conf = policy.phase(phase)
        self.share = float(conf["traffic_percent"]) / 100
        self.duration_s = durations.parse(conf["duration"])
        self.window_s = min(policy.window_s if window_s is None else window_s, self.duration_s)
        self.scope = conf.get("scope", "")
        self.pace, self.traffic = pace, traffic
        self.with_prometheus = with_prometheus
        self.method = policy.gate["rate_bound"]
        in_play = [c for c in policy.criteria
                   if out_of_scope_reason(c, self.scope, phase) is None
                   and (c.source == "synthetic" or with_prometheus)]
        self.confidence = stats.per_test_confidence(
            float(policy.gate["false_rollback_rate"]), len(in_play))
        self.in_play = {c.id for c in in_play}

    def plan(self) -> Plan:
        plan = Plan(self.phase, self.share, self.duration_s, self.window_s, self.confidence)
        for c in self.policy.criteria:
            plan.rows.append(self.row(c))
        return plan

    # -- one row per criterion ------------------------------------------------------
    def row(self, c: Criterion) -> PlanRow:
        why = out_of_scope_reason(c, self.scope, self.phase)
        if why is not None:
            return PlanRow(c.id, c.title, c.source, "not_applicable", None, None, "", why, "")
        if c.id not in self.in_play:
            return PlanRow(c.id, c.title, c.source, "not_applicable", None, None, "",
                           "production-only: not judged without --prometheus", "")
        if self.window_s <= 0:
            return PlanRow(c.id, c.title, c.source, "cannot_decide", 0, None, "",
                           f"phase {self.phase} has no duration: nothing is judged within it",
                           "")
        if c.source == "synthetic":
            return self.synthetic(c)
        return self.production(c)

    def _cannot(self, c: Criterion, n: float, need: float, what: str, basis: str,
                extra: str = "") -> PlanRow:
        return PlanRow(c.id, c.title, c.source, "cannot_decide", n, None, "",
                       f"cannot decide within the phase: the {_minutes(self.window_s)} window "
                       f"holds about {n:.0f} {what}, the policy needs {need:g}" + extra, basis)

    def synthetic(self, c: Criterion) -> PlanRow:
        canary, control = self.pace.get("canary"), self.pace.get("control")
        pace = canary or control
        if pace is None:
            return PlanRow(c.id, c.title, c.source, "unknown", None, None, "",
                           "unknown: no suite run recorded to tell the suite's pace (give "
                           "--history, or run the suite once so the history store has a run)",
                           "")
        minutes = self.window_s / 60
        basis = pace.basis
        if c.metric in ("server_error_rate", "unexpected_4xx_rate", "no_answer_rate"):
            n = pace.calls_per_min * minutes
            return self.absolute(c, n, "calls", basis, "a rate")
        if c.metric == "auth_error_rate":
            n = pace.calls_per_min * minutes
            ref = (control or pace)
            ref_n = ref.calls_per_min * minutes
            if min(n, ref_n) < c.min_samples:
                return self._cannot(c, min(n, ref_n), c.min_samples, "calls per cohort", basis)
            d = power.detectable_difference(int(n), ref.auth_error_rate, int(ref_n),
                                            c.threshold, self.confidence)
            return self._found(c, n, d, "pp", basis,
                               f"an auth error rate {_pp(d)} or more above the reference's "
                               f"{_pct(ref.auth_error_rate)}" if d is not None else "")
        if c.metric == "schema_failure_rate":
            per = pace.schema_per_min
            if not per:
                return self._cannot(c, 0, c.min_samples, "schema-checked calls", basis)
            n_total = sum(per.values()) * minutes
            if n_total < c.min_samples:
                return self._cannot(c, n_total, c.min_samples, "schema-checked calls", basis)
            conf = 1 - (1 - self.confidence) / len(per)
            smallest = min(per.values()) * minutes
            rate = power.detectable_rate(int(smallest), c.threshold, conf, self.method)
            return self._found(c, n_total, rate, "ratio", basis,
                               f"schema failures on {_pct(rate)} or more of one critical "
                               f"endpoint's calls (the least-called has about {smallest:.0f})"
                               if rate is not None else "")
        if c.metric == "latency_p95_absolute":
            per = pace.critical_per_min
            n_total = sum(per.values()) * minutes
            if not per or n_total < c.min_samples:
                return self._cannot(c, n_total, c.min_samples, "timed critical calls", basis)
            conf = 1 - (1 - self.confidence) / len(per)
            smallest = min(per.values()) * minutes
            share = power.detectable_share_over(int(smallest), 0.95, conf)
            return self._found(c, n_total, share, "share", basis,
                               f"an endpoint with {_pct(share)} or more of its calls over "
                               f"{c.threshold:g} ms (its P95 is over at 5%; the least-called "
                               f"critical endpoint has about {smallest:.0f} calls)"
                               if share is not None else "")
        if c.metric == "latency_p95_ratio":
            runs = min(p.runs_per_min for p in (canary, control) if p) * minutes
            need = max(2, c.min_runs)
            alpha = 1 - self.confidence
            while stats.mann_whitney_smallest_p(need, need) >= alpha:
                need += 1
            n_calls = sum(pace.critical_per_min.values()) * minutes
            if runs < need or n_calls < c.min_samples:
                return self._cannot(c, runs, need, "suite runs per cohort", basis,
                                    extra=f" (and {c.min_samples} timed critical calls)")
            shift = power.mann_whitney_shift(int(runs), alpha)
            cv = pace.run_median_cv
            slow = max(c.threshold, shift * cv) if shift is not None and cv else None
            text = (f"a P95 more than {c.threshold:.0%} above the reference, once Mann-Whitney "
                    f"on {runs:.0f} runs per cohort confirms it"
                    + (f": run medians slower by {shift:.1f} sd, about {shift * cv:.0%} at the "
                       f"runs' {cv:.0%} spread" if shift is not None and cv else ""))
            return PlanRow(c.id, c.title, c.source, "can_decide", runs, slow, "slowdown",
                           f"{self._context(runs, 'runs per cohort')}: {text} is caught 9 "
                           "times in 10", basis)
        return PlanRow(c.id, c.title, c.source, "unknown", None, None, "",
                       f"no plan for metric {c.metric}", basis)

    def absolute(self, c: Criterion, n: float, what: str, basis: str, noun: str,
                 threshold: float | None = None) -> PlanRow:
        limit = c.threshold if threshold is None else threshold
        rate = power.detectable_rate(int(n), limit, self.confidence, self.method)
        if n < c.min_samples:
            early = (f"; it rolls back early only on a rate of {_pct(rate)} or more"
                     if c.early_rollback and rate is not None else "")
            return self._cannot(c, n, c.min_samples, what, basis, extra=early)
        return self._found(c, n, rate, "ratio", basis,
                           f"{noun} of {_pct(rate)} or more (threshold {_pct(limit)})"
                           if rate is not None else "")

    def _found(self, c: Criterion, n: float, effect: float | None, unit: str, basis: str,
               text: str) -> PlanRow:
        if effect is None:
            return PlanRow(c.id, c.title, c.source, "cannot_decide", n, None, unit,
                           f"cannot decide within the phase: no outcome of about {n:.0f} "
                           "samples clears the threshold at the policy's confidence", basis)
        return PlanRow(c.id, c.title, c.source, "can_decide", n, effect, unit,
                       f"{self._context(n, 'samples')}: {text} is caught 9 times in 10", basis)

    def _context(self, n: float, what: str) -> str:
        return (f"at {self.share:.0%} for {_minutes(self.duration_s)} "
                f"({_minutes(self.window_s)} window, about {n:.0f} {what})")

    def production(self, c: Criterion) -> PlanRow:
        traffic = self.traffic
        if c.metric == "new_high_severity_hits":
            return PlanRow(c.id, c.title, c.source, "can_decide", None, 1, "count",
                           "any new high-severity rule hit the control did not see is caught "
                           "at once (a count, no bound)", "")
        rate = traffic.events_per_s.get(c.id) if traffic else None
        if rate is None:
            return PlanRow(c.id, c.title, c.source, "unknown", None, None, "",
                           "unknown: needs the rate of its events (give --prometheus, or "
                           "--traffic for criteria counted in requests)",
                           traffic.basis if traffic else "")
        basis = traffic.basis if traffic else ""
        n = rate * self.share * self.window_s
        ref_n = rate * (1 - self.share) * self.window_s if self.share < 1 else n
        base = traffic.base_rate.get(c.id) if traffic else None
        if c.metric == "ttv_p80_ratio":
            if n < c.min_samples:
                return self._cannot(c, n, c.min_samples, "events", basis)
            return PlanRow(c.id, c.title, c.source, "can_decide", n, c.threshold, "ratio",
                           f"a P80 more than {c.threshold:.0%} above the control's, once "
                           f"{c.min_samples} events are in the window (about {n:.0f}); a "
                           "histogram quantile has no bound: the minimum guards it", basis)
        if c.metric == "error_budget_burn":
            limit = stats.burn_rate_threshold(c.threshold, self.policy.error_budget_period_s,
                                              self.duration_s, self.share)
            ratio = power.burn_ratio(limit, self.policy.slo_availability)
            if ratio >= 1:
                return PlanRow(c.id, c.title, c.source, "cannot_decide", n, None, "",
                               f"cannot decide: at {self.share:.0%} for "
                               f"{_minutes(self.duration_s)} even every request failing burns "
                               f"less than {limit:.0f}x", basis)
            return self.absolute(c, n, "requests", basis, f"a burn of more than {limit:.0f}x: "
                                 "an error ratio", threshold=ratio)
        if c.comparison == "absolute":
            return self.absolute(c, n, "events", basis, "a rate")
        if n < c.min_samples or ref_n < c.min_samples:
            return self._cannot(c, min(n, ref_n), c.min_samples, "events per cohort", basis)
        if base is None:
            return PlanRow(c.id, c.title, c.source, "unknown", n, None, "",
                           "unknown: needs the control's recent rate (give --prometheus)", basis)
        if c.metric == "signup_completion_drop":
            drop = power.detectable_drop(int(n), base, int(ref_n), c.threshold, self.confidence)
            return self._found(c, n, drop, "drop", basis,
                               f"a completion drop of {_pct(drop)} or more below the control's "
                               f"{_pct(base)}" if drop is not None else "")
        found = power.detectable_ratio(int(n), base, int(ref_n), c.threshold, self.confidence)
        return self._found(c, n, found, "ratio", basis,
                           f"a rate {found:.2f}x the control's {_pct(base)} or more"
                           if found is not None else "")


def _pp(value: float | None) -> str:
    return f"+{value * 100:.2f} pp" if value is not None else "?"


def make_plan(policy: Policy, phase: str, pace: dict[str, SuitePace | None],
              traffic: Traffic | None, with_prometheus: bool,
              window_s: float | None = None) -> Plan:
    """The plan of one phase; `window_s` when the gate judges another window than the
    policy's (gate serve --window)."""
    return _Planner(policy, phase, pace, traffic, with_prometheus, window_s).plan()


def requests_traffic(policy: Policy, rps: float) -> Traffic:
    """--traffic RPS: the service's request rate; only criteria whose events are requests
    (their denominator counts requests) can use it."""
    events = {}
    for c in policy.criteria:
        denominator = c.promql.get("denominator", "")
        if c.source == "prometheus" and "_requests_total" in denominator:
            events[c.id] = rps
    return Traffic(events, {}, f"--traffic {rps:g} requests/s")


def format_plan(plan: Plan) -> str:
    lines = [f"Phase {plan.phase}: {plan.traffic_share:.0%} of traffic for "
             f"{_minutes(plan.duration_s)}; the verdict at its end is judged on a "
             f"{_minutes(plan.window_s)} window at per-test confidence {plan.confidence:.4f} "
             f"(what is caught 9 times in 10):"]
    width = max((len(r.id) for r in plan.rows), default=10)
    for r in plan.rows:
        mark = {"can_decide": "  ", "cannot_decide": "!!", "not_applicable": "--",
                "unknown": "??"}[r.verdict]
        lines.append(f"{mark} {r.id:<{width}}  {r.sentence}")
    bases = sorted({r.basis for r in plan.rows if r.basis})
    for basis in bases:
        lines.append(f"   basis: {basis}")
    cannot = plan.cannot_decide
    unknown = [r.id for r in plan.rows if r.verdict == "unknown"]
    lines.append(("Cannot decide within this phase: " + ", ".join(r.id for r in cannot))
                 if cannot else "No judged criterion is known to be unable to decide within "
                 "this phase.")
    if unknown:
        lines.append("Not planned (an input is missing, see above): " + ", ".join(unknown))
    return "\n".join(lines)
