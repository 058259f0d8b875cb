"""The run-level latency verdict: single slow calls stay degraded, a slow run fails, named.

The rule on hand-made samples, then whole suite runs against a target three times over its
budgets and one whose bodies trail the headers by 400 ms (both under every hard limit, so
every check passes and only the run's verdict can fail them), and one healthy run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_harness import REPO, run_suite, sandbox

from synthmon.policy import load_policy
from synthmon.suite.run_latency import RunLatencyRule, judge

RULE = RunLatencyRule(median_ratio_limit=1.0, min_calls=10, min_endpoint_calls=3)
SCOPE = ("-m", "health or b2c")  # enough critical calls (>= min_calls) in a few seconds


def call(endpoint: str, total_ms: float, budget_ms: float = 150, critical: bool = True,
         ttfb_ms: float | None = None, status: int | None = 200) -> dict[str, object]:
    method, route = endpoint.split(" ", 1)
    return {"method": method, "route": route, "total_ms": total_ms, "budget_ms": budget_ms,
            "critical": critical, "ttfb_ms": ttfb_ms, "status": status}


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


@pytest.mark.slow
@pytest.mark.parametrize("faults, slow_endpoint", [
    pytest.param(tuple(over_budget_faults(3.0)), "GET /api/v1/scholarships median", id="3x"),
    # the API's answers (/health's 500 ms hard limit would fail its check by itself)
    pytest.param(("slow-body:ms=400,route=/api/v1/*",), "GET /api/v1/scholarships median",
                 id="body-400ms"),
])
def test_a_systematic_slowdown_fails_the_run(faults, slow_endpoint):
    with sandbox(*faults) as url:
        run = run_suite(url, *SCOPE)
    assert run.returncode == 1, run.output
    assert "FAILED tests/" not in run.output, "every call is under its hard limit:\n" + run.output
    assert "FAILED run latency: the run is slow: the median critical call took" in run.output
    assert slow_endpoint in run.output and "over its 150 ms budget" in run.output


def test_a_healthy_run_passes_with_its_verdict_shown(tmp_path: Path):
    with sandbox() as url:
        run = run_suite(url, *SCOPE)
    assert run.passed, run.output
    assert "run latency ok: the median critical call took" in run.output
