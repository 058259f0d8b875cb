"""`synthmon gate` end to end against two sandboxes (processes on free loopback ports):
healthy vs healthy is go, each injected fault is rollback naming its criterion, a short
window or a dead Prometheus is hold. The test policy lowers the minimum samples so that
windows of ~20 s can decide (the shipped policy needs minutes: see bench/gate_calibration.py);
everything else is the shipped policy."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthmon.gate import calibration as cal
from synthmon.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_policy(tmp_path_factory):
    data = yaml.safe_load((ROOT / "canary-policy.yaml").read_text())
    for c in data["criteria"]:
        c["min_samples"] = min(c["min_samples"], 120)
    data["gate"]["pacing_s"] = 0.2
    folder = tmp_path_factory.mktemp("policy")
    (folder / "schemas").mkdir()
    (folder / "schemas" / "canary-policy.schema.json").write_text(
        (ROOT / "schemas" / "canary-policy.schema.json").read_text())
    path = folder / "canary-policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def cohorts():
    with cal.sandbox("control") as control, cal.sandbox("canary") as canary:
        yield canary, control


def run_gate(policy, canary, control, tmp_path, window="30s", *extra):
    out = tmp_path / "decision"
    done = subprocess.run(
        [sys.executable, "-m", "synthmon.cli", "gate", "--canary", canary.url, "--control",
         control.url, "--phase", "25", "--window", window, "--out", str(out), "--policy",
         str(policy), "--ledger", str(tmp_path / "approvals.jsonl"), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    decision = json.loads((out / "decision.json").read_text())
    return done, decision, (out / "decision.md").read_text()


def test_healthy_vs_healthy_is_go(test_policy, cohorts, tmp_path):
    canary, control = cohorts
    canary.set_faults([])
    done, decision, md = run_gate(test_policy, canary, control, tmp_path, "22s")
    assert done.returncode == 0, decision["summary"]
    assert decision["verdict"] == "go"
    assert md.startswith("# Gate decision, phase 25: GO")
    assert "Approvals still missing" in md and "sre, eng, pm" in md
    assert "signup_completion" in decision["summary"]  # not evaluated, and said so


@pytest.mark.parametrize(("faults", "criterion"), [
    (["latency:ms=60"], "latency_p95_regression"),
    (["retype-field:field=items.*.amount.value,to=string"], "schema_failure_rate"),
    (["auth-errors"], "auth_error_rate"),
])
def test_a_faulty_canary_is_rollback_naming_the_criterion(test_policy, cohorts, tmp_path,
                                                          faults, criterion):
    canary, control = cohorts
    canary.set_faults(faults)
    try:
        done, decision, md = run_gate(test_policy, canary, control, tmp_path, "18s")
    finally:
        canary.set_faults([])
    assert done.returncode == 1, decision["summary"]
    assert criterion in decision["tripped"]
    row = next(c for c in decision["criteria"] if c["id"] == criterion)
    assert row["evidence"]["synthetic_ids"]
    assert md.startswith("# Gate decision, phase 25: ROLLBACK")


def test_short_window_is_hold_saying_how_much_more(cohorts, tmp_path):
    canary, control = cohorts
    done, decision, _ = run_gate(ROOT / "canary-policy.yaml", canary, control, tmp_path, "3s")
    assert done.returncode == 2 and decision["verdict"] == "hold"
    five = next(c for c in decision["criteria"] if c["id"] == "http_5xx_rate")
    assert five["needs"]["requests"] > 0 and "more" in five["reason"]


def test_unreachable_prometheus_is_hold(test_policy, cohorts, tmp_path):
    canary, control = cohorts
    done, decision, _md = run_gate(test_policy, canary, control, tmp_path, "3s",
                                  "--prometheus", "http://127.0.0.1:9")
    assert done.returncode == 2
    signup = next(c for c in decision["criteria"] if c["id"] == "signup_completion")
    assert signup["verdict"] == "hold" and "unreachable" in signup["reason"]


def test_calibration_aa_false_rollback_rate_from_one_real_window(test_policy, cohorts):
    canary, control = cohorts
    canary.set_faults([])
    policy = load_policy(test_policy)
    window = cal.gather(policy, canary.url, control.url, 20, cwd=ROOT, pacing_s=0.2)
    rate, trips = cal.false_rollback_rate(policy, window, resamples=200)
    print(f"A/A false-rollback rate {rate:.2%} over 200 resampled windows {trips}")
    assert rate <= 0.02, trips
