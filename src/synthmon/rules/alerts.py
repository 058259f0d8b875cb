"""Alerting rules: every rollback criterion as a page, SLO burn rates, trend tickets.

Thresholds and queries come from the policy's `criteria` (by id) and `slo`: every alert
compares the recorded series of its criterion's PromQL (records.py), the queries the gate
sends. The factors here are the SRE workbook's multiwindow burn rates and the trend
heuristics, named where defined. Annotations use only `$labels`, never `$value`, so
promtool unit tests can state them exactly; the recorded series named in `query` show the
value.
"""

from __future__ import annotations

from typing import Any

from synthmon import durations
from synthmon.rules import promql as q
from synthmon.rules import records as r
from synthmon.rules.model import RuleInputs

PAGE = "page"
CANARY = 'cohort="canary"'
CONTROL = 'cohort="control"'
TICKET = "ticket"

# Trend tickets: a 30 min ratio this many times its 1 d level, and at least this share of
# the rollback threshold, for this long. They warn before a page, so they sit below it.
TREND_FACTOR = 2.0
TREND_FLOOR_OF_THRESHOLD = 0.5
TREND_FOR = "15m"


def _alert(
    name: str, expr: str, severity: str, summary: str, description: str, query: str,
    *, criterion: str | None = None, extra: dict[str, str] | None = None, for_: str | None = None,
    runbook: str = "",
) -> dict[str, Any]:
    labels = {"severity": severity, "component": "canary" if criterion else "slo"}
    if criterion:
        labels["criterion"] = criterion
    labels.update(extra or {})
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = labels
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "query": query,
        "runbook_url": f"{runbook}#{anchor(name)}",
    }
    return rule


def anchor(alert_name: str) -> str:
    """The RUNBOOK.md heading anchor of an alert (GitHub lowercases headings)."""
    return alert_name.lower()


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def rollback_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    w = inputs.window
    crit = inputs.criterion
    alerts: list[dict[str, Any]] = []

    def page(name: str, criterion: str, expr: str, summary: str, description: str,
             query: str, extra: dict[str, str] | None = None) -> None:
        alerts.append(_alert(name, expr, PAGE, summary, description, query,
                             criterion=criterion, extra=extra, runbook=runbook))

    def enough(criterion_id: str, part: str, minimum: int, per: str = "labels") -> str:
        """The sample-size guard: the part's recorded series at or above the minimum, per
        cohort and the criterion's own labels (per="labels") or per cohort in all."""
        recorded = r.series(inputs, criterion_id, part)
        if per == "cohort":
            return f"and on (cohort) sum by (cohort) ({recorded}) >= {minimum}"
        return f"and {q.match_on(crit(criterion_id, part), part)} {recorded} >= {minimum}"

    c = crit("http_5xx_rate", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryHigh5xxRate", c.id,
         f"{series}{{{CANARY}}} > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary 5xx rate above {_pct(c.threshold)} over {w}: roll back",
         f"More than {_pct(c.threshold)} of the canary's requests answered 5xx in the last "
         f"{w} (at least {c.min_samples} requests).", series)

    c = crit("no_answer_rate", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryNoCompleteAnswers", c.id,
         f"{series}{{{CANARY}}} > {c.threshold:g}\n"
         f"unless ignoring (cohort) {series}{{{CONTROL}}} > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary calls without a complete answer above {_pct(c.threshold)} over {w}: "
         "roll back",
         f"More than {_pct(c.threshold)} of the synthetic monitor's calls to the canary got no "
         "complete answer (refused, reset, timed out, cut short, past the client's deadline "
         f"or over its body cap) in the last {w}, while the control answered (at least "
         f"{c.min_samples} calls).", series)

    c = crit("http_4xx_non_user_rate", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryHigh4xxRate", c.id,
         f"({q.canary_vs_control(series, '-')}) > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary 4xx rate {_pct(c.threshold)} above control over {w}: roll back",
         "Prometheus cannot tell a user error from ours, so the control's 4xx rate stands "
         f"for the user errors: the canary's 4xx rate exceeds it by more than "
         f"{_pct(c.threshold)} points over {w}.", series)

    c = crit(q.CRITICAL_LATENCY, "value", "count")
    series = r.series(inputs, c.id, "value")
    # Each endpoint against its own limit (the threshold, or its larger budget), as the gate
    # judges it; group_left brings the limit's label into the alert's text.
    page("CanaryLatencyP95OverLimit", c.id,
         f"{series}{{{CANARY}}}\n"
         f"> on (method, route) group_left (limit_ms)\n"
         f"{q.limit_name(c)}\n"
         f"{enough(c.id, 'count', c.min_samples)}",
         "Canary P95 over {{ $labels.limit_ms }} ms on {{ $labels.method }} "
         "{{ $labels.route }}: roll back",
         "The canary's P95 latency on the critical endpoint {{ $labels.method }} "
         f"{{{{ $labels.route }}}} is above its limit, {{{{ $labels.limit_ms }}}} ms, over {w} "
         f"(the criterion's {c.threshold:g} ms, or the endpoint's budget_ms where larger).",
         series)

    c = crit("latency_p95_regression", "value", "count")
    series = r.series(inputs, c.id, "value")
    page("CanaryLatencyP95Regression", c.id,
         f"(\n  {series}{{{CANARY}}}\n"
         f"  / ignoring (cohort) group_left ()\n"
         f"  {series}{{{CONTROL}}}\n"
         f") > {1 + c.threshold:g}\n"
         f"{enough(c.id, 'count', c.min_samples)}",
         f"Canary P95 more than {_pct(c.threshold)} above control on {{{{ $labels.method }}}} "
         "{{ $labels.route }}: roll back",
         f"The canary's P95 latency on {{{{ $labels.method }}}} {{{{ $labels.route }}}} is more "
         f"than {_pct(c.threshold)} above the control's over {w} (the live control stands "
         "for the baseline).", series)

    c = crit("schema_failure_rate", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanarySchemaFailures", c.id,
         f"{series}{{{CANARY}}} > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples, per='cohort')}",
         "Canary responses fail their schema on {{ $labels.http_request_method }} "
         "{{ $labels.url_template }}: roll back",
         f"More than {_pct(c.threshold)} of the synthetic monitor's calls to the critical "
         "endpoint {{ $labels.http_request_method }} {{ $labels.url_template }} got a response "
         f"that failed its JSON Schema over {w} (the minimum sample, {c.min_samples} calls, "
         "counts every critical endpoint of the cohort).", series)

    c = crit("auth_error_rate", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryAuthErrorRate", c.id,
         f"({q.canary_vs_control(series, '-')}) > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary auth errors {c.threshold * 100:g} points above control over {w}: roll back",
         "Auth failures per request on the canary exceed the control's by more than "
         f"{c.threshold * 100:g} percentage points over {w}.", series)

    c = crit("payment_capture_failures", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryPaymentCaptureFailures", c.id,
         f"{series}{{{CANARY}}} > {c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary payment capture failures above {_pct(c.threshold)} over {w}: roll back",
         f"More than {_pct(c.threshold)} of the canary's payment captures failed over {w}.",
         series)

    c = crit("waf_hits", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanaryWafHitsSpike", c.id,
         f"({q.canary_vs_control(series, '/')}) > {1 + c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary WAF rule hits more than {_pct(c.threshold)} above control over {w}: roll back",
         f"WAF rule hits per request on the canary are more than {_pct(c.threshold)} above "
         f"the control's over {w}.", series)

    c = crit("waf_high_severity_new", "value")
    series = r.series(inputs, c.id, "value")
    # As the gate judges it: over the threshold and above the control's answer (the
    # largest of its series; none is 0, as the query's own `or vector(0)` answers the gate).
    page("CanaryNewHighSeverityFinding", c.id,
         f"{series}{{{CANARY}}} > {c.threshold:g}\n"
         f"and {series}{{{CANARY}}} > scalar(max({series}{{{CONTROL}}}) or vector(0))",
         "New high-severity WAF finding {{ $labels.rule }} on the canary: roll back",
         "The high-severity WAF rule {{ $labels.rule }} fired on the canary over "
         f"{w} and not on the control.", series)

    c = crit("signup_completion", "numerator", "denominator")
    series = r.series(inputs, c.id, q.RATIO)
    page("CanarySignupCompletionDrop", c.id,
         f"({q.canary_vs_control(series, '/')}) < {1 - c.threshold:g}\n"
         f"{enough(c.id, 'denominator', c.min_samples)}",
         f"Canary student signup completion more than {_pct(c.threshold)} below control: "
         "roll back",
         "Completed / started student signups on the canary are more than "
         f"{_pct(c.threshold)} below the control's over {w}.", series)

    c = crit("time_to_value_p80", "value", "count")
    series = r.series(inputs, c.id, "value")
    page("CanaryTimeToValueRegression", c.id,
         f"({q.canary_vs_control(series, '/')}) > {1 + c.threshold:g}\n"
         f"{enough(c.id, 'count', c.min_samples)}",
         f"Canary time-to-value P80 more than {_pct(c.threshold)} above control: roll back",
         "The 80th percentile of signup-to-first-draft time on the canary is more than "
         f"{_pct(c.threshold)} above the control's over {w}.", series)

    alerts.extend(_phase_budget_alerts(inputs, runbook))
    return alerts


def _phase_budget_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    """'More than X of the weekly error budget in one phase', one rule per phase length.

    Used budget = canary bad events in the window / (allowed error ratio * all requests in
    the window scaled to the budget period). Scaling by all traffic, both cohorts, is what
    makes the canary's traffic share count: 1% errors on a 5% canary is 0.05% of traffic.
    Prometheus does not know the current phase: each rule watches one phase's length.
    """
    c = inputs.criterion(q.ERROR_BUDGET, "numerator", "denominator")
    period = durations.parse(inputs.budget_period)
    allowed = 1 - inputs.availability
    alerts = []
    for win in r.phase_windows(inputs):
        phases = ", ".join(p.name for p in inputs.phases if p.duration == win)
        scale = period / durations.parse(win)
        bad = r.series(inputs, c.id, "numerator", win)
        total = r.series(inputs, c.id, "denominator", win)
        alerts.append(_alert(
            "CanaryErrorBudgetPhaseBurn",
            f"{bad}{{{CANARY}}}\n"
            f"/ ignoring (cohort) group_left ()\n"
            f"(sum without (cohort) ({total}) * {allowed:g} * {scale:g})\n"
            f"> {c.threshold:g}\n"
            f"and on (cohort) {total}{{{CANARY}}} >= {c.min_samples}",
            PAGE,
            f"Canary used over {_pct(c.threshold)} of the {inputs.budget_period} error budget "
            f"in {win} (phase {phases}): roll back",
            f"The canary's 5xx over the last {win}, the length of phase {phases}, used more "
            f"than {_pct(c.threshold)} of the {inputs.budget_period} error budget of the "
            f"{inputs.availability * 100:g}% availability SLO at the current traffic.",
            bad, criterion=c.id, extra={"phase": phases, "window": win}, runbook=runbook,
        ))
    return alerts


def slo_burn_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    """The SRE workbook's multiwindow, multi-burn-rate alerts (chapter 5, "Alerting on
    SLOs"), for the availability SLO (the error budget criterion's 5xx) and the latency SLO
    (requests slower than its target). Each pair of windows comes from the policy with the
    share of the budget period's error budget it may spend in its long window; the burn rate
    is that share times the number of long windows in the period, so 2% in 1 h is 14.4 for a
    30-day budget and 3.36 for a 7-day one. A cohort with fewer requests than the policy's
    floor in the long window never pages: one failed call of a 5% canary is no burn."""
    period = durations.parse(inputs.budget_period)
    floor = inputs.alerting.burn_min_requests
    budget = inputs.criterion(q.ERROR_BUDGET, "numerator", "denominator")
    slos = (
        ("ErrorBudgetBurn", "availability", budget, 1 - inputs.availability,
         inputs.alerting.availability_burn, "5xx ratio",
         f"availability SLO {inputs.availability * 100:g}%"),
        ("LatencyBudgetBurn", "latency", inputs.latency_slo, inputs.latency_slo.threshold,
         inputs.alerting.latency_burn,
         f"share of requests slower than {inputs.latency_slo_ms:g} ms",
         f"latency SLO: P95 under {inputs.latency_slo_ms:g} ms"),
    )
    alerts = []
    for name, slo, criterion, allowed, pairs, bad, target in slos:
        for pair in pairs:
            factor = pair.factor(period)
            limit = factor * allowed
            long_ratio = q.record_name(criterion, q.RATIO, pair.long)
            short_ratio = q.record_name(criterion, q.RATIO, pair.short)
            total = q.record_name(criterion, "denominator", pair.long)
            alerts.append(_alert(
                name,
                f"{long_ratio} > {limit:.6g}\nand on (cohort) {short_ratio} > {limit:.6g}\n"
                f"and on (cohort) {total} >= {floor}",
                pair.severity,
                f"{{{{ $labels.cohort }}}} burns its {slo} error budget {factor:.3g}x too fast "
                f"({pair.long} and {pair.short})",
                f"The {bad} of the {{{{ $labels.cohort }}}} cohort is above {factor:.3g} times "
                f"the allowed {allowed:g} ({target}) over both {pair.long} and {pair.short}: "
                f"at this rate {_pct(pair.budget_fraction)} of the {inputs.budget_period} "
                f"budget goes in {pair.long} (at least {floor} requests in {pair.long}).",
                long_ratio,
                extra={"slo": slo, "long_window": pair.long, "short_window": pair.short,
                       "burn_rate": f"{factor:.3g}"},
                runbook=runbook,
            ))
    return alerts


def trend_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    short, long_ = q.TREND_SHORT, q.TREND_LONG
    alerts = []
    for status_class, criterion in (("5xx", "http_5xx_rate"), ("4xx", "http_4xx_non_user_rate")):
        floor = inputs.criterion(criterion).threshold * TREND_FLOOR_OF_THRESHOLD
        now = r.series(inputs, criterion, q.RATIO, short)
        before = r.series(inputs, criterion, q.RATIO, long_)
        alerts.append(_alert(
            f"Rising{status_class}Rate",
            f"{now} > {TREND_FACTOR:g} * {before}\nand {now} > {floor:g}",
            TICKET,
            f"{{{{ $labels.cohort }}}} {status_class} rate rising",
            f"The {status_class} rate of the {{{{ $labels.cohort }}}} cohort over {short} is "
            f"more than {TREND_FACTOR:g}x its {long_} level and above {_pct(floor)}.",
            now, extra={"trend": status_class}, for_=TREND_FOR, runbook=runbook,
        ))
    floor = inputs.criterion("schema_failure_rate").threshold * TREND_FLOOR_OF_THRESHOLD
    now = r.series(inputs, "schema_failure_rate", q.RATIO, short)
    before = r.series(inputs, "schema_failure_rate", q.RATIO, long_)
    alerts.append(_alert(
        "RisingSchemaFailures",
        f"{now} > {TREND_FACTOR:g} * {before}\nand {now} > {floor:g}",
        TICKET,
        "Schema failures rising on {{ $labels.http_request_method }} {{ $labels.url_template }} "
        "({{ $labels.cohort }})",
        "The share of responses failing their JSON Schema on {{ $labels.http_request_method }} "
        "{{ $labels.url_template }} ({{ $labels.cohort }}) over "
        f"{short} is more than {TREND_FACTOR:g}x its {long_} level and above {_pct(floor)}.",
        now, extra={"trend": "schema"}, for_=TREND_FOR, runbook=runbook,
    ))
    # The critical-latency criterion's query: P95 in ms per critical endpoint.
    now = r.series(inputs, "latency_p95_critical", "value", short)
    before = r.series(inputs, "latency_p95_critical", "value", long_)
    alerts.append(_alert(
        "LatencyP95AboveSLO",
        f"{now} > {inputs.latency_slo_ms:g}",
        TICKET,
        f"P95 over the {inputs.latency_slo_ms:g} ms SLO on {{{{ $labels.method }}}} "
        "{{ $labels.route }} ({{ $labels.cohort }})",
        f"The P95 latency of the critical endpoint {{{{ $labels.method }}}} "
        f"{{{{ $labels.route }}}} ({{{{ $labels.cohort }}}}) over {short} is above the "
        f"{inputs.latency_slo_ms:g} ms SLO.",
        now, extra={"trend": "latency"}, for_=TREND_FOR, runbook=runbook,
    ))
    regression = inputs.criterion("latency_p95_regression").threshold
    alerts.append(_alert(
        "RisingLatencyP95",
        f"{now}\n/\n{before}\n"
        f"> {1 + regression:g}",
        TICKET,
        "P95 rising on {{ $labels.method }} {{ $labels.route }} "
        "({{ $labels.cohort }})",
        f"The P95 latency of {{{{ $labels.method }}}} {{{{ $labels.route }}}} "
        f"({{{{ $labels.cohort }}}}) over {short} is more than {_pct(regression)} above its "
        f"{long_} level.",
        now, extra={"trend": "latency"}, for_=TREND_FOR, runbook=runbook,
    ))
    return alerts
