"""`synthmon rules` as SRE runs it: the file it writes, and a broken policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthmon.policy import load_policy
from synthmon.rules import build_rules, to_yaml

REPO = Path(__file__).resolve().parents[2]


def rules(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synthmon.cli", "rules", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_out_writes_exactly_the_generated_rules(tmp_path: Path) -> None:
    out = tmp_path / "synthmon.yml"
    done = rules("--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == to_yaml(build_rules(load_policy(REPO / "canary-policy.yaml")))
    assert done.stdout == ""


def test_stdout_and_a_window_override() -> None:
    done = rules("--window", "10m")
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    names = {r.get("record") for g in doc["groups"] for r in g["rules"]}
    assert "cohort:synthmon_http_5xx_rate:ratio10m" in names
    assert "cohort:synthmon_http_5xx_rate:ratio15m" not in names


def test_a_policy_without_a_criterion_fails_with_its_name(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text())
    data["criteria"] = [c for c in data["criteria"] if c["id"] != "signup_completion"]
    policy = tmp_path / "canary-policy.yaml"
    policy.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "schemas").mkdir()
    schema = REPO / "schemas" / "canary-policy.schema.json"
    (tmp_path / "schemas" / schema.name).write_text(schema.read_text())
    done = rules("--policy", str(policy))
    assert done.returncode == 1
    assert "signup_completion" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("window", "message"), [
    ("soon", "'soon' is not a duration"),
    ("", "'' is not a duration"),
    ("999999d", "'999999d' is outside 10s..1d"),
])
def test_a_bad_window_is_a_sentence(window: str, message: str) -> None:
    done = rules("--window", window)
    assert done.returncode == 2  # a usage error
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_fractional_window_is_written_as_promql_takes_it() -> None:
    done = rules("--window", "1.5m")
    assert done.returncode == 0, done.stderr
    assert "[90s]" in done.stdout and "1.5m" not in done.stdout


def test_time_scale_shrinks_every_window_and_for_but_no_threshold(tmp_path: Path) -> None:
    out = tmp_path / "scaled.yml"
    done = rules("--time-scale", "0.1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "TIME-SCALED by 0.1" in text.splitlines()[2]
    scaled = yaml.safe_load(text)
    plain = build_rules(load_policy(REPO / "canary-policy.yaml"))
    pairs = [(a, b) for ga, gb in zip(plain["groups"], scaled["groups"], strict=True)
             for a, b in zip(ga["rules"], gb["rules"], strict=True)]
    assert pairs and all(a.get("record") == b.get("record") and a.get("alert") == b.get("alert")
                         for a, b in pairs)
    budget = next(b for a, b in pairs
                  if a.get("record", "").endswith("error_budget_burn:denominator1h"))
    assert "[6m]" in budget["expr"] and "[1h]" not in budget["expr"], budget
    fors = {(a["alert"], a["for"], b["for"]) for a, b in pairs if "for" in a}
    assert ("SyntheticProbeLocationFailing", "5m", "30s") in fors
    # thresholds are untouched: the same comparison constants on both sides
    burn = [(a, b) for a, b in pairs if a.get("alert") == "ErrorBudgetBurn"]
    assert all(a["expr"].split(" > ")[1].split()[0] == b["expr"].split(" > ")[1].split()[0]
               for a, b in burn)
    import shutil
    checked = subprocess.run([shutil.which("promtool") or "promtool", "check", "rules", str(out)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_bad_time_scale_is_a_sentence() -> None:
    done = rules("--time-scale", "0")
    assert done.returncode == 2 and "--time-scale" in done.stderr
    assert "Traceback" not in done.stderr


def _policy_with(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text())
    change(data)
    policy = tmp_path / "canary-policy.yaml"
    policy.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "schemas").mkdir()
    schema = REPO / "schemas" / "canary-policy.schema.json"
    (tmp_path / "schemas" / schema.name).write_text(schema.read_text())
    return policy


def test_a_gate_failing_window_too_short_for_its_count_is_a_sentence(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, lambda d: d["alerting"]["gate"].update(
        failing_window="2m", failing_evaluations=3))
    done = rules("--policy", str(policy))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "alerting.gate.failing_window: 2m holds fewer than failing_evaluations (3)" in (
        done.stderr)


def test_the_gate_and_its_absent_alert_share_one_stale_time(tmp_path: Path) -> None:
    """gate.stale_intervals is written once: gate serve's stale time and the rules' tolerance
    for a gate nobody scrapes both follow it."""
    policy = load_policy(_policy_with(tmp_path, lambda d: d["gate"].update(stale_intervals=5)))
    stale_after = policy.gate_stale_after_s()
    assert stale_after == 5 * policy.gate["watch_interval_s"] + policy.gate["run_timeout_s"]
    absent = [rule for group in build_rules(policy)["groups"] for rule in group["rules"]
              if rule.get("alert") == "GateStale" and rule["expr"].startswith("absent(")]
    assert [rule["for"] for rule in absent] == [f"{stale_after / 60:g}m"]


def test_a_gate_not_always_running_has_no_absent_page(tmp_path: Path) -> None:
    policy = load_policy(_policy_with(tmp_path, lambda d: d["alerting"]["gate"].update(
        expected=False)))
    forms = {(rule["alert"], rule["labels"].get("reason")) for group in
             build_rules(policy)["groups"] for rule in group["rules"]
             if rule.get("labels", {}).get("component") == "gate"}
    assert forms == {("GateVerdictRollback", None), ("GateStale", "stale"),
                     ("GateEvaluationsFailing", None)}
