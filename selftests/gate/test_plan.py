"""`synthmon gate plan`: what each phase can detect. The figures are checked against the gate's
own decision rules by simulation (what the plan says is caught 9 times in 10 is caught about
9 times in 10, and a smaller effect is not), and the command plans every phase of the
shipped policy, saying which criteria cannot decide within a phase."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from factory import make_samples

from synthmon import stats
from synthmon.cli import main
from synthmon.gate import power
from synthmon.history import HistoryStore
from synthmon.run_context import RunContext

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 2000


def caught(n: int, rate: float, threshold: float, confidence: float, seed: int = 11) -> float:
    """How often the gate's own bound (exact, as the policy says) rolls back on Bin(n, rate)."""
    draws = np.random.default_rng(seed).binomial(n, rate, TRIALS)
    lower = {x: stats.rate_bounds(int(x), n, confidence, "exact")[0] for x in set(draws)}
    return float(np.mean([lower[x] > threshold for x in draws]))


def test_the_detectable_rate_is_caught_nine_times_in_ten_and_a_smaller_one_is_not():
    n, threshold, confidence = 2000, 0.003, 1 - 0.01 / 6
    rate = power.detectable_rate(n, threshold, confidence, "exact")
    assert rate is not None and 0.009 < rate < 0.011  # the policy's comment: about 1% at 2000
    assert 0.87 <= caught(n, rate, threshold, confidence) <= 0.95
    assert caught(n, (rate + threshold) / 2, threshold, confidence) < 0.8
    assert power.detectable_rate(50, threshold, confidence, "exact") is not None
    assert power.detectable_rate(1, 0.5, 0.999, "exact") is None  # no outcome can prove it


def test_the_detectable_share_over_a_latency_limit_matches_the_order_statistic_bound():
    n, confidence, limit = 60, 0.999, 150.0
    share = power.detectable_share_over(n, 0.95, confidence)
    assert share is not None and share > 0.05
    rng = np.random.default_rng(5)

    def rolled_back(fraction: float) -> float:
        hits = 0
        for _ in range(600):
            values = np.where(rng.random(n) < fraction, limit * 2, limit / 2)
            lower, _upper = stats.quantile_bounds(list(values), 0.95, confidence)
            hits += lower is not None and lower > limit
        return hits / 600

    assert 0.85 <= rolled_back(share) <= 0.95
    assert rolled_back((share + 0.05) / 2) < 0.7


def test_the_mann_whitney_shift_has_its_power_on_fresh_draws():
    runs, alpha = 8, 0.01 / 6
    shift = power.mann_whitney_shift(runs, alpha)
    assert shift is not None and 1.5 < shift < 4
    assert power.mann_whitney_shift(4, alpha) is None  # 1/C(8,4) is above alpha: undecidable
    from scipy import stats as st

    rng = np.random.default_rng(99)
    p = st.mannwhitneyu(rng.standard_normal((1000, runs)) + shift,
                        rng.standard_normal((1000, runs)), alternative="greater", axis=1,
                        method="exact").pvalue
    assert np.mean(p < alpha) >= 0.85


def _history_with_runs(path: Path) -> Path:
    """Paced runs as the monitor records them in the last hour: 35 calls a run, runs 30 s
    apart, each call 0.1 s after the one before."""
    store = HistoryStore(path)
    samples = make_samples(35 * 12, "control", 3)
    for number in range(12):
        run = samples[number * 35:(number + 1) * 35]
        started = time.time() - 3600 + number * 30
        run = [type(s).from_dict({**s.to_dict(), "started_at": started + i * 0.1,
                                  "run_id": f"run-{number}"}) for i, s in enumerate(run)]
        store.append(RunContext(f"run-{number}", "http://127.0.0.1:1", "url", "control",
                                "local", "desktop", "b", "abcdef1", "sandbox", started), run)
    return path


def test_gate_plan_plans_every_phase_of_the_shipped_policy(tmp_path):
    history = _history_with_runs(tmp_path / "history.sqlite")
    result = CliRunner().invoke(main, ["gate", "plan", "--traffic", "200", "--history",
                                       str(history), "--policy",
                                       str(ROOT / "canary-policy.yaml")])
    assert result.exit_code == 2, result.output  # phase 100 cannot decide anything
    out = result.output
    for phase in ("5", "25", "50", "bake", "100"):
        assert f"Phase {phase}: " in out
    assert "phase 100 has no duration" in out
    assert "payment_capture_failures  not applicable in phase 5" in out
    assert "is caught 9 times in 10" in out and "runs per cohort" in out
    # every metric of the shipped policy has a planner (a new criterion must bring its own)
    assert "no plan for metric" not in out, out
    as_json = CliRunner().invoke(main, ["gate", "plan", "--phase", "25", "--traffic", "200",
                                        "--history", str(history), "--json", "--policy",
                                        str(ROOT / "canary-policy.yaml")])
    plan = json.loads(as_json.output)[0]
    rows = {r["id"]: r for r in plan["criteria"]}
    assert plan["phase"] == "25" and plan["window_s"] == 900 and plan["power"] == 0.9
    five = rows["http_5xx_rate"]
    assert five["verdict"] in ("can_decide", "cannot_decide") and five["samples"] > 0
    burn = rows["error_budget_burn"]
    assert burn["verdict"] == "can_decide" and burn["samples"] == 200 * 0.25 * 900
    assert rows["signup_completion"]["verdict"] == "unknown"  # needs Prometheus's rate
    assert rows["no_answer_rate"]["samples"] == five["samples"]  # counted in calls, as 5xx
    assert as_json.exit_code == (2 if plan["cannot_decide"] else 0)


def test_gate_plan_refuses_an_unknown_phase_with_exit_3(tmp_path):
    result = CliRunner().invoke(main, ["gate", "plan", "--phase", "7"])
    assert result.exit_code == 3 and "no such phase" in result.output
