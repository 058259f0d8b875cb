"""promtool checks the generated rules, and unit-tests them: input series -> expected alerts.

Every scenario's numbers are derived from the policy's thresholds (three times over, a
third under), so the tests follow the policy instead of repeating it. Each scenario pairs
a case that must page with a near miss that must not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from promtool_support import Scenario, promtool, promtool_test_doc, run_promtool_test

from synthmon import durations
from synthmon.rules.model import RuleInputs

CANARY = {"cohort": "canary"}
CONTROL = {"cohort": "control"}
SEARCH = {"method": "GET", "route": "/api/v1/scholarships"}
W = 15  # minutes the rolling-window scenarios run before they are evaluated (policy: 15m)


def test_promtool_check_rules_accepts_the_generated_file(rule_file: Path) -> None:
    result = subprocess.run([promtool(), "check", "rules", str(rule_file)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _two_instances(name: str, minutes: int) -> Scenario:
    return Scenario(name, minutes).instance("canary").instance("control")


def _five_xx(inputs: RuleInputs) -> list[Scenario]:
    c = inputs.criterion("http_5xx_rate")
    over, under = 1000 * c.threshold * 3, 1000 * c.threshold / 3
    few = c.min_samples / W / 4  # 2xx and 5xx together: half the minimum sample
    return [
        _two_instances("5xx over the threshold pages", 30)
        .requests("canary", 1000).requests("canary", over, "5xx").requests("control", 1000)
        .expect(20, "CanaryHigh5xxRate", CANARY),
        _two_instances("5xx under the threshold does not page", 30)
        .requests("canary", 1000).requests("canary", under, "5xx").requests("control", 1000)
        .expect(20, "CanaryHigh5xxRate"),
        _two_instances("5xx on too few requests does not page", 30)
        .requests("canary", few).requests("canary", few, "5xx").requests("control", 1000)
        .expect(20, "CanaryHigh5xxRate"),
    ]


def _no_answer(inputs: RuleInputs) -> list[Scenario]:
    """The monitor's own request counter (OTLP): calls without a complete answer carry
    synthmon_error_type; a control failing as well does not page."""
    c = inputs.criterion("no_answer_rate")
    calls = c.min_samples / W * 2
    metric = "http_client_request_duration_seconds_count"
    scenarios = []
    for name, canary_bad, control_bad, expected in (
        ("a canary without complete answers pages", 5, 0, [CANARY]),
        ("a control failing as well does not page", 5, 5, []),
        ("a few no-answers under the threshold do not page", c.threshold / 3, 0, []),
    ):
        s = Scenario(name, 30)
        for cohort, bad in (("canary", canary_bad), ("control", control_bad)):
            s.add(metric, {"cohort": cohort}, s.counter((calls, 30)))
            s.add(metric, {"cohort": cohort, "synthmon_error_type": "deadline"},
                  s.counter((calls * c.threshold * bad, 30)))
        scenarios.append(s.expect(20, "CanaryNoCompleteAnswers", *expected))
    return scenarios


def _four_xx(inputs: RuleInputs) -> list[Scenario]:
    c = inputs.criterion("http_4xx_non_user_rate")
    base, excess = 1000 * c.threshold, 1000 * c.threshold * 2
    return [
        _two_instances("4xx well above the control's pages", 30)
        .requests("canary", 1000).requests("canary", base + excess, "4xx")
        .requests("control", 1000).requests("control", base, "4xx")
        .expect(20, "CanaryHigh4xxRate", CANARY),
        _two_instances("4xx at the control's level (user errors) does not page", 30)
        .requests("canary", 1000).requests("canary", base + excess, "4xx")
        .requests("control", 1000).requests("control", base + excess, "4xx")
        .expect(20, "CanaryHigh4xxRate"),
        _two_instances("4xx on a canary whose control has none at all still pages", 30)
        .requests("canary", 1000).requests("canary", excess, "4xx").requests("control", 1000)
        .expect(20, "CanaryHigh4xxRate", CANARY),
    ]


def _latency_histogram(s: Scenario, cohort: str, by_le: dict[str, float],
                       endpoint: dict[str, str] = SEARCH) -> Scenario:
    labels = {**{"cohort": cohort}, **endpoint, "synthetic": "false",
              "instance": f"{cohort}:8000", "job": "scholarshipai"}
    return s.histogram("scholarshipai_http_request_duration_seconds", labels, by_le, 100) \
        .requests(cohort, 100, **endpoint)


FAST = {"0.1": 100, "0.12": 100, "0.15": 100, "0.25": 100}  # P95 ~ 0.095 s
NEAR_SLO = {"0.1": 0, "0.12": 10, "0.15": 100, "0.25": 100}  # P95 ~ 0.148 s
SLOW = {"0.1": 0, "0.12": 0, "0.15": 10, "0.25": 100}  # P95 ~ 0.244 s
SLOWER = {"0.1": 0, "0.12": 0, "0.15": 0, "0.25": 10, "0.5": 100}  # P95 ~ 0.486 s
LOGIN = {"method": "POST", "route": "/api/v1/auth/login"}
SIGNUP = {"method": "POST", "route": "/api/v1/auth/signup"}
SIGNUP_ENDPOINT = "POST /api/v1/auth/signup"


def _latency(inputs: RuleInputs) -> list[Scenario]:
    assert inputs.criterion("latency_p95_critical").threshold == 150, "scenarios assume 150 ms"
    assert inputs.latency_slo_ms == 120, "the buckets below straddle the 120 ms SLO"
    metrics = {"method": "GET", "route": "/metrics"}  # not a critical endpoint
    slow = _two_instances("a slow critical endpoint pages twice; a slow /metrics does not", 30)
    _latency_histogram(slow, "canary", SLOW)
    _latency_histogram(slow, "control", FAST)
    _latency_histogram(slow, "canary", SLOW, metrics)
    _latency_histogram(slow, "control", FAST, metrics)
    slow.expect(20, "CanaryLatencyP95OverLimit", {**CANARY, **SEARCH, "limit_ms": "150"})
    slow.expect(20, "CanaryLatencyP95Regression", {**CANARY, **SEARCH})
    # Login's budget_ms is over the criterion's threshold: it is held to its budget, as the
    # gate holds it (Policy.p95_limits_ms), so a P95 between the two pages nobody.
    login_limit = inputs.p95_limits_ms[f"{LOGIN['method']} {LOGIN['route']}"]
    assert 250 < login_limit < 490, "SLOW's P95 (~244 ms) is under it, SLOWER's (~486 ms) over"
    login = _two_instances("a login slower than 150 ms but within its budget does not page; "
                           "one over its budget does", 30)
    _latency_histogram(login, "canary", SLOW, LOGIN)
    _latency_histogram(login, "control", SLOW, LOGIN)
    _latency_histogram(login, "canary", SLOWER, SIGNUP)
    _latency_histogram(login, "control", SLOWER, SIGNUP)
    login.expect(20, "CanaryLatencyP95OverLimit",
                 {**CANARY, **SIGNUP, "limit_ms": f"{inputs.p95_limits_ms[SIGNUP_ENDPOINT]:g}"})
    near = _two_instances("P95 between the SLO and the limit opens a ticket, no page", 60)
    _latency_histogram(near, "canary", NEAR_SLO)
    _latency_histogram(near, "control", NEAR_SLO)
    near.expect(50, "CanaryLatencyP95OverLimit")
    near.expect(50, "CanaryLatencyP95Regression")
    near.expect(50, "LatencyP95AboveSLO", {**CANARY, **SEARCH, "trend": "latency"},
                {**CONTROL, **SEARCH, "trend": "latency"})
    return [slow, login, near]


def _cohortless(inputs: RuleInputs) -> list[Scenario]:
    auth = inputs.criterion("auth_error_rate").threshold
    pay = inputs.criterion("payment_capture_failures").threshold
    waf = inputs.criterion("waf_hits").threshold
    signup = inputs.criterion("signup_completion").threshold
    fails = {"reason": "invalid-token", "synthetic": "false"}

    def base(name: str) -> Scenario:
        return _two_instances(name, 30).requests("canary", 1000).requests("control", 1000)

    def fam(s: Scenario, metric: str, cohort: str, labels: dict[str, str], rate: float) -> None:
        s.family(f"scholarshipai_{metric}", cohort, labels, ((rate, 30),))

    scenarios = []
    for name, canary_rate, expected in (
        ("auth errors far above the control's page", 1000 * auth * 4, [CANARY]),
        ("auth errors a little above the control's do not page", 1000 * auth * 0.8, []),
    ):
        s = base(name)
        fam(s, "auth_failures_total", "canary", fails, canary_rate)
        fam(s, "auth_failures_total", "control", fails, 1)
        scenarios.append(s.expect(20, "CanaryAuthErrorRate", *expected))
    for name, failed, expected in (
        ("payment capture failures over the threshold page", 100 * pay * 3, [CANARY]),
        ("payment capture failures under the threshold do not", 100 * pay / 3, []),
    ):
        s = base(name)
        fam(s, "payment_captures_total", "canary", {"outcome": "captured", "synthetic": "false"},
            100)
        fam(s, "payment_captures_total", "canary", {"outcome": "failed", "synthetic": "false"},
            failed)
        scenarios.append(s.expect(20, "CanaryPaymentCaptureFailures", *expected))
    medium = {"rule": "xss-reflected", "severity": "medium", "synthetic": "false"}
    for name, factor, expected in (
        ("WAF hits well above the control's page", 1 + waf * 2, [CANARY]),
        ("WAF hits a little above the control's do not", 1 + waf / 2, []),
    ):
        s = base(name)
        fam(s, "waf_rule_hits_total", "canary", medium, 10 * factor)
        fam(s, "waf_rule_hits_total", "control", medium, 10)
        scenarios.append(s.expect(20, "CanaryWafHitsSpike", *expected))
    high = {"rule": "sqli-union", "severity": "high", "synthetic": "false"}
    s = base("a high-severity WAF rule only the canary trips pages")
    fam(s, "waf_rule_hits_total", "canary", high, 1)
    scenarios.append(s.expect(20, "CanaryNewHighSeverityFinding",
                              {**CANARY, "rule": "sqli-union"}))
    s = base("a high-severity WAF rule both cohorts trip is not new")
    fam(s, "waf_rule_hits_total", "canary", high, 1)
    fam(s, "waf_rule_hits_total", "control", high, 1)
    scenarios.append(s.expect(20, "CanaryNewHighSeverityFinding"))
    student = {"role": "student", "synthetic": "false"}
    for name, completion, expected in (
        ("signup completion well below the control's pages", 1 - signup * 3, [CANARY]),
        ("signup completion a little below the control's does not", 1 - signup / 2, []),
    ):
        s = base(name)
        for cohort, share in (("canary", completion), ("control", 1.0)):
            fam(s, "signup_started_total", cohort, student, 20)
            fam(s, "signup_completed_total", cohort, student, 20 * share)
        scenarios.append(s.expect(20, "CanarySignupCompletionDrop", *expected))
    return scenarios


def _time_to_value(inputs: RuleInputs) -> list[Scenario]:
    assert inputs.criterion("time_to_value_p80").threshold < 1.0
    slow_ttv = {"1": 0, "5": 0, "30": 0, "60": 10}  # P80 ~ 54 s
    fast_ttv = {"1": 0, "5": 0, "30": 10, "60": 10}  # P80 ~ 25 s
    scenarios = []
    for name, canary, expected in (
        ("time-to-value P80 far above the control's pages", slow_ttv, [CANARY]),
        ("time-to-value P80 like the control's does not", fast_ttv, []),
    ):
        s = _two_instances(name, 30)
        for cohort, by_le in (("canary", canary), ("control", fast_ttv)):
            s.histogram("scholarshipai_time_to_value_seconds",
                        {"cohort": cohort, "synthetic": "false", "instance": f"{cohort}:8000",
                         "job": "scholarshipai"}, by_le, 10)
        scenarios.append(s.expect(20, "CanaryTimeToValueRegression", *expected))
    return scenarios


def _schema(inputs: RuleInputs) -> list[Scenario]:
    c = inputs.criterion("schema_failure_rate")
    labels = {"cohort": "canary", "http_request_method": "GET",
              "url_template": "/api/v1/scholarships", "synthmon_critical": "true"}
    calls = c.min_samples / W * 2
    page = Scenario("schema failures on a critical endpoint page", 30)
    page.add("http_client_request_duration_seconds_count", labels, page.counter((calls, 30)))
    page.add("synthmon_schema_failures_total", labels,
             page.counter((calls * c.threshold * 5, 30)))
    noncritical = {**labels, "synthmon_critical": "false", "url_template": "/metrics"}
    page.add("http_client_request_duration_seconds_count", noncritical, page.counter((calls, 30)))
    page.add("synthmon_schema_failures_total", noncritical, page.counter((calls, 30)))
    page.expect(20, "CanarySchemaFailures",
                {"cohort": "canary", "http_request_method": "GET",
                 "url_template": "/api/v1/scholarships"})
    quiet = Scenario("calls without schema failures do not page", 30)
    quiet.add("http_client_request_duration_seconds_count", labels, quiet.counter((calls, 30)))
    quiet.expect(20, "CanarySchemaFailures")
    return [page, quiet]


def _error_budget(inputs: RuleInputs) -> list[Scenario]:
    """A 5% canary: 26 h of history, then its last 30 min all 5xx (or 10% 5xx)."""
    day, tail = 1530, 30
    phases = [{"phase": p.name, "window": p.duration} for p in inputs.phases
              if p.duration != "0m"]
    scenarios = []
    for name, errors, expected in (
        ("a canary answering 5xx for a whole phase burns >10% of the weekly budget",
         50, [{**CANARY, **p} for p in phases]),
        ("a canary with 10% 5xx on 5% of traffic stays under 10% of the budget", 5, []),
    ):
        s = Scenario(name, day + tail, step=5).instance("canary").instance("control")
        s.requests("control", 950)
        s.requests("canary", 0, segments=((50, day), (50 - errors, tail)))
        s.requests("canary", 0, "5xx", segments=((0, day), (errors, tail)))
        scenarios.append(s.expect(day + tail, "CanaryErrorBudgetPhaseBurn", *expected))
    return scenarios


def _burn_labels(inputs: RuleInputs, slo: str) -> list[dict[str, str]]:
    """The policy's burn windows for one SLO as alert labels, fastest (largest rate) first;
    the burn rates are the SRE workbook's budget-fraction formula over the budget period."""
    period = durations.parse(inputs.budget_period)
    pairs = inputs.alerting.availability_burn if slo == "availability" else \
        inputs.alerting.latency_burn
    labels = [{"slo": slo, "long_window": p.long, "short_window": p.short,
               "burn_rate": f"{p.factor(period):.3g}", "_factor": p.factor(period)}
              for p in pairs]
    return sorted(labels, key=lambda b: -float(b["_factor"]))


def _without_factor(labels: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in labels.items() if k != "_factor"}


def test_burn_rates_follow_the_budget_period(inputs: RuleInputs) -> None:
    # the workbook's 2% of a 30-day budget in 1 h is 14.4x; the same share of a week: 3.36x
    from synthmon.alerting.settings import BurnWindow
    assert BurnWindow("1h", "5m", 0.02, "page").factor(30 * 86400) == pytest.approx(14.4)
    assert BurnWindow("1h", "5m", 0.02, "page").factor(7 * 86400) == pytest.approx(3.36)
    rates = [float(b["burn_rate"]) for b in _burn_labels(inputs, "availability")]
    assert rates == sorted(rates, reverse=True) and min(rates) > 1, (
        "a ticket below 1x would fire on a week that stays within its budget")


def _slo_burn(inputs: RuleInputs) -> list[Scenario]:
    allowed = 1 - inputs.availability
    fastest, *slower = _burn_labels(inputs, "availability")
    # between the two fastest rates: every window but the fastest one fires
    steady_rate = (float(fastest["_factor"]) + float(slower[0]["_factor"])) / 2
    steady = 1000 * allowed * steady_rate
    s1 = Scenario(f"a steady {steady_rate:.3g}x burn alerts on every window but the fastest",
                  420)
    s1.requests("control", 1000 - steady).requests("control", steady, "5xx")
    s1.expect(420, "ErrorBudgetBurn", *({**CONTROL, **_without_factor(b)} for b in slower))
    fast_rate = float(fastest["_factor"]) * 2
    fast = 1000 * allowed * fast_rate
    s2 = Scenario("a fast burn that stopped 10 min ago: the short window resets the fast page",
                  70)
    s2.requests("control", 0, segments=((1000 - fast, 60), (1000, 10)))
    s2.requests("control", 0, "5xx", segments=((fast, 60), (0, 10)))
    s2.expect(70, "ErrorBudgetBurn", *({**CONTROL, **_without_factor(b)} for b in slower))
    s3 = Scenario("a fast burn still going pages at the fastest rate", 70)
    s3.requests("control", 1000 - fast).requests("control", fast, "5xx")
    s3.expect(70, "ErrorBudgetBurn",
              *({**CONTROL, **_without_factor(b)} for b in (fastest, *slower)))
    # the traffic floor: a canary with a trickle of requests, half of them 5xx, never burns
    floor = inputs.alerting.burn_min_requests
    trickle = floor / 420 / 4  # per minute, 2xx and 5xx each: half the floor in 7 h
    s4 = Scenario("a canary failing half of a trickle of requests is under the traffic floor",
                  420)
    s4.requests("control", 1000).requests("canary", trickle).requests("canary", trickle, "5xx")
    s4.expect(420, "ErrorBudgetBurn")
    return [s1, s2, s3, s4]


def _latency_burn(inputs: RuleInputs) -> list[Scenario]:
    """Share of critical requests slower than the SLO's latency (the 0.12 bucket)."""
    assert inputs.latency_slo_ms == 120, "the buckets below straddle the 120 ms SLO"
    allowed = inputs.latency_slo.threshold
    fastest, *slower = _burn_labels(inputs, "latency")
    scenarios = []
    for name, slow_share, expected in (
        ("most requests slower than the SLO burn the latency budget fast: page and ticket",
         min(0.95, allowed * float(fastest["_factor"]) * 1.5), [fastest, *slower]),
        ("a few more slow requests than allowed: ticket only",
         allowed * (float(fastest["_factor"]) + float(slower[0]["_factor"])) / 2, slower),
        ("slow requests within the allowance: nothing", allowed / 2, []),
    ):
        fast_share = 1 - slow_share
        s = _two_instances(name, 150)
        by_le = {"0.1": 100 * fast_share, "0.12": 100 * fast_share, "0.15": 100, "0.25": 100}
        _latency_histogram(s, "canary", by_le)
        _latency_histogram(s, "control", FAST)
        s.expect(150, "LatencyBudgetBurn",
                 *({**CANARY, **_without_factor(b)} for b in expected))
        scenarios.append(s)
    return scenarios


def _trends(inputs: RuleInputs) -> list[Scenario]:
    """A day at one level, then 45 min at a higher one: tickets after their 15 min `for`."""
    day, tail = 1440, 45
    scenarios = []
    for status_class, criterion in (("4xx", "http_4xx_non_user_rate"), ("5xx", "http_5xx_rate")):
        floor = inputs.criterion(criterion).threshold / 2
        before, after = 1000 * floor / 2, 1000 * floor * 2
        s = Scenario(f"{status_class} rising to 4x its daily level opens a ticket", day + tail,
                     step=5)
        s.requests("control", 0, segments=((1000 - before, day), (1000 - after, tail)))
        s.requests("control", 0, status_class, segments=((before, day), (after, tail)))
        s.expect(day + tail, f"Rising{status_class}Rate", {**CONTROL, "trend": status_class})
        flat = Scenario(f"{status_class} flat at its daily level opens no ticket", day + tail,
                        step=5)
        flat.requests("control", 1000 - after).requests("control", after, status_class)
        flat.expect(day + tail, f"Rising{status_class}Rate")
        scenarios += [s, flat]
    labels = {"cohort": "canary", "http_request_method": "GET",
              "url_template": "/api/v1/scholarships", "synthmon_critical": "true"}
    schema = Scenario("schema failures appearing on an endpoint open a ticket", day + tail,
                      step=5)
    schema.add("http_client_request_duration_seconds_count", labels,
               schema.counter((20, day + tail)))
    schema.add("synthmon_schema_failures_total", labels, schema.counter((0, day), (1, tail)))
    schema.expect(day + tail, "RisingSchemaFailures",
                  {**{k: v for k, v in labels.items() if k != "synthmon_critical"},
                   "trend": "schema"})
    slower = Scenario("P95 of a critical endpoint rising well above its day opens a ticket",
                      day + tail, step=5)
    hist = {"cohort": "control", **SEARCH, "synthetic": "false", "instance": "control:8000",
            "job": "scholarshipai"}
    for le in ("0.1", "0.12", "0.15", "0.25", "+Inf"):
        slower.add("scholarshipai_http_request_duration_seconds_bucket", {**hist, "le": le},
                   slower.counter((FAST.get(le, 100), day), (SLOW.get(le, 100), tail)))
    slower.requests("control", 100, **SEARCH)
    slower.expect(day + tail, "RisingLatencyP95", {**CONTROL, **SEARCH, "trend": "latency"})
    return [*scenarios, schema, slower]


GROUPS = {
    "5xx": _five_xx, "no_answer": _no_answer, "4xx": _four_xx, "latency": _latency,
    "cohortless": _cohortless,
    "time_to_value": _time_to_value, "schema": _schema, "error_budget": _error_budget,
    "slo_burn": _slo_burn, "latency_burn": _latency_burn, "trends": _trends,
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_promtool_unit_tests(group: str, inputs: RuleInputs, rules: dict[str, Any],
                             rule_file: Path, tmp_path: Path) -> None:
    scenarios = GROUPS[group](inputs)
    doc = promtool_test_doc(rules, rule_file, scenarios)
    result = run_promtool_test(tmp_path / f"{group}.test.yml", doc)
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"
    assert "SUCCESS" in result.stdout


def test_every_rollback_criterion_of_the_policy_has_a_page(
        rules: dict[str, Any], inputs: RuleInputs) -> None:
    paged = {rule["labels"]["criterion"] for group in rules["groups"] for rule in group["rules"]
             if rule.get("labels", {}).get("severity") == "page" and "criterion" in rule["labels"]}
    assert paged == set(inputs.criteria), "criteria without a page (or pages without criteria)"


def test_the_scenarios_cover_every_alert(rules: dict[str, Any], inputs: RuleInputs) -> None:
    tested = {alertname for make in GROUPS.values() for s in make(inputs)
              for _, alertname, _ in s.expectations}
    # the synthetic monitor's and the gate's alerts have their own scenarios
    # (test_synthetic_promtool.py, test_gate_promtool.py)
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]
              if "alert" in rule and rule["labels"].get("component") not in ("synthetic", "gate")}
    untested = alerts - tested
    assert not untested, f"alerts no promtool scenario exercises: {sorted(untested)}"
