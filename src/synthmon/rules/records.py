"""Recording rules: every ratio and quantile the alerts compare, per cohort, per window.

Alerts read these recorded series, so each expression is written once and an on-call
engineer can graph exactly what an alert saw. Ratios fill a zero numerator for a cohort
that has traffic but no matching events yet (prometheus_client creates a labelled series
only on its first increment); otherwise "canary minus control" would vanish whenever the
control had no errors at all, the very case it must catch.
"""

from __future__ import annotations

from typing import Any

from synthmon.rules import promql as q
from synthmon.rules.model import RuleInputs


def ratio(numerator: str, denominator: str) -> str:
    return f"(\n  {numerator}\n  or 0 * {denominator}\n)\n/\n{denominator}"


def requests_rate(w: str) -> str:
    return q.record_name("cohort", "http_requests", f"rate{w}")


def requests_increase(w: str) -> str:
    return q.record_name("cohort", "http_requests", f"increase{w}")


def endpoint_requests_increase(w: str) -> str:
    return q.record_name("cohort_method_route", "http_requests", f"increase{w}")


def class_ratio(status_class: str, w: str) -> str:
    return q.record_name("cohort", f"http_{status_class}", f"ratio_rate{w}")


def class_increase(status_class: str, w: str) -> str:
    return q.record_name("cohort", f"http_{status_class}", f"increase{w}")


def latency_p95(w: str) -> str:
    """P95 of the critical endpoints only: the only latencies an alert compares."""
    return q.record_name(
        "cohort_method_route", "critical_http_request_duration_seconds", f"p95_rate{w}")


def named(metric: str, operation: str, level: str = "cohort") -> str:
    return q.record_name(level, metric, operation)


def _rec(name: str, expr: str) -> dict[str, Any]:
    return {"record": name, "expr": expr}


def _by_cohort_rate(selector: str, w: str) -> str:
    return f"sum by (cohort) (rate({selector}[{w}]))"


def _joined_rate(selector: str, w: str, by: str = "cohort") -> str:
    return f"sum by ({by}) (\n  {q.with_cohort(f'rate({selector}[{w}])')}\n)"


def _joined_increase(selector: str, w: str, by: str = "cohort") -> str:
    return f"sum by ({by}) (\n  {q.with_cohort(f'increase({selector}[{w}])')}\n)"


def traffic_windows(inputs: RuleInputs) -> list[str]:
    """Every window the HTTP request ratios are recorded over, shortest first."""
    wanted = {*q.BURN_WINDOWS, inputs.window, q.TREND_SHORT, q.TREND_LONG}
    return sorted(wanted, key=q.seconds)


def phase_windows(inputs: RuleInputs) -> list[str]:
    return sorted(
        {p.duration for p in inputs.phases if q.seconds(p.duration) > 0}, key=q.seconds
    )


def recording_rules(inputs: RuleInputs) -> list[dict[str, Any]]:
    w = inputs.window
    rules: list[dict[str, Any]] = []
    for win in traffic_windows(inputs):
        total = requests_rate(win)
        rules.append(_rec(total, _by_cohort_rate(q.REQUESTS, win)))
        for status_class in ("5xx", "4xx"):
            selector = f'{q.REQUESTS}{{status_class="{status_class}"}}'
            rules.append(_rec(class_ratio(status_class, win),
                              ratio(_by_cohort_rate(selector, win), total)))
    for win in sorted({w, q.TREND_SHORT, q.TREND_LONG}, key=q.seconds):
        rates = q.select_endpoints(q.DURATION_BUCKET, inputs.critical_endpoints, win)
        rules.append(_rec(latency_p95(win), (
            f"histogram_quantile(0.95,\n  sum by (cohort, method, route, le) {rates}\n)"
        )))
    rules.append(_rec(requests_increase(w), f"sum by (cohort) (increase({q.REQUESTS}[{w}]))"))
    rules.append(_rec(endpoint_requests_increase(w),
                      f"sum by (cohort, method, route) (increase({q.REQUESTS}[{w}]))"))
    rules.append(_rec(named("auth_failures", f"ratio_rate{w}"),
                      ratio(_joined_rate(q.AUTH_FAILURES, w), requests_rate(w))))
    captures_rate = named("payment_captures", f"rate{w}")
    rules.append(_rec(captures_rate, _joined_rate(q.PAYMENT_CAPTURES, w)))
    rules.append(_rec(named("payment_captures", f"increase{w}"),
                      _joined_increase(q.PAYMENT_CAPTURES, w)))
    rules.append(_rec(named("payment_capture_failures", f"ratio_rate{w}"), ratio(
        _joined_rate(f'{q.PAYMENT_CAPTURES}{{outcome="failed"}}', w), captures_rate)))
    rules.append(_rec(named("waf_rule_hits", f"ratio_rate{w}"),
                      ratio(_joined_rate(q.WAF_HITS, w), requests_rate(w))))
    rules.append(_rec(named("waf_rule_hits_high_severity", f"increase{w}", "cohort_rule"),
                      _joined_increase(f'{q.WAF_HITS}{{severity="high"}}', w, "cohort, rule")))
    started_rate = named("signup_started_student", f"rate{w}")
    student = '{role="student"}'
    rules.append(_rec(started_rate, _joined_rate(q.SIGNUP_STARTED + student, w)))
    rules.append(_rec(named("signup_started_student", f"increase{w}"),
                      _joined_increase(q.SIGNUP_STARTED + student, w)))
    rules.append(_rec(named("signup_completion_student", f"ratio_rate{w}"),
                      ratio(_joined_rate(q.SIGNUP_COMPLETED + student, w), started_rate)))
    rules.append(_rec(named("time_to_value_seconds", f"p80_rate{w}"), (
        "histogram_quantile(0.80,\n"
        f"  {_joined_rate(q.TTV_BUCKET, w, 'cohort, le')}\n)"
    )))
    rules.append(_rec(named("time_to_value", f"increase{w}"),
                      _joined_increase(q.TTV_BUCKET.replace("_bucket", "_count"), w)))
    rules.extend(_schema_records(w))
    for win in phase_windows(inputs):
        rules.append(_rec(class_increase("5xx", win), (
            f'sum by (cohort) (increase({q.REQUESTS}{{status_class="5xx"}}[{win}]))'
        )))
        if win != w:
            rules.append(_rec(requests_increase(win),
                              f"sum by (cohort) (increase({q.REQUESTS}[{win}]))"))
    return rules


def schema_ratio(w: str) -> str:
    return q.record_name("cohort_endpoint", "synthetic_schema_failures", f"ratio_rate{w}")


def schema_checked_increase(w: str) -> str:
    return q.record_name("cohort", "synthetic_critical_requests", f"increase{w}")


def _schema_records(w: str) -> list[dict[str, Any]]:
    """Schema failures per critical endpoint, from the monitor's own metrics."""
    by = q.CLIENT_ENDPOINT
    checked = f"{q.CLIENT_REQUESTS}{{{q.CLIENT_CRITICAL}}}"
    failed = f"{q.SCHEMA_FAILURES}{{{q.CLIENT_CRITICAL}}}"
    rules = []
    for win in sorted({w, q.TREND_SHORT, q.TREND_LONG}, key=q.seconds):
        denominator = f"sum by ({by}) (rate({checked}[{win}]))"
        rules.append(_rec(schema_ratio(win),
                          ratio(f"sum by ({by}) (rate({failed}[{win}]))", denominator)))
    rules.append(_rec(schema_checked_increase(w), f"sum by (cohort) (increase({checked}[{w}]))"))
    return rules
