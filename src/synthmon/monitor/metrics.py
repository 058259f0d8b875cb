"""The monitor's own /metrics: per-check status and latency, and the loop's health.

Its own CollectorRegistry, so nothing else in the process (or a second monitor in a test)
leaks into it; served on loopback only.
"""

from __future__ import annotations

from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from synthmon.monitor.state import CheckState

_RUN_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
_LAG_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60)


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.check_status = Gauge(
            "synthmon_check_status",
            "Check status: 0 ok or recovered, 1 degraded (being confirmed), 2 failing",
            ["check"], registry=r,
        )
        self.check_state = Gauge(
            "synthmon_check_state",
            "1 for the check's current state, 0 for the others",
            ["check", "state"], registry=r,
        )
        self.check_duration = Gauge(
            "synthmon_check_duration_seconds", "Duration of the check's last run",
            ["check"], registry=r,
        )
        self.check_last_success = Gauge(
            "synthmon_check_last_success_timestamp_seconds",
            "Unix time the check last passed", ["check"], registry=r,
        )
        self.transitions = Counter(
            "synthmon_check_transitions_total", "State transitions per check",
            ["check", "from_state", "to_state"], registry=r,
        )
        self.retries = Counter(
            "synthmon_check_retries_total",
            "Confirmation re-runs of a failing check, by outcome",
            ["check", "outcome"], registry=r,
        )
        self.cycles = Counter(
            "synthmon_monitor_cycles_total", "Cycles run, by result (ok, failing, error)",
            ["result"], registry=r,
        )
        self.run_errors = Counter(
            "synthmon_monitor_run_errors_total",
            "Runs that produced no usable result (timeout, crash, exception)", registry=r,
        )
        self.skipped_ticks = Counter(
            "synthmon_monitor_skipped_ticks_total",
            "Scheduled ticks skipped because the previous cycle was still running", registry=r,
        )
        self.scheduler_lag = Gauge(
            "synthmon_monitor_scheduler_lag_seconds",
            "How late the last cycle started after its wall-clock tick", registry=r,
        )
        self.scheduler_lag_hist = Histogram(
            "synthmon_monitor_scheduler_lag_distribution_seconds",
            "Cycle start lateness after the wall-clock tick", buckets=_LAG_BUCKETS, registry=r,
        )
        self.run_duration = Histogram(
            "synthmon_monitor_run_duration_seconds",
            "Duration of one pytest run, by kind (scheduled, retry)",
            ["kind"], buckets=_RUN_BUCKETS, registry=r,
        )
        self.cycle_duration = Gauge(
            "synthmon_monitor_cycle_duration_seconds",
            "Duration of the last cycle, re-runs and backoff waits included", registry=r,
        )
        self.overhead = Gauge(
            "synthmon_monitor_overhead_seconds",
            "Time of the last cycle spent in the monitor itself (not in runs or waits)",
            registry=r,
        )
        self.last_cycle = Gauge(
            "synthmon_monitor_last_cycle_timestamp_seconds",
            "Unix time the last cycle finished", registry=r,
        )
        self.interval = Gauge(
            "synthmon_monitor_interval_seconds", "The configured interval", registry=r,
        )
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def set_state(self, check: str, state: CheckState) -> None:
        self.check_status.labels(check).set(state.severity)
        for candidate in CheckState:
            self.check_state.labels(check, candidate.value).set(1 if candidate is state else 0)

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
