"""The decision function on constructed Sample lists: each fault trips its own criterion,
healthy says go, short data says hold with how much more it needs."""

import dataclasses
from pathlib import Path

import pytest
from factory import make_samples

from synthmon.gate.decide import evaluate
from synthmon.gate.model import Baseline, BaselineEndpoint, GateInput
from synthmon.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = {"http_5xx_rate", "http_4xx_non_user_rate", "latency_p95_regression",
             "latency_p95_critical", "schema_failure_rate", "auth_error_rate"}


@pytest.fixture(scope="module")
def policy():
    return load_policy(ROOT / "canary-policy.yaml")


def gate(policy, canary, control, elapsed=120.0, baseline=None, only=None):
    inp = GateInput(canary=canary, control=control, elapsed_s=elapsed, phase="25",
                    traffic_share=0.25, phase_duration_s=3600, window_s=elapsed,
                    baseline=baseline)
    return evaluate(policy, inp, only=only)


def test_healthy_vs_healthy_is_go_and_says_what_it_did_not_evaluate(policy):
    d = gate(policy, make_samples(2400, "canary", 2), make_samples(2400, "control", 3))
    assert d.verdict == "go" and d.exit_code == 0
    assert all(d.by_id(i).verdict == "go" for i in SYNTHETIC)
    assert d.by_id("signup_completion").verdict == "not_applicable"
    assert "NOT evaluated" in d.summary and "signup_completion" in d.summary


@pytest.mark.parametrize(("fault", "criterion"), [
    ({"error_rate": 0.015, "n": 2400}, "http_5xx_rate"),
    ({"extra_ms": 6.0}, "latency_p95_regression"),
    ({"extra_ms": 200.0}, "latency_p95_critical"),
    ({"schema_rate": 0.3, "schema_route": "/api/v1/scholarships"}, "schema_failure_rate"),
    ({"auth_rate": 0.5}, "auth_error_rate"),
])
def test_each_fault_trips_its_criterion(policy, fault, criterion):
    n = fault.pop("n", 1200)
    d = gate(policy, make_samples(n, "canary", 2, **fault), make_samples(n, "control", 3))
    assert d.verdict == "rollback" and d.exit_code == 1
    assert criterion in d.tripped(), d.summary
    result = d.by_id(criterion)
    assert result.evidence.get("synthetic_ids"), "a tripped criterion names synthetic ids"


def _slower(samples, route, extra_ms):
    return [dataclasses.replace(s, total_ms=s.total_ms + extra_ms) if s.route == route else s
            for s in samples]


def test_an_endpoint_with_a_larger_budget_is_held_to_its_budget(policy):
    """Login hashes passwords: its budget_ms is over the criterion's threshold, so a 200 ms
    login keeps its promise where a 200 ms search breaks it (the rules page on the same
    limits, Policy.p95_limits_ms)."""
    threshold = next(c.threshold for c in policy.criteria if c.id == "latency_p95_critical")
    limits = policy.p95_limits_ms(threshold)
    login, search = "/api/v1/auth/login", "/api/v1/scholarships"
    assert limits[f"POST {login}"] > 200 > threshold == limits[f"GET {search}"]
    control = make_samples(1200, "control", 3)
    only = {"latency_p95_critical"}

    def verdict(route, extra_ms):
        d = gate(policy, _slower(make_samples(1200, "canary", 2), route, extra_ms), control,
                 only=only)
        return d.by_id("latency_p95_critical")

    assert verdict(login, 190).verdict == "go"
    assert verdict(search, 190).verdict == "rollback"
    over = verdict(login, limits[f"POST {login}"] + 100)
    assert over.verdict == "rollback" and f"> {limits[f'POST {login}']:g} ms" in over.reason


def test_one_slow_sample_cannot_decide_alone(policy):
    canary = make_samples(600, "canary", 2)
    canary[0] = canary[0].__class__(**{**canary[0].to_dict(), "total_ms": 5000.0})
    d = gate(policy, canary, make_samples(600, "control", 3))
    assert d.by_id("latency_p95_regression").verdict == "go"
    assert d.by_id("latency_p95_critical").verdict == "go"


def test_short_window_holds_and_says_how_much_more(policy):
    d = gate(policy, make_samples(60, "canary", 2), make_samples(60, "control", 3), elapsed=20)
    assert d.verdict == "hold" and d.exit_code == 2
    r = d.by_id("http_5xx_rate")
    assert r.verdict == "hold" and r.needs["requests"] == 2000 - 60
    assert r.needs["minutes"] == pytest.approx(1940 / 180, abs=0.05)
    assert "more" in r.reason


def test_a_trip_wins_over_short_data(policy):
    d = gate(policy, make_samples(400, "canary", 2, auth_rate=0.9)[:250],
             make_samples(250, "control", 3))
    assert d.verdict == "rollback" and "auth_error_rate" in d.tripped()


def test_no_samples_at_all_is_hold_never_go(policy):
    d = gate(policy, [], [])
    assert d.verdict == "hold"
    assert all(r.verdict in ("hold", "not_applicable") for r in d.criteria)


def test_vs_baseline_uses_the_baseline_and_falls_back_to_control(policy):
    canary, control = make_samples(600, "canary", 2), make_samples(600, "control", 3)
    d = gate(policy, canary, control)
    r = d.by_id("latency_p95_regression")
    assert r.reference == "control" and "no baseline" in r.evidence["reference_note"]
    # A baseline twice as fast as today's control: the canary is 'slower than baseline'
    # by the ratio, but the distribution test against the control does not confirm it.
    fast = Baseline(path="b.json", endpoints={
        f"{m} {route}": BaselineEndpoint(p95_ms=7.0, count=100)
        for m, route in {(s.method, s.route) for s in control}})
    r = gate(policy, canary, control, baseline=fast).by_id("latency_p95_regression")
    assert r.reference == "baseline" and r.reference_value == pytest.approx(7.0)
    assert r.bound["p95_ratio"] > 1.3 and r.verdict == "go"
    slow_canary = make_samples(600, "canary", 2, extra_ms=8)
    r = gate(policy, slow_canary, control, baseline=fast).by_id("latency_p95_regression")
    assert r.verdict == "rollback"


def test_decision_stays_within_the_false_rollback_budget_on_healthy_resamples(policy):
    trips = 0
    for seed in range(60):
        d = gate(policy, make_samples(2000, "canary", 100 + seed),
                 make_samples(2000, "control", 500 + seed))
        trips += d.verdict == "rollback"
    assert trips <= 1


def test_latency_with_too_few_runs_holds_saying_how_many_more_runs(policy):
    # 210 calls each, but only 6 suite runs per cohort (35 calls a run): calls of one run
    # are not independent, so even a clear per-call slowdown waits for 8 runs per cohort.
    canary = make_samples(210, "canary", 2, extra_ms=8)
    d = gate(policy, canary, make_samples(210, "control", 3), elapsed=60,
             only={"latency_p95_regression"})
    r = d.by_id("latency_p95_regression")
    assert r.verdict == "hold" and r.needs["runs"] == 2
    assert "needs 2 more runs" in r.reason and r.samples["canary_runs"] == 6
    assert r.needs["minutes"] == pytest.approx(2 / 6, abs=0.05)
    # Two more runs each and the same slowdown is proved on run medians.
    d = gate(policy, make_samples(280, "canary", 2, extra_ms=8),
             make_samples(280, "control", 3), only={"latency_p95_regression"})
    r = d.by_id("latency_p95_regression")
    assert r.verdict == "rollback" and "run medians (8 canary vs 8 control" in \
        r.evidence["distribution_test"]


def test_the_run_level_test_needs_enough_runs_to_reach_alpha(policy):
    from synthmon import stats
    # 8 per cohort: the smallest p Mann-Whitney can give is far below the per-test alpha.
    assert stats.mann_whitney_smallest_p(8, 8) < 1 - stats.per_test_confidence(0.01, 6)
    assert stats.mann_whitney_smallest_p(4, 4) == pytest.approx(1 / 70)


def _unreachable(samples):
    from dataclasses import replace

    return [replace(s, status=None, schema_ok=None, error_type="no-answer")
            for s in samples]


def test_a_canary_failing_every_call_rolls_back_before_the_minimum_sample(policy):
    # One run's worth of calls, all refused: the exact bound already clears 0.3%, so waiting
    # for the policy's 2000 requests would only keep a dead canary in traffic longer.
    canary = _unreachable(make_samples(46, "canary", 2))
    d = gate(policy, canary, make_samples(46, "control", 3), elapsed=5.0)
    assert d.verdict == "rollback" and d.exit_code == 1, d.summary
    no_answer = d.by_id("no_answer_rate")
    assert no_answer.verdict == "rollback" and "46/46" in no_answer.reason
    assert "no-answer x46" in no_answer.reason
    # ...under its own name: a call nobody answered is not a 5xx
    assert d.by_id("http_5xx_rate").verdict != "rollback"
    assert "ROLLBACK: no_answer_rate (canary no-answer rate 46/46" in d.summary


def test_a_canary_past_its_deadline_rolls_back_as_one_that_does_not_answer(policy):
    from dataclasses import replace

    canary = [replace(s, status=None, schema_ok=None, error_type="deadline")
              for s in make_samples(46, "canary", 2)]
    d = gate(policy, canary, make_samples(46, "control", 3), elapsed=5.0)
    assert d.by_id("no_answer_rate").verdict == "rollback", d.summary
    assert "deadline x46" in d.by_id("no_answer_rate").reason


def test_a_few_failures_below_the_minimum_sample_still_hold(policy):
    # 1 failure in 46 does not clear the bound: short data stays hold, never go.
    canary = make_samples(46, "canary", 2)
    canary[5:6] = _unreachable(canary[5:6])
    d = gate(policy, canary, make_samples(46, "control", 3), elapsed=5.0)
    assert d.by_id("no_answer_rate").verdict == "hold", d.by_id("no_answer_rate").reason
    assert d.verdict == "hold"


def test_an_unreachable_control_holds_even_when_the_canary_fails(policy):
    both_down = gate(policy, _unreachable(make_samples(46, "canary", 2)),
                     _unreachable(make_samples(46, "control", 3)), elapsed=5.0)
    assert both_down.verdict == "hold" and both_down.exit_code == 2, both_down.summary
    assert "control answered none of its 46 requests" in both_down.summary
    assert "no-answer x46" in both_down.summary


def test_a_control_that_cannot_complete_its_calls_either_holds_naming_the_control(policy):
    canary = _unreachable(make_samples(46, "canary", 2))
    control = make_samples(46, "control", 3)
    control[:20] = _unreachable(control[:20])  # it answers some, not all
    d = gate(policy, canary, control, elapsed=5.0)
    r = d.by_id("no_answer_rate")
    assert r.verdict == "hold" and d.verdict == "hold", d.summary
    assert r.reason.startswith("the control could not complete 20/46 calls either "
                               "(no-answer x20)"), r.reason


def test_only_criteria_marked_early_rollback_decide_before_their_minimum(policy):
    # Every call refused with 401: the auth and 4xx criteria have no early_rollback in the
    # policy, so they hold for their minimum; they then trip together (as the A/B runs
    # expect), rather than whichever bound happens to clear first on a few calls.
    assert policy.criterion("http_5xx_rate").early_rollback
    assert not policy.criterion("auth_error_rate").early_rollback
    d = gate(policy, make_samples(46, "canary", 2, auth_rate=1.0),
             make_samples(46, "control", 3), elapsed=5.0)
    assert d.by_id("auth_error_rate").verdict == "hold"
    assert d.by_id("http_4xx_non_user_rate").verdict == "hold"
