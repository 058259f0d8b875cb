"""The loop with a scripted runner: states, backoff re-runs, metrics, survival, no overlap."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from monitor_stub import CHECKS, StubRunner
from prometheus_client import generate_latest

from synthmon.backoff import Backoff
from synthmon.monitor.loop import Monitor, MonitorConfig, next_tick
from synthmon.monitor.results import RUN_CHECK, CheckResult
from synthmon.run_verdict_names import RUN_LATENCY_CHECK

HEALTH, SEARCH = CHECKS


class Events(list):
    def __call__(self, event, fields):
        self.append((event, fields))

    def named(self, name):
        return [f for e, f in self if e == name]

    def transitions(self):
        return [(f["check"], f["from"], f["to"]) for f in self.named("transition")]


def make(tmp_path: Path, runner, iterations=4, interval=0.3, retries=3, base=0.01, **kw):
    events = Events()
    config = MonitorConfig(
        interval=interval, iterations=iterations, reports_root=tmp_path / "runs",
        backoff=Backoff(base=base, retries=retries, cap=interval / 2, jitter=0.2), **kw,
    )
    return Monitor(runner, config, emit=events), events


def sample(monitor: Monitor, name: str, **labels) -> float | None:
    """A series of this monitor: its region, target and cohort are on every one."""
    return monitor.metrics.registry.get_sample_value(
        name, {**labels, **monitor.metrics.identity.labels()})


def test_fault_after_first_cycle_is_confirmed_then_recovers(tmp_path):
    # call 0: cycle 1 all green; calls 1..4: cycle 2 (scheduled + 3 re-runs) search fails;
    # call 5: cycle 3 still failing (no re-run needed); from call 6 on the fault is gone.
    runner = StubRunner(failing=lambda i, c: c == SEARCH and 1 <= i <= 5)
    monitor, events = make(tmp_path, runner, iterations=4)
    assert monitor.run() == 0

    assert events.transitions() == [
        (SEARCH, "ok", "degraded"), (SEARCH, "degraded", "failing"),
        (SEARCH, "failing", "recovered"),
    ]
    # the re-runs named only the failing check, with increasing (backed-off) delays
    assert [c.node_ids for c in runner.calls[2:5]] == [[SEARCH]] * 3
    delays = [f["delay_s"] for f in events.named("retry_scheduled")]
    assert len(delays) == 3 and delays[0] < delays[1] < delays[2]
    assert sample(monitor, "synthmon_check_retries_total", check=SEARCH, outcome="failed") == 3
    assert sample(monitor, "synthmon_check_transitions_total", check=SEARCH,
                  from_state="degraded", to_state="failing") == 1
    assert sample(monitor, "synthmon_check_status", check=SEARCH) == 0
    assert sample(monitor, "synthmon_check_state", check=SEARCH, state="recovered") == 1
    assert sample(monitor, "synthmon_check_last_success_timestamp_seconds", check=HEALTH) > 0
    assert sample(monitor, "synthmon_monitor_cycles_total", result="failing") == 2
    state = json.loads((tmp_path / "runs/monitor-state.json").read_text())
    assert state["checks"][SEARCH] == "recovered"
    exposition = (tmp_path / "runs/metrics.prom").read_bytes()
    assert b"synthmon_monitor_scheduler_lag_seconds" in exposition


def test_a_flaky_failure_is_cleared_by_the_first_rerun(tmp_path):
    runner = StubRunner(failing=lambda i, c: c == HEALTH and i == 0)
    monitor, events = make(tmp_path, runner, iterations=1)
    assert monitor.run() == 0
    assert events.transitions() == [(HEALTH, "ok", "degraded"), (HEALTH, "degraded", "ok")]
    assert len(runner.calls) == 2


def test_still_failing_at_the_end_exits_1(tmp_path):
    runner = StubRunner(failing=lambda i, c: c == HEALTH)
    monitor, events = make(tmp_path, runner, iterations=2)
    assert monitor.run() == 1
    assert events.named("monitor_stopped")[0]["failing"] == [HEALTH]
    assert sample(monitor, "synthmon_check_status", check=HEALTH) == 2


def test_no_retries_configured_declares_failing_at_once(tmp_path):
    runner = StubRunner(failing=lambda i, c: c == HEALTH)
    monitor, events = make(tmp_path, runner, iterations=1, retries=0)
    monitor.run()
    assert (HEALTH, "degraded", "failing") in events.transitions()


def test_retries_past_the_next_tick_skip_it_instead_of_overlapping(tmp_path):
    runner = StubRunner(failing=lambda i, c: c == HEALTH and i < 4)
    # delays 0.1, 0.1, 0.1 (capped at half the 0.2 s interval): cycle 1 overruns its tick
    monitor, events = make(tmp_path, runner, iterations=2, interval=0.2, base=0.1)
    monitor.run()
    assert len(events.named("retry_scheduled")) == 3
    assert all(f["delay_s"] <= 0.1 for f in events.named("retry_scheduled"))
    assert (HEALTH, "degraded", "failing") in events.transitions()
    assert sample(monitor, "synthmon_monitor_skipped_ticks_total") >= 1


def test_survives_an_exception_and_a_run_without_results(tmp_path):
    runner = StubRunner(raise_on={0}, empty_on={3})
    monitor, events = make(tmp_path, runner, iterations=3)
    assert monitor.run() == 0
    assert monitor.cycles_run == 3
    assert sample(monitor, "synthmon_monitor_run_errors_total") >= 2
    # the run that raised made the run itself degraded; its re-run (a full run) cleared it
    assert (RUN_CHECK, "ok", "degraded") in events.transitions()
    assert (RUN_CHECK, "degraded", "ok") in events.transitions()
    assert runner.calls[1].node_ids is None


def test_a_bug_in_a_cycle_does_not_end_the_loop(tmp_path, monkeypatch):
    runner = StubRunner()
    monitor, events = make(tmp_path, runner, iterations=2)
    original = monitor._apply_scheduled
    calls = []

    def broken(cycle, result):
        calls.append(cycle)
        if cycle == 1:
            raise KeyError("bug")
        original(cycle, result)

    monkeypatch.setattr(monitor, "_apply_scheduled", broken)
    assert monitor.run() == 0
    assert calls == [1, 2]
    assert events.named("cycle_error")[0]["error"] == "KeyError: 'bug'"


def test_cycles_start_on_the_wall_clock_grid_and_never_overlap(tmp_path):
    starts, active = [], []

    class Slow(StubRunner):
        def run(self, node_ids, reports_dir):
            assert not active, "two runs overlapped"
            active.append(1)
            starts.append(time.time())
            time.sleep(0.25 if len(starts) == 2 else 0.01)  # cycle 2 overruns its tick
            active.pop()
            return super().run(node_ids, reports_dir)

    monitor, _ = make(tmp_path, Slow(), iterations=4, interval=0.2)
    monitor.run()
    for t in starts[1:]:
        assert (t % 0.2) < 0.05 or (t % 0.2) > 0.195  # on the grid, give or take scheduling
    assert sample(monitor, "synthmon_monitor_skipped_ticks_total") >= 1
    assert sample(monitor, "synthmon_monitor_scheduler_lag_seconds") < 0.1


def test_next_tick_is_the_next_multiple():
    assert next_tick(120.0, 60) == 180.0
    assert next_tick(121.5, 60) == 180.0


def test_stop_abandons_the_run_and_ends_the_loop(tmp_path):
    release = threading.Event()

    class Blocking(StubRunner):
        def run(self, node_ids, reports_dir):
            if len(self.calls) == 1:
                release.wait(10)
            return super().run(node_ids, reports_dir)

        def abort(self):
            super().abort()
            release.set()

    runner = Blocking()
    monitor, events = make(tmp_path, runner, iterations=None, interval=0.1)
    thread = threading.Thread(target=monitor.run)
    thread.start()
    time.sleep(0.5)
    monitor.stop("test")
    thread.join(5)
    assert not thread.is_alive()
    assert runner.aborted == 1
    assert events.named("monitor_stopped")[0]["stopped"] is True


@pytest.mark.parametrize("iterations", [None, 0])
def test_config_is_validated(tmp_path, iterations):
    if iterations == 0:
        with pytest.raises(ValueError):
            MonitorConfig(iterations=0)
    with pytest.raises(ValueError):
        MonitorConfig(interval=0)


def test_metrics_exposition_names_the_loop_health(tmp_path):
    monitor, _ = make(tmp_path, StubRunner(), iterations=1)
    monitor.run()
    text = generate_latest(monitor.metrics.registry).decode()
    for name in (
        "synthmon_monitor_run_duration_seconds_bucket",
        "synthmon_monitor_overhead_seconds",
        "synthmon_check_duration_seconds",
        "synthmon_monitor_cycle_duration_seconds",
    ):
        assert name in text


def test_a_wall_clock_step_back_does_not_stall_the_loop(tmp_path):
    offset = [0.0]

    def clock():
        return time.time() + offset[0]

    class Slow(StubRunner):
        def run(self, node_ids, reports_dir):
            time.sleep(0.3)  # overruns the 0.2 s interval: a tick is skipped
            return super().run(node_ids, reports_dir)

    def sink(event, fields):
        if event == "ticks_skipped":
            offset[0] -= 3600.0  # NTP steps the clock an hour back after the next tick is set

    runner = Slow()
    config = MonitorConfig(interval=0.2, iterations=2, reports_root=tmp_path / "runs")
    started = time.monotonic()
    Monitor(runner, config, emit=sink, clock=clock).run()
    assert time.monotonic() - started < 5 and runner.count == 2


class _SlowRuns(StubRunner):
    """Every check passes; the run's own latency verdict (critical) fails on `slow` calls."""

    def __init__(self, slow: Callable[[int], bool]) -> None:
        super().__init__()
        self.slow = slow

    def run(self, node_ids, reports_dir):
        index = self.count
        result = super().run(node_ids, reports_dir)
        if node_ids is None:  # only a whole run judges the run
            bad = self.slow(index)
            result.checks[RUN_LATENCY_CHECK] = CheckResult(
                RUN_LATENCY_CHECK, "failed" if bad else "passed", 0.0,
                "the run is slow: the median critical call took 3.0x its budget" if bad
                else "", critical=True, synthetic_ids=("run.b2c-search.1",),
                failed_synthetic_ids=("run.b2c-search.1",) if bad else ())
            result.exit_code = 1 if bad else result.exit_code
        return result


def test_a_slow_run_is_confirmed_by_whole_runs_and_exported_as_a_failing_critical_check(
        tmp_path):
    runner = _SlowRuns(slow=lambda i: i < 3)  # cycle 1: scheduled + 2 re-runs slow; then not
    monitor, events = make(tmp_path, runner, iterations=2, retries=2)
    assert monitor.run() == 0
    assert events.transitions() == [
        (RUN_LATENCY_CHECK, "ok", "degraded"), (RUN_LATENCY_CHECK, "degraded", "failing"),
        (RUN_LATENCY_CHECK, "failing", "recovered")]
    # a run-level verdict is no node pytest could select: its re-runs are whole runs
    assert [c.node_ids for c in runner.calls] == [None] * 4
    assert [f["checks"] for f in events.named("retry_scheduled")] == [[RUN_LATENCY_CHECK]] * 2
    assert sample(monitor, "synthmon_check_retries_total", check=RUN_LATENCY_CHECK,
                  outcome="failed") == 2
    assert sample(monitor, "synthmon_check_transitions_total", check=RUN_LATENCY_CHECK,
                  from_state="degraded", to_state="failing") == 1
    assert sample(monitor, "synthmon_check_last_failure_info", check=RUN_LATENCY_CHECK,
                  synthetic_id="run.b2c-search.1", trace_id="") == 1


def test_a_run_still_slow_at_the_end_is_failing_critical_on_metrics(tmp_path):
    runner = _SlowRuns(slow=lambda i: True)
    monitor, events = make(tmp_path, runner, iterations=1, retries=1)
    assert monitor.run() == 1
    assert events.named("monitor_stopped")[0]["failing"] == [RUN_LATENCY_CHECK]
    assert sample(monitor, "synthmon_check_status", check=RUN_LATENCY_CHECK) == 2
    # what SyntheticCheckFailing counts: cycles confirmed failing, on a critical check
    assert sample(monitor, "synthmon_check_failing_cycles", check=RUN_LATENCY_CHECK,
                  critical="true") == 1
