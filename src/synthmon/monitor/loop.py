"""The loop: one cycle per wall-clock tick, never overlapping, failures confirmed by re-runs.

A cycle is one scheduled run of the whole (selected) suite, then, for the checks that
failed, re-runs of only those checks after exponential backoff delays, until each is
cleared (a re-run passed) or confirmed failing (every re-run failed). A skipped check is its
own state, never a pass. A run in which the target never answered is one state of the
target (`synthmon:target`), with one message, not a failure per check: the checks keep
their states and streaks until the target answers again. A verdict on the whole run
(`synthmon::run_latency`: the run was slow) is a check like the others, but only a whole
run can judge it again, so its re-runs run the whole (selected) suite.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import generate_latest

from synthmon.backoff import Backoff
from synthmon.monitor import reasons
from synthmon.monitor.backoff import confirmation_backoff
from synthmon.monitor.events import EventSink, JsonLines
from synthmon.monitor.metrics import MonitorMetrics
from synthmon.monitor.results import PSEUDO_CHECKS, RUN_CHECK, TARGET_CHECK, CheckResult, RunResult
from synthmon.monitor.runner import Runner
from synthmon.monitor.state import CheckState, StateTracker, Streaks, Transition
from synthmon.run_verdict_names import is_run_verdict

INTERVAL_S = 60.0


@dataclass
class MonitorConfig:
    interval: float = INTERVAL_S
    iterations: int | None = None  # None: until stopped
    backoff: Backoff = field(default_factory=lambda: confirmation_backoff(INTERVAL_S))
    reports_root: Path = field(default_factory=lambda: Path("reports/monitor"))
    keep_runs: int = 20  # runs kept under reports_root (log + report folders); older deleted
    state_file: str = "monitor-state.json"

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("the interval must be positive")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError("iterations must be at least 1")


def next_tick(after: float, interval: float) -> float:
    """The first multiple of the interval (since the epoch) strictly after `after`."""
    return (math.floor(after / interval) + 1) * interval


class Monitor:
    def __init__(
        self,
        runner: Runner,
        config: MonitorConfig,
        metrics: MonitorMetrics | None = None,
        emit: EventSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner = runner
        self.config = config
        self.metrics = metrics if metrics is not None else MonitorMetrics()
        self.emit = emit if emit is not None else JsonLines()
        self.clock = clock
        self.tracker = StateTracker()
        self.streaks = Streaks()
        self.critical: dict[str, bool] = {}
        self.over_budget: dict[str, bool] = {}
        self.last_reason = reasons.OK
        self._unreachable_because = ""
        self.cycles_run = 0
        self._stop = threading.Event()
        self._session = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.metrics.interval.set(config.interval)
        # The heartbeat counts from the start: a monitor that never completes a run is down.
        self.metrics.last_run.set(self.clock())

    # -- control ---------------------------------------------------------------------------
    def stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to end; the run in progress is abandoned (its child killed)."""
        if not self._stop.is_set():
            self._stop.set()
            self.emit("monitor_stopping", {"reason": reason})
            self.runner.abort()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _sleep_until(self, t: float) -> bool:
        """Wait until clock() >= t; True when a stop was requested meanwhile."""
        while not self._stop.is_set():
            remaining = t - self.clock()
            # remaining > interval: the wall clock stepped back (NTP); go now rather than
            # wait out the step (no wait the loop asks for is ever longer than the interval).
            if remaining <= 0 or remaining > self.config.interval:
                return False
            self._stop.wait(min(remaining, 1.0))
        return True

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        cfg = self.config
        cfg.reports_root.mkdir(parents=True, exist_ok=True)
        self.emit("monitor_started", {
            "interval_s": cfg.interval, "iterations": cfg.iterations,
            "backoff_s": [round(d, 3) for d in cfg.backoff.nominal()],
            "reports_root": str(cfg.reports_root),
        })
        tick = self.clock()  # the first cycle starts at once; later ones on the wall-clock grid
        while not self._stop.is_set():
            if cfg.iterations is not None and self.cycles_run >= cfg.iterations:
                break
            if self._sleep_until(tick):
                break
            started = self.clock()
            lag = max(0.0, started - tick)
            self.metrics.scheduler_lag.set(lag)
            self.metrics.scheduler_lag_hist.observe(lag)
            self.cycles_run += 1
            deadline = next_tick(started, cfg.interval)
            try:
                result = self._cycle(self.cycles_run, started, lag)
            except Exception as exc:  # a bug in a cycle must not end the monitor
                result = "error"
                self.metrics.run_errors.inc()
                self.emit("cycle_error", {
                    "cycle": self.cycles_run, "error": f"{type(exc).__name__}: {exc}",
                    "where": traceback.format_exc(limit=3).splitlines()[-3:],
                })
            self.metrics.cycles.labels(result).inc()
            now = self.clock()
            self.metrics.last_cycle.set(now)
            upcoming = next_tick(now, cfg.interval)
            skipped = max(0, round((upcoming - deadline) / cfg.interval))
            if skipped:
                self.metrics.skipped_ticks.inc(skipped)
                self.emit("ticks_skipped", {"cycle": self.cycles_run, "skipped": skipped})
            tick = upcoming
        failing = self._in(CheckState.FAILING)
        not_run = self._critical_skipped()
        self.emit("monitor_stopped", {
            "cycles": self.cycles_run, "failing": failing, "skipped": not_run,
            "stopped": self._stop.is_set(),
        })
        # A skipped critical check at the end is no success either.
        return 1 if failing or not_run else 0

    def _in(self, state: CheckState) -> list[str]:
        return sorted(c for c, s in self.tracker.states().items() if s is state)

    def _critical_skipped(self) -> list[str]:
        return [c for c in self._in(CheckState.SKIPPED) if self.critical.get(c)]

    # -- one cycle -------------------------------------------------------------------------------
    def _cycle(self, cycle: int, started: float, lag: float) -> str:
        self.emit("cycle_started", {"cycle": cycle, "scheduler_lag_s": round(lag, 4)})
        busy = 0.0  # time in runs and backoff waits; the rest is the monitor's overhead
        result = self._run(cycle, None, "scheduled")
        busy += result.duration_s
        self._apply_scheduled(cycle, result)

        attempt = 0
        for delay in self.config.backoff.delays():
            pending = self.tracker.needs_confirmation()
            if not pending or self._stop.is_set():
                break
            attempt += 1
            # Confirmation is part of the cycle: when the re-runs run past the next tick,
            # that tick is skipped (and counted), never run on top of them. Each delay is
            # capped below the interval, so a cycle is bounded: run + retries x (cap + run).
            self.emit("retry_scheduled", {
                "cycle": cycle, "attempt": attempt, "delay_s": round(delay, 3), "checks": pending,
            })
            waited_from = self.clock()
            if self._sleep_until(waited_from + delay):
                break
            busy += self.clock() - waited_from
            # The run or the target gave nothing, or the run itself was judged (too slow):
            # no node pytest could select, so the re-run is a full run again.
            full = any(check in PSEUDO_CHECKS or is_run_verdict(check) for check in pending)
            node_ids = None if full else pending
            retry = self._run(cycle, node_ids, f"retry{attempt}")
            busy += retry.duration_s
            if self._stop.is_set() and retry.error:
                break  # abandoned: neither clears nor confirms anything
            self._apply_retry(cycle, attempt, pending, retry, node_ids is None)

        if not self._stop.is_set():
            # Whatever is still degraded failed every re-run it got: confirmed.
            for check in self.tracker.needs_confirmation():
                transition = self.tracker.retried(
                    check, False, attempt, final=True, cycle=cycle, at=self.clock()
                )
                self._publish(transition)

        states = self.tracker.states()
        unreachable = states.get(TARGET_CHECK) is CheckState.FAILING
        # A cycle that never reached the target judged no check: their streaks stay.
        real = frozenset(c for c in states if c not in PSEUDO_CHECKS)
        self.streaks.end_of_cycle(states, frozen=real if unreachable else frozenset())
        self._export_states(states)
        elapsed = self.clock() - started
        self.metrics.cycle_duration.set(elapsed)
        self.metrics.overhead.set(max(0.0, elapsed - busy))
        failing = sorted(c for c, s in states.items() if s is CheckState.FAILING)
        degraded = sorted(c for c, s in states.items() if s is CheckState.DEGRADED)
        self._write_state(cycle)
        self._prune_runs()
        self.emit("cycle_finished", {
            "cycle": cycle, "duration_s": round(elapsed, 3), "retries": attempt,
            "checks": len(real), "failing": failing, "degraded": degraded,
            "skipped": self._in(CheckState.SKIPPED), "target_unreachable": unreachable,
            "reason": self.last_reason,
        })
        if failing:
            return "failing"
        return "error" if result.error and not result.checks else "ok"

    def _export_states(self, states: dict[str, CheckState]) -> None:
        for check, state in states.items():
            self.metrics.set_state(check, state)
            if check in PSEUDO_CHECKS:
                continue
            self.metrics.set_streaks(
                check, self.critical.get(check, False), self.streaks.failing.get(check, 0),
                self.streaks.skipped.get(check, 0), self.over_budget.get(check, False))
        self.metrics.unreachable_cycles.set(self.streaks.failing.get(TARGET_CHECK, 0))

    def _run(self, cycle: int, node_ids: list[str] | None, kind: str) -> RunResult:
        run_dir = self.config.reports_root / f"{self._session}-c{cycle:05d}-{kind}"
        try:
            result = self.runner.run(node_ids, run_dir)
        except Exception as exc:  # the runner must not take the loop down either
            result = RunResult(error=f"{type(exc).__name__}: {exc}", reports_dir=run_dir)
        run_kind = "scheduled" if kind == "scheduled" else "retry"
        self.metrics.run_duration.labels(run_kind).observe(result.duration_s)
        if result.error:
            self.metrics.run_errors.inc()
        reason, why = reasons.reason_of(result, stopping=self._stop.is_set())
        self.last_reason = reason
        self.metrics.set_reason(run_kind, reason)
        if result.checks or result.unreachable:  # a run that judged the target
            self.metrics.set_run(self.clock(), result.duration_s, result.counts())
        if result.unreachable:
            self._unreachable_because = why
        kept = self._keep_output(result) if reason != reasons.OK else None
        self.emit("run_finished", {
            "cycle": cycle, "kind": kind, "duration_s": round(result.duration_s, 3),
            "exit_code": result.exit_code, "checks": len(result.checks),
            "failed": result.failed_checks, "skipped": result.skipped_checks,
            "error": result.error, "reason": reason, "why": why,
            "selected": node_ids if node_ids is not None else "all",
            **({"pytest_output": str(kept)} if kept else {}),
        })
        return result

    def _keep_output(self, result: RunResult) -> Path | None:
        """The last failing run's pytest output, copied where pruning and the temporary
        run folders never remove it (last-run-output.txt beside monitor-state.json)."""
        if result.output is None or not result.output.is_file():
            return None
        kept = self.config.reports_root / "last-run-output.txt"
        try:
            _write_atomic(kept, result.output.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return None
        return kept

    def _judge(self, cycle: int, check: str, outcome: CheckResult, result: RunResult,
               at: float) -> Transition | None:
        """Record what a full run said of one check; the transition it causes, if any."""
        self.critical[check] = outcome.critical
        self.over_budget[check] = result.over_budget(check)
        self.metrics.check_duration.labels(check).set(outcome.duration_s)
        if outcome.failed:
            self._remember_failure(check, outcome.failing_synthetic_id, result)
        if outcome.skipped:
            return self.tracker.skipped(check, cycle, at, outcome.message or "no reason given")
        if outcome.passed:
            self.metrics.check_last_success.labels(check).set(at)
        return self.tracker.scheduled(check, outcome.passed, cycle, at)

    def _remember_failure(self, check: str, synthetic_id: str | None, result: RunResult) -> None:
        if synthetic_id:
            self.metrics.set_failure_ids(check, synthetic_id, result.trace_of(synthetic_id) or "")

    def _target_verdict(self, cycle: int, result: RunResult, at: float, retry: int = 0) -> bool:
        """The target answered (True), or the run is one unreachable verdict (False)."""
        if result.unreachable:
            self.metrics.target_up.set(0)
            call = result.unreachable_call
            if call is not None:
                self._remember_failure(TARGET_CHECK, call.synthetic_id, result)
            if retry:
                self._publish(self.tracker.retried(TARGET_CHECK, False, retry, False, cycle, at))
            else:
                self._publish(self.tracker.scheduled(TARGET_CHECK, False, cycle, at))
            return False
        if result.checks:
            self.metrics.target_up.set(1)
            if retry:
                self._publish(self.tracker.retried(TARGET_CHECK, True, retry, False, cycle, at))
            self._publish(self.tracker.scheduled(TARGET_CHECK, True, cycle, at))
        return True

    def _apply_scheduled(self, cycle: int, result: RunResult) -> None:
        now = self.clock()
        if self._stop.is_set() and result.error:
            return  # an abandoned run says nothing about the target
        produced = bool(result.checks) or result.unreachable
        self._publish(self.tracker.scheduled(RUN_CHECK, produced, cycle, now))
        self.metrics.check_duration.labels(RUN_CHECK).set(result.duration_s)
        if produced:
            self.metrics.check_last_success.labels(RUN_CHECK).set(now)
        if not self._target_verdict(cycle, result, now):
            return
        for check, outcome in result.checks.items():
            self._publish(self._judge(cycle, check, outcome, result, now))

    def _apply_retry(
        self, cycle: int, attempt: int, pending: list[str], retry: RunResult, full: bool
    ) -> None:
        now = self.clock()
        if full:
            # The previous run gave nothing, never reached the target, or was judged as a
            # whole: a full run again.
            produced = bool(retry.checks) or retry.unreachable
            self.metrics.retries.labels(RUN_CHECK, "passed" if produced else "failed").inc()
            self._publish(self.tracker.retried(RUN_CHECK, produced, attempt, False, cycle, now))
            if not self._target_verdict(cycle, retry, now, retry=attempt):
                return
            confirming = [c for c in pending if c not in PSEUDO_CHECKS]
            for check in confirming:
                self._confirm(cycle, attempt, check, retry.checks.get(check), retry, now)
            for check, outcome in retry.checks.items():
                if check not in confirming:
                    self._publish(self._judge(cycle, check, outcome, retry, now))
            return
        for check in pending:
            self._confirm(cycle, attempt, check, retry.checks.get(check), retry, now)

    def _confirm(self, cycle: int, attempt: int, check: str, rerun: CheckResult | None,
                 retry: RunResult, now: float) -> None:
        """What re-run `attempt` said of a check being confirmed."""
        # A check missing from the re-run's results did not pass: it cannot be cleared.
        passed = rerun is not None and rerun.passed
        if rerun is not None:
            self.metrics.check_duration.labels(check).set(rerun.duration_s)
            if rerun.skipped:
                self._publish(self.tracker.skipped(check, cycle, now, rerun.message))
                return
            if rerun.failed:
                self._remember_failure(check, rerun.failing_synthetic_id, retry)
            if passed:
                self.metrics.check_last_success.labels(check).set(now)
        self.metrics.retries.labels(check, "passed" if passed else "failed").inc()
        self._publish(self.tracker.retried(check, passed, attempt, False, cycle, now))

    def _publish(self, transition: Transition | None) -> None:
        if transition is None:
            return
        self.metrics.transitions.labels(
            transition.check, transition.previous.value, transition.current.value
        ).inc()
        self.metrics.set_state(transition.check, transition.current)
        reason = transition.reason
        if transition.check == TARGET_CHECK and transition.current is not CheckState.OK:
            reason = f"{reason}: {self._unreachable_because}"  # the one message it gets
        self.emit("transition", {
            "check": transition.check, "from": transition.previous.value,
            "to": transition.current.value, "cycle": transition.cycle,
            "reason": reason,
        })

    # -- files ---------------------------------------------------------------------------------
    def _write_state(self, cycle: int) -> None:
        """monitor-state.json: the current state per check, for the workflow and for humans."""
        data = {
            "cycle": cycle,
            "updated_at": self.clock(),
            "identity": self.metrics.identity.labels(),
            "last_run_reason": self.last_reason,
            "checks": {c: s.value for c, s in sorted(self.tracker.states().items())},
            "recent_transitions": [
                {"check": t.check, "from": t.previous.value, "to": t.current.value,
                 "cycle": t.cycle, "reason": t.reason, "at": t.at}
                for t in self.tracker.recent
            ],
        }
        root = self.config.reports_root
        _write_atomic(root / self.config.state_file, json.dumps(data, indent=2) + "\n")
        # The exposition as a file too: a CI job uploads it, node_exporter's textfile
        # collector can read it, and it outlives the process.
        _write_atomic(root / "metrics.prom", generate_latest(self.metrics.registry).decode())

    def _prune_runs(self) -> None:
        """Keep the newest keep_runs folders (the monitor's run logs and the suite's
        <run-id>/ reports alike), so disk use stays flat too; `latest` is never pruned."""
        root = self.config.reports_root
        keep_also = (root / "latest").resolve() if (root / "latest").is_symlink() else None
        folders = sorted(
            (p for p in root.iterdir() if p.is_dir() and not p.is_symlink()),
            key=lambda p: p.stat().st_mtime,
        )
        for old in folders[: max(0, len(folders) - 2 * self.config.keep_runs)]:
            if old.resolve() != keep_also:
                shutil.rmtree(old, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
