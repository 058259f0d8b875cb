"""The monitor's own verdicts, with a scripted runner: a skipped check is never a success
(states, metrics, state file, exit status), an unreachable target is one state with one
message and leaves the checks' streaks alone, and every run has a bounded reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthmon.monitor.backoff import confirmation_backoff
from synthmon.monitor.loop import Monitor, MonitorConfig
from synthmon.monitor.metrics import Identity, MonitorMetrics
from synthmon.monitor.reasons import REASONS
from synthmon.monitor.results import TARGET_CHECK, Call, CheckResult, RunResult

FLOW = "tests/synthetic/test_b2c.py::test_flow"
HEALTH = "tests/synthetic/test_health.py::test_health_is_ok"
IDENTITY = Identity(region="eu-west-1", target="canary", cohort="canary")


@dataclass
class Script:
    """outcome(call index, check) -> passed | failed | skipped | unreachable | crash."""

    outcome: Callable[[int, str], str]
    checks: Sequence[str] = (FLOW, HEALTH)
    calls: list[list[str] | None] = field(default_factory=list)

    def run(self, node_ids: Sequence[str] | None, run_dir: Path) -> RunResult:
        index = len(self.calls)
        self.calls.append(list(node_ids) if node_ids is not None else None)
        run_dir.mkdir(parents=True, exist_ok=True)
        selected = list(node_ids) if node_ids is not None else list(self.checks)
        kinds = {check: self.outcome(index, check) for check in selected}
        if "crash" in kinds.values():
            output = run_dir / "pytest-output.txt"
            output.write_text("ERROR: --target nope: neither an http(s) URL nor a target\n")
            return RunResult(exit_code=4, error="pytest exited with 4 and wrote nothing",
                             output=output, duration_s=0.01)
        unreachable = "unreachable" in kinds.values()
        checks, calls = {}, []
        for n, (check, kind) in enumerate(kinds.items()):
            outcome = "failed" if kind == "unreachable" else kind
            sid = f"syn-{index}-{n}"
            checks[check] = CheckResult(check, outcome, 0.05, f"{outcome} because", True,
                                        (sid,), (sid,) if outcome == "failed" else ())
            calls.append(Call(check, sid, f"trace-{sid}", not unreachable, False,
                              "ConnectionError" if unreachable else None))
        return RunResult(checks=checks, exit_code=0, duration_s=0.01, calls=tuple(calls))

    def abort(self) -> None:
        pass


class Events(list):
    def __call__(self, event: str, fields: dict) -> None:
        self.append((event, fields))

    def named(self, name: str) -> list[dict]:
        return [f for e, f in self if e == name]


def monitor(tmp_path: Path, script: Script, iterations: int) -> tuple[Monitor, Events]:
    events = Events()
    config = MonitorConfig(interval=0.2, iterations=iterations, reports_root=tmp_path,
                           backoff=confirmation_backoff(0.2, retries=1, base_s=0.01))
    return Monitor(script, config, metrics=MonitorMetrics(identity=IDENTITY),
                   emit=events), events


def value(m: Monitor, name: str, **labels: str) -> float | None:
    return m.metrics.registry.get_sample_value(name, {**labels, **IDENTITY.labels()})


def test_a_skipped_critical_check_is_never_counted_as_success(tmp_path: Path) -> None:
    # the flow passes once, then skips (its credential was removed)
    script = Script(lambda i, c: "skipped" if c == FLOW and i >= 1 else "passed")
    m, events = monitor(tmp_path, script, iterations=3)
    assert m.run() == 1, "a critical check skipped at the end is no success"
    # monitor: its own state, with the skip's reason, and no confirmation re-runs
    moves = [(f["from"], f["to"], f["reason"]) for f in events.named("transition")
             if f["check"] == FLOW]
    assert moves == [("ok", "skipped", "skipped: skipped because")]
    assert script.calls == [None, None, None]
    # metrics: state skipped (status 3), the last success frozen at the first cycle's pass
    assert value(m, "synthmon_check_state", check=FLOW, state="skipped") == 1
    assert value(m, "synthmon_check_state", check=FLOW, state="ok") == 0
    assert value(m, "synthmon_check_status", check=FLOW) == 3
    first_pass = value(m, "synthmon_check_last_success_timestamp_seconds", check=FLOW)
    health_pass = value(m, "synthmon_check_last_success_timestamp_seconds", check=HEALTH)
    assert first_pass is not None and health_pass is not None and first_pass < health_pass
    assert value(m, "synthmon_check_skipped_cycles", check=FLOW, critical="true") == 2
    assert value(m, "synthmon_check_failing_cycles", check=FLOW, critical="true") == 0
    assert value(m, "synthmon_monitor_last_run_checks", outcome="skipped") == 1
    assert value(m, "synthmon_monitor_last_run_checks", outcome="passed") == 1
    assert value(m, "synthmon_monitor_last_run_reason", reason="checks-skipped") == 1
    # summary: the state file, the cycle's and the monitor's last word
    state = json.loads((tmp_path / "monitor-state.json").read_text())
    assert state["checks"][FLOW] == "skipped" and state["last_run_reason"] == "checks-skipped"
    assert events.named("cycle_finished")[-1]["skipped"] == [FLOW]
    assert events.named("monitor_stopped")[-1]["skipped"] == [FLOW]


def test_a_skip_then_a_pass_returns_to_ok(tmp_path: Path) -> None:
    script = Script(lambda i, c: "skipped" if c == FLOW and i == 0 else "passed")
    m, _ = monitor(tmp_path, script, iterations=2)
    assert m.run() == 0
    assert value(m, "synthmon_check_skipped_cycles", check=FLOW, critical="true") == 0
    assert value(m, "synthmon_check_status", check=FLOW) == 0


def test_an_unreachable_target_is_one_state_with_one_message(tmp_path: Path) -> None:
    # cycle 1 fine; cycles 2 and 3 the target never answers; cycle 4 it is back
    def outcome(i: int, check: str) -> str:
        return "unreachable" if 1 <= i <= 3 else "passed"  # calls 1-2 cycle 2, 3 cycle 3

    script = Script(outcome)
    m, events = monitor(tmp_path, script, iterations=4)
    m.run()
    moves = [(f["check"], f["from"], f["to"]) for f in events.named("transition")]
    assert moves == [(TARGET_CHECK, "ok", "degraded"), (TARGET_CHECK, "degraded", "failing"),
                     (TARGET_CHECK, "failing", "recovered")], moves
    failing = next(f for f in events.named("transition") if f["to"] == "failing")
    assert "the target cannot be reached: ConnectionError on every call" in failing["reason"]
    # the confirmation re-run of an unreachable run is a full run
    assert script.calls[:3] == [None, None, None]
    reasons = [f["reason"] for f in events.named("run_finished")]
    assert reasons.count("target-unreachable") == 3 and reasons[-1] == "ok"


def test_unreachable_cycles_count_while_check_streaks_stand_still(tmp_path: Path) -> None:
    # the flow fails (confirmed) in cycle 1, then the target is gone for two cycles
    def outcome(i: int, check: str) -> str:
        if i <= 1:
            return "failed" if check == FLOW else "passed"
        return "unreachable"

    m, _ = monitor(tmp_path, Script(outcome), iterations=3)
    m.run()
    assert value(m, "synthmon_target_unreachable_cycles") == 2  # cycles 2 and 3
    assert value(m, "synthmon_target_up") == 0
    assert value(m, "synthmon_check_failing_cycles", check=FLOW, critical="true") == 1
    assert value(m, "synthmon_check_last_failure_info", check=TARGET_CHECK,
                 synthetic_id="syn-4-1", trace_id="trace-syn-4-1") == 1


def test_the_latest_failing_runs_ids_replace_the_previous_ones(tmp_path: Path) -> None:
    m, _ = monitor(tmp_path, Script(lambda i, c: "failed" if c == FLOW else "passed"), 2)
    m.run()
    ids = [s.labels for f in m.metrics.registry.collect()
           if f.name == "synthmon_check_last_failure_info" for s in f.samples
           if s.labels["check"] == FLOW]
    assert len(ids) == 1, "one series per check, not one per failing run"
    assert ids[0]["synthetic_id"] == "syn-2-0" and ids[0]["trace_id"] == "trace-syn-2-0"


def test_a_run_pytest_refused_has_its_reason_and_keeps_its_output(tmp_path: Path) -> None:
    m, events = monitor(tmp_path, Script(lambda i, c: "crash"), iterations=1)
    m.run()
    run = events.named("run_finished")[0]
    assert run["reason"] == "usage-error"
    assert "neither an http(s) URL nor a target" in run["why"]
    kept = Path(run["pytest_output"])
    assert kept == tmp_path / "last-run-output.txt" and "ERROR: --target nope" in kept.read_text()
    assert value(m, "synthmon_monitor_last_run_reason", reason="usage-error") == 1
    assert value(m, "synthmon_monitor_runs_total", kind="scheduled", reason="usage-error") == 1
    # every reason is a series from the start: the set is bounded and known
    for reason in REASONS:
        assert value(m, "synthmon_monitor_last_run_reason", reason=reason) is not None


def test_every_series_carries_region_target_and_cohort(tmp_path: Path) -> None:
    m, _ = monitor(tmp_path, Script(lambda i, c: "passed"), iterations=1)
    m.run()
    families = list(m.metrics.registry.collect())
    assert families
    for family in families:
        for sample in family.samples:
            assert {k: sample.labels.get(k) for k in ("region", "target", "cohort")} == (
                IDENTITY.labels()), (family.name, sample.labels)
    assert value(m, "synthmon_monitor_last_run_timestamp_seconds") > 0
