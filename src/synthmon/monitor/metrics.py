"""The monitor's own /metrics: per-check state, streaks and latency, the target's
reachability, every completed run, and the loop's health; each series labelled with the
monitor's region, target and cohort (the labels the alerting rules group and count by).

Its own CollectorRegistry, so nothing else in the process (or a second monitor in a test)
leaks into it. Served on 127.0.0.1 unless asked otherwise (--metrics-host).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from synthmon.monitor.reasons import REASONS
from synthmon.monitor.state import CheckState

_RUN_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
_LAG_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60)
IDENTITY = ("region", "target", "cohort")
RUN_KINDS = ("scheduled", "retry")
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


@dataclass(frozen=True, slots=True)
class Identity:
    """Where this monitor probes from and what it watches: on every series it exports."""

    region: str = "local"
    target: str = "unknown"
    cohort: str = "unknown"

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.region, self.target, self.cohort)

    def labels(self) -> dict[str, str]:
        return dict(zip(IDENTITY, self.values, strict=True))


class _Labelled:
    """A metric whose identity labels are filled in: `.labels(check)` is the series of that
    check from this monitor."""

    def __init__(self, metric: Any, identity: Identity) -> None:
        self.metric, self.identity = metric, identity

    def labels(self, *values: str) -> Any:
        return self.metric.labels(*values, *self.identity.values)

    def remove(self, *values: str) -> None:
        self.metric.remove(*values, *self.identity.values)


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None,
                 identity: Identity | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.identity = identity or Identity()
        r = self.registry

        def labelled(kind: Any, name: str, doc: str, labels: Sequence[str] = (),
                     **kw: Any) -> _Labelled:
            return _Labelled(kind(name, doc, [*labels, *IDENTITY], registry=r, **kw),
                             self.identity)

        def single(kind: Any, name: str, doc: str, **kw: Any) -> Any:
            return labelled(kind, name, doc, **kw).labels()

        # -- checks ------------------------------------------------------------------------
        self.check_status = labelled(
            Gauge, "synthmon_check_status",
            "Check status: 0 ok or recovered, 1 degraded (being confirmed), 2 failing, "
            "3 skipped (not run: never a pass)", ["check"])
        self.check_state = labelled(
            Gauge, "synthmon_check_state", "1 for the check's current state, 0 for the others",
            ["check", "state"])
        self.check_duration = labelled(
            Gauge, "synthmon_check_duration_seconds", "Duration of the check's last run",
            ["check"])
        self.check_last_success = labelled(
            Gauge, "synthmon_check_last_success_timestamp_seconds",
            "Unix time the check last passed (a skip does not refresh it)", ["check"])
        self.transitions = labelled(
            Counter, "synthmon_check_transitions_total", "State transitions per check",
            ["check", "from_state", "to_state"])
        self.retries = labelled(
            Counter, "synthmon_check_retries_total",
            "Confirmation re-runs of a failing check, by outcome", ["check", "outcome"])
        self.failing_cycles = labelled(
            Gauge, "synthmon_check_failing_cycles",
            "Cycles in a row the check ended confirmed failing (0 when it is not)",
            ["check", "critical"])
        self.skipped_cycles = labelled(
            Gauge, "synthmon_check_skipped_cycles",
            "Cycles in a row the check was skipped (0 when it ran)", ["check", "critical"])
        self.over_budget = labelled(
            Gauge, "synthmon_check_over_budget",
            "1 when a call of the check's last run went over its latency budget",
            ["check", "critical"])
        self.last_failure = labelled(
            Gauge, "synthmon_check_last_failure_info",
            "The synthetic id and trace id of the check's latest failing run (value 1)",
            ["check", "synthetic_id", "trace_id"])
        # -- the target ---------------------------------------------------------------------
        self.target_up = single(
            Gauge, "synthmon_target_up",
            "1 when the target answered in the last run, 0 when no call got an answer")
        self.unreachable_cycles = single(
            Gauge, "synthmon_target_unreachable_cycles",
            "Cycles in a row the target could not be reached at all (0 when it answered)")
        # -- runs ---------------------------------------------------------------------------
        self.last_run = single(
            Gauge, "synthmon_monitor_last_run_timestamp_seconds",
            "Unix time the last run that judged the target finished (start time before one)")
        self.last_run_duration = single(
            Gauge, "synthmon_monitor_last_run_duration_seconds",
            "Duration of the last run that judged the target")
        self.last_run_checks = labelled(
            Gauge, "synthmon_monitor_last_run_checks",
            "Checks of the last run that judged the target, by outcome", ["outcome"])
        self.runs = labelled(
            Counter, "synthmon_monitor_runs_total",
            "Runs of the suite by kind (scheduled, retry) and reason (ok, checks-failed, "
            "target-unreachable, usage-error, ...)", ["kind", "reason"])
        self.last_reason = labelled(
            Gauge, "synthmon_monitor_last_run_reason",
            "1 for the reason of the last run, 0 for the others", ["reason"])
        self.run_errors = single(
            Counter, "synthmon_monitor_run_errors_total",
            "Runs that produced no usable result (timeout, crash, exception)")
        self.run_duration = labelled(
            Histogram, "synthmon_monitor_run_duration_seconds",
            "Duration of one pytest run, by kind (scheduled, retry)", ["kind"],
            buckets=_RUN_BUCKETS)
        # -- the loop -------------------------------------------------------------------------
        self.cycles = labelled(
            Counter, "synthmon_monitor_cycles_total",
            "Cycles run, by result (ok, failing, error)", ["result"])
        self.skipped_ticks = single(
            Counter, "synthmon_monitor_skipped_ticks_total",
            "Scheduled ticks skipped because the previous cycle was still running")
        self.scheduler_lag = single(
            Gauge, "synthmon_monitor_scheduler_lag_seconds",
            "How late the last cycle started after its wall-clock tick")
        self.scheduler_lag_hist = single(
            Histogram, "synthmon_monitor_scheduler_lag_distribution_seconds",
            "Cycle start lateness after the wall-clock tick", buckets=_LAG_BUCKETS)
        self.cycle_duration = single(
            Gauge, "synthmon_monitor_cycle_duration_seconds",
            "Duration of the last cycle, re-runs and backoff waits included")
        self.overhead = single(
            Gauge, "synthmon_monitor_overhead_seconds",
            "Time of the last cycle spent in the monitor itself (not in runs or waits)")
        self.last_cycle = single(
            Gauge, "synthmon_monitor_last_cycle_timestamp_seconds",
            "Unix time the last cycle finished")
        self.interval = single(
            Gauge, "synthmon_monitor_interval_seconds", "The configured interval")
        # Every bounded label set at zero from the start: rate() and absent() mean something
        # from the first scrape, and the rules' joins always find a partner.
        for reason in REASONS:
            self.last_reason.labels(reason).set(0)
            for kind in RUN_KINDS:
                self.runs.labels(kind, reason)
        for outcome in OUTCOMES:
            self.last_run_checks.labels(outcome).set(0)
        self.unreachable_cycles.set(0)
        self._critical: dict[str, str] = {}
        self._failure_ids: dict[str, tuple[str, str]] = {}
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def set_state(self, check: str, state: CheckState) -> None:
        self.check_status.labels(check).set(state.severity)
        for candidate in CheckState:
            self.check_state.labels(check, candidate.value).set(1 if candidate is state else 0)

    def set_streaks(self, check: str, critical: bool, failing: int, skipped: int,
                    over_budget: bool) -> None:
        flag = "true" if critical else "false"
        previous = self._critical.get(check)
        if previous is not None and previous != flag:  # the check's markers changed
            for family in (self.failing_cycles, self.skipped_cycles, self.over_budget):
                family.remove(check, previous)
        self._critical[check] = flag
        self.failing_cycles.labels(check, flag).set(failing)
        self.skipped_cycles.labels(check, flag).set(skipped)
        self.over_budget.labels(check, flag).set(1 if over_budget else 0)

    def set_failure_ids(self, check: str, synthetic_id: str, trace_id: str) -> None:
        """One series per check: the latest failing run's ids replace the previous ones."""
        ids = (synthetic_id, trace_id)
        previous = self._failure_ids.get(check)
        if previous == ids:
            return
        if previous is not None:
            self.last_failure.remove(check, *previous)
        self._failure_ids[check] = ids
        self.last_failure.labels(check, *ids).set(1)

    def set_reason(self, kind: str, reason: str) -> None:
        self.runs.labels(kind, reason).inc()
        for candidate in REASONS:
            self.last_reason.labels(candidate).set(1 if candidate == reason else 0)

    def set_run(self, finished_at: float, duration_s: float, counts: dict[str, int]) -> None:
        self.last_run.set(finished_at)
        self.last_run_duration.set(duration_s)
        for outcome in OUTCOMES:
            self.last_run_checks.labels(outcome).set(counts.get(outcome, 0))

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Start the /metrics server; returns the port actually bound (port 0: a free one)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        return int(server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
