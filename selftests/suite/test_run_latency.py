"""The run-level latency verdict: single slow calls stay degraded, a slow run fails, named.

The rule on hand-made samples, then whole suite runs against a target three times over its
budgets and one whose bodies trail the headers by 400 ms (both under every hard limit, so
every check passes and only the run's verdict can fail them), one healthy run, and one too
short to judge. Where results are read (summary.json's checks, junit.xml) the verdict is the
critical check synthmon::run_latency: failing on a slow run, passing on a healthy one, absent
when there were too few calls to judge.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from suite_harness import REPO, latest_summary, run_suite, sandbox

from synthmon.policy import load_policy
from synthmon.reports.run_verdicts import run_verdicts
from synthmon.run_verdict_names import RUN_LATENCY_CHECK
from synthmon.suite.run_latency import RunLatencyRule, judge

RULE = RunLatencyRule(median_ratio_limit=1.0, min_calls=10, min_endpoint_calls=3)
# enough critical calls (>= min_calls) in a few seconds; the browser checks judge themselves
SCOPE = ("-m", "(health or b2c) and not browser")


def call(endpoint: str, total_ms: float, budget_ms: float = 150, critical: bool = True,
         ttfb_ms: float | None = None, status: int | None = 200,
         synthetic_id: str = "run.check.1") -> dict[str, object]:
    method, route = endpoint.split(" ", 1)
    return {"method": method, "route": route, "total_ms": total_ms, "budget_ms": budget_ms,
            "critical": critical, "ttfb_ms": ttfb_ms, "status": status,
            "synthetic_id": synthetic_id}


def test_single_slow_calls_do_not_fail_the_run():
    calls = [call("GET /a", 5) for _ in range(20)] + [call("GET /b", 900), call("GET /b", 4),
                                                      call("GET /b", 3)]
    verdict = judge(calls, RULE)
    assert not verdict.failed and verdict.calls == 23, verdict.reason


def test_most_calls_over_budget_fail_the_run_naming_the_endpoints():
    calls = [call("GET /a", 450, ttfb_ms=3) for _ in range(8)] + [
        call("POST /b", 900, budget_ms=300) for _ in range(4)]
    verdict = judge(calls, RULE)
    assert verdict.failed and verdict.median_ratio == pytest.approx(3.0)
    assert "the median critical call took 3.0x its budget over 12 calls" in verdict.reason
    assert "GET /a median 450 ms over its 150 ms budget (3.0x, TTFB 3 ms, 8 calls)" \
        in verdict.reason
    assert "POST /b median 900 ms over its 300 ms budget" in verdict.reason


def test_one_endpoint_slow_on_most_calls_fails_even_when_the_run_median_is_fine():
    calls = [call("GET /a", 5) for _ in range(30)] + [call("GET /slow", 400) for _ in range(3)]
    verdict = judge(calls, RULE)
    assert verdict.failed and [e.endpoint for e in verdict.slow] == ["GET /slow"]
    assert "1 critical endpoint(s) over budget on most calls" in verdict.reason


def test_a_fresh_connection_s_set_up_is_not_the_service_s_time():
    fresh = {**call("GET /a", 400), "phases": {"dns": 1, "connect": 50, "tls": 300,
                                                 "ttfb": 45, "transfer": 4}}
    verdict = judge([fresh] * 12, RULE)
    assert not verdict.failed and verdict.median_ratio == pytest.approx(49 / 150)


def test_too_few_calls_and_non_critical_ones_give_no_run_failure():
    assert not judge([call("GET /a", 450) for _ in range(2)], RULE).failed
    assert not judge([call("GET /a", 450, critical=False) for _ in range(40)], RULE).failed
    assert not judge([call("GET /a", 0.0, status=None) for _ in range(40)], RULE).failed


def test_a_verdict_is_judged_only_with_enough_calls_for_one_of_the_rules():
    assert not judge([call("GET /a", 5), call("GET /b", 5)], RULE).judged
    assert judge([call(f"GET /{n}", 5) for n in range(10)], RULE).judged  # min_calls
    assert judge([call("GET /a", 5) for _ in range(3)], RULE).judged  # min_endpoint_calls
    # critical calls that got no answer, or calls that are not critical, judge nothing
    assert not judge([call("GET /a", 5, status=None) for _ in range(40)], RULE).judged
    assert not judge([call("GET /a", 5, critical=False) for _ in range(40)], RULE).judged


def test_a_slow_endpoint_names_its_slowest_call_to_look_up():
    calls = [call("GET /slow", ms, synthetic_id=f"run.check.{ms}") for ms in (400, 900, 500)]
    verdict = judge(calls, RULE)
    assert [e.slowest_synthetic_id for e in verdict.slow] == ["run.check.900"]
    assert verdict.to_dict()["slow_endpoints"][0]["slowest_synthetic_id"] == "run.check.900"


def test_only_a_judged_verdict_is_listed_as_the_critical_check_run_latency():
    slow = judge([call("GET /slow", ms, synthetic_id=f"run.check.{ms}") for ms in (400, 900, 500)],
                 RULE).to_dict()
    [listed] = run_verdicts(slow)
    assert (listed.nodeid, listed.outcome, listed.critical) == (RUN_LATENCY_CHECK, "failed", True)
    assert listed.message is not None and listed.message.startswith("the run is slow")
    assert listed.failed_synthetic_ids == ["run.check.900"]
    [healthy] = run_verdicts(judge([call("GET /a", 5) for _ in range(12)], RULE).to_dict())
    assert (healthy.outcome, healthy.message, healthy.failed_synthetic_ids) == ("passed", None, [])
    assert run_verdicts(judge([call("GET /a", 450)], RULE).to_dict()) == []
    assert run_verdicts(None) == []


def test_the_policy_holds_the_rule():
    rule = RunLatencyRule.from_policy(load_policy(REPO / "canary-policy.yaml"))
    assert rule.median_ratio_limit > 0 and rule.min_calls >= 1


def over_budget_faults(factor: float) -> list[str]:
    """latency faults that make every critical route take `factor` times its budget."""
    budgets = load_policy(REPO / "canary-policy.yaml").data["budgets"]["endpoints"]
    per_route: dict[str, float] = {}
    for endpoint, budget in budgets.items():
        route = endpoint.split(" ", 1)[1]
        per_route[route] = min(per_route.get(route, budget["budget_ms"]), budget["budget_ms"])
    return [f"latency:ms={int(factor * ms)},route={route}" for route, ms in per_route.items()]


def _listed(reports: Path) -> tuple[dict[str, Any], dict[str, Any] | None, ET.Element | None]:
    """(summary.json, its synthmon::run_latency check, junit.xml's testcase for it)."""
    summary = latest_summary(reports)
    check = next((c for c in summary["checks"] if c["check"] == RUN_LATENCY_CHECK), None)
    suite = ET.parse(reports / "latest" / "junit.xml").getroot()
    case = next((c for c in suite.iter("testcase")
                 if (c.get("classname"), c.get("name")) == ("synthmon", "run_latency")), None)
    return summary, check, case


@pytest.mark.slow
@pytest.mark.parametrize("faults, slow_endpoint", [
    pytest.param(tuple(over_budget_faults(3.0)), "GET /api/v1/scholarships median", id="3x"),
    # the API's answers (/health's 500 ms hard limit would fail its check by itself)
    pytest.param(("slow-body:ms=400,route=/api/v1/*",), "GET /api/v1/scholarships median",
                 id="body-400ms"),
])
def test_a_systematic_slowdown_fails_the_run(tmp_path: Path, faults, slow_endpoint):
    with sandbox(*faults) as url:
        run = run_suite(url, *SCOPE, reports_dir=str(tmp_path))
    assert run.returncode == 1, run.output
    assert "FAILED tests/" not in run.output, "every call is under its hard limit:\n" + run.output
    assert "FAILED run latency: the run is slow: the median critical call took" in run.output
    assert slow_endpoint in run.output and "over its 150 ms budget" in run.output
    # where results are read, the slow run is a failing critical check, not only an exit code
    summary, check, case = _listed(tmp_path)
    assert check is not None, summary["checks"]
    assert (check["outcome"], check["critical"]) == ("failed", True)
    assert check["message"].startswith("the run is slow") and check["failed_synthetic_ids"]
    assert summary["outcome"] == "failed" and summary["totals"]["failed"] == 1
    assert all(c["outcome"] == "passed" for c in summary["checks"] if c is not check)
    assert case is not None and case.find("failure") is not None
    assert "the run is slow" in (case.find("failure").get("message") or "")
    assert f"failed {RUN_LATENCY_CHECK}: {check['failed_synthetic_ids'][0]}" in run.output


def test_a_healthy_run_passes_with_its_verdict_shown(tmp_path: Path):
    with sandbox() as url:
        run = run_suite(url, *SCOPE, reports_dir=str(tmp_path))
    assert run.passed, run.output
    assert "run latency ok: the median critical call took" in run.output
    summary, check, case = _listed(tmp_path)
    assert check is not None and (check["outcome"], check["critical"]) == ("passed", True)
    assert summary["outcome"] == "passed"
    assert case is not None and case.find("failure") is None and case.find("error") is None


def test_a_run_too_short_to_judge_lists_no_run_latency_check(tmp_path: Path):
    with sandbox(*over_budget_faults(3.0)) as url:  # slow, but one check cannot show it
        run = run_suite(url, "tests/synthetic/test_health.py::test_health_is_ok",
                        reports_dir=str(tmp_path))
    assert run.passed, run.output
    summary, check, case = _listed(tmp_path)
    assert summary["run_latency"] is not None and not summary["run_latency"]["judged"]
    assert "too few to judge" in summary["run_latency"]["reason"]
    assert "run latency not judged: 1 critical call(s), too few to judge" in run.output
    assert check is None and case is None, summary["checks"]
