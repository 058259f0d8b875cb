"""End to end with a real Prometheus: two sandboxes (control healthy, canary failing 30% of
signups), Prometheus scraping both every second and evaluating `synthmon rules`, a small
bounded load on loopback; then `synthmon gate --prometheus`, with the shipped
canary-policy.yaml unchanged (200 signups per cohort before the criterion may decide), must
say rollback because of signup completion, and the generated alert must fire on the same
real series. Measured on the shared two-core machine (load average 6): 364 signups per
cohort in the 40 s window, the whole test 65 s."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_processes import (
    SignupLoad,
    firing_alerts,
    prometheus,
    query,
    sandbox,
    wait_for_targets,
)

from synthmon.policy import load_policy
from synthmon.rules import build_rules, to_yaml

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "canary-policy.yaml"  # the shipped policy, unchanged
# The gate's window. Its PromQL counts signups over the last 40 s before it asks (the end
# of the window plus the last suite run): the load starts a few seconds in and goes on
# until the gate answers.
WINDOW = "40s"
# The policy asks for 200 started student signups per cohort in the window before the
# signup criterion may decide: 5 a second. The load aims at twice that (10 calls a second
# per cohort, nine of ten signups), from 4 threads per cohort on one shared schedule, so a
# slow signup on a busy two-core machine (the gate's own suite runs at the same time) does
# not lower the rate. Bounded: at most MAX_REQUESTS per cohort and LOAD_SECONDS.
PER_SECOND = 10
THREADS = 4
MAX_REQUESTS = 800  # per cohort
LOAD_SECONDS = 75


@pytest.mark.slow
def test_gate_reads_prometheus_and_rolls_back_on_signup_completion(tmp_path: Path) -> None:
    policy_path = POLICY
    policy = load_policy(policy_path)
    needed = policy.criterion("signup_completion").min_samples
    rule_file = tmp_path / "synthmon-rules.yml"
    # A 1m window instead of 15m: the same rules, on the data this test has.
    rule_file.write_text(to_yaml(build_rules(policy, window="1m")), encoding="utf-8")
    with contextlib.ExitStack() as stack:
        control = stack.enter_context(sandbox(tmp_path, "control", "--cohort", "control"))
        canary = stack.enter_context(sandbox(tmp_path, "canary", "--cohort", "canary",
                                             "--fault", "signup-failures:rate=0.3"))
        prom = stack.enter_context(prometheus(tmp_path, {"control": control, "canary": canary},
                                              rule_file))
        wait_for_targets(prom, {"control", "canary"})
        loads = [SignupLoad({cohort: url}, max_requests=MAX_REQUESTS, max_seconds=LOAD_SECONDS,
                            per_second=PER_SECOND, delay_s=4, threads=THREADS)
                 for cohort, url in (("control", control), ("canary", canary))]
        for load in loads:
            load.start()
            stack.callback(load.join, 10)
            stack.callback(load.stop.set)
        gate = subprocess.run(
            [sys.executable, "-m", "synthmon.cli", "gate", "--canary", canary, "--control",
             control, "--phase", "5", "--window", WINDOW, "--prometheus", prom,
             "--out", str(tmp_path / "decision"), "--policy", str(policy_path)],
            cwd=REPO, capture_output=True, text=True, timeout=150, check=False)
        for load in loads:
            load.stop.set()
        alerts = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
                a["labels"]["alertname"] == "CanarySignupCompletionDrop" for a in alerts):
            alerts = firing_alerts(prom)
            time.sleep(1)
        started = query(prom, 'sum by (cohort) (scholarshipai_signup_started_total)')

    report = gate.stdout + gate.stderr
    assert all(sum(load.sent.values()) <= MAX_REQUESTS for load in loads), "bounded load"
    assert {s["metric"]["cohort"]: float(s["value"][1]) >= needed for s in started} == \
        {"canary": True, "control": True}, f"too few signups for the criterion: {started}"
    decision = json.loads((tmp_path / "decision" / "decision.json").read_text())
    load_seen = [(load.sent, load.statuses) for load in loads]
    assert gate.returncode == 1, f"{report}\nload sent and statuses: {load_seen}"
    assert decision["verdict"] == "rollback"
    assert "signup_completion" in decision["tripped"], decision["tripped"]
    signup = next(c for c in decision["criteria"] if c["id"] == "signup_completion")
    assert signup["min_samples"] == needed == 200, "the shipped policy's minimum, not a copy's"
    assert min(signup["samples"].values()) >= needed, signup["samples"]
    assert any("scholarshipai_signup_completed_total" in q for q in signup["evidence"]["promql"])
    assert signup["canary_value"] < 0.85  # about 0.7: 30% of signups fail
    # The same signal through the generated alerting rules, on the real series.
    fired = {(a["labels"]["alertname"], a["labels"].get("cohort")) for a in alerts}
    assert ("CanarySignupCompletionDrop", "canary") in fired, fired
