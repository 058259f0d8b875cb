"""The policy's `alerting:` section as typed values: receivers, routes, timings, the monitors'
quorum and heartbeat, the SLO burn windows and the maintenance windows.

Both generators read it: `synthmon rules` (what Prometheus evaluates) and `synthmon
alertmanager` (where Alertmanager sends it). The schema holds the defaults and the shapes;
this module adds what JSON Schema cannot say (a route naming a receiver that does not exist,
a quorum larger than the regions, a window that ends before it starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthmon import durations
from synthmon.policy import Policy, PolicyError

SEVERITIES = ("page", "ticket")


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    kind: str  # webhook | slack | pagerduty
    url_env: str
    routing_key_env: str | None = None


@dataclass(frozen=True, slots=True)
class MonitorPlan:
    """How the monitors run and when their silence or their verdicts alert."""

    interval: str
    regions: tuple[str, ...]
    min_regions: int
    failing_intervals: int
    heartbeat_intervals: int
    location_for: str
    degraded_for: str

    @property
    def interval_s(self) -> float:
        return durations.parse(self.interval)


@dataclass(frozen=True, slots=True)
class GateWatch:
    """When `synthmon gate serve`'s own series alert: a stale or vanished gate, and
    evaluations that keep failing (a rollback verdict always pages)."""

    expected: bool  # a gate serve is always scraped: its absence pages
    stale_severity: str
    failing_evaluations: int
    failing_window: str
    failing_severity: str
    stale_intervals: int  # gate.stale_intervals
    stale_after_s: float  # at the policy's watch interval (gate serve exports its own)


@dataclass(frozen=True, slots=True)
class BurnWindow:
    long: str
    short: str
    budget_fraction: float
    severity: str

    def factor(self, budget_period_s: float) -> float:
        """The SRE workbook's burn rate: the share of the period's budget spent in the long
        window, times the number of long windows in the period (2% in 1 h of 30 d: 14.4)."""
        return self.budget_fraction * budget_period_s / durations.parse(self.long)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    name: str
    weekdays: tuple[str, ...]
    start: str  # HH:MM
    end: str
    location: str
    mute: tuple[str, ...]

    @property
    def minutes(self) -> int:
        return _minutes(self.end) - _minutes(self.start)


@dataclass(frozen=True, slots=True)
class AlertingSettings:
    runbook_url: str
    alertmanager_url: str
    receivers: dict[str, Receiver]
    routes: dict[str, tuple[str, ...]]  # severity -> receiver names
    group_wait: str
    group_interval: str
    repeat_interval: str
    monitor: MonitorPlan
    gate: GateWatch
    burn_min_requests: int
    availability_burn: tuple[BurnWindow, ...]
    latency_burn: tuple[BurnWindow, ...]
    latency_promql: dict[str, str]  # numerator (slow requests), denominator (all)
    maintenance: tuple[MaintenanceWindow, ...]


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _section(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise PolicyError(f"{where}.{key}: missing (the alerting generators need it)")
    return data[key]


def _burn(raw: list[dict[str, Any]]) -> tuple[BurnWindow, ...]:
    # Windows go into PromQL and record names: written as Prometheus writes them.
    return tuple(BurnWindow(durations.prometheus_form(w["long"]),
                            durations.prometheus_form(w["short"]), float(w["budget_fraction"]),
                            str(w["severity"])) for w in raw)


def _gate_watch(policy: Policy, raw: dict[str, Any]) -> GateWatch:
    watch = GateWatch(
        expected=bool(raw["expected"]),
        stale_severity=str(raw["stale_severity"]),
        failing_evaluations=int(raw["failing_evaluations"]),
        failing_window=durations.prometheus_form(raw["failing_window"]),
        failing_severity=str(raw["failing_severity"]),
        stale_intervals=int(policy.gate["stale_intervals"]),
        stale_after_s=policy.gate_stale_after_s(),
    )
    interval = float(policy.gate["watch_interval_s"])
    if watch.failing_evaluations * interval > durations.parse(watch.failing_window):
        raise PolicyError(
            f"{policy.path}: alerting.gate.failing_window: {raw['failing_window']} holds fewer "
            f"than failing_evaluations ({watch.failing_evaluations}) evaluations at "
            f"gate.watch_interval_s {interval:g}: GateEvaluationsFailing could never fire")
    return watch


def read_alerting(policy: Policy) -> AlertingSettings:
    """The `alerting:` section, checked for what the schema cannot check."""
    where = "alerting"
    section = policy.data.get("alerting")
    if not isinstance(section, dict):
        raise PolicyError(f"{policy.path}: alerting: missing (see docs/alerting.md)")
    receivers = {
        name: Receiver(name, str(r["kind"]), str(r["url_env"]), r.get("routing_key_env"))
        for name, r in _section(section, "receivers", where).items()
    }
    routes = {sev: tuple(names) for sev, names in _section(section, "routes", where).items()}
    for severity, names in routes.items():
        for name in names:
            if name not in receivers:
                raise PolicyError(
                    f"{policy.path}: alerting.routes.{severity}: no receiver named {name!r} "
                    f"(known: {', '.join(sorted(receivers))})")
    grouping = _section(section, "grouping", where)
    monitor_raw = _section(section, "monitor", where)
    monitor = MonitorPlan(
        interval=str(monitor_raw["interval"]),
        regions=tuple(monitor_raw["regions"]),
        min_regions=int(monitor_raw["min_regions"]),
        failing_intervals=int(monitor_raw["failing_intervals"]),
        heartbeat_intervals=int(monitor_raw["heartbeat_intervals"]),
        location_for=str(monitor_raw["location_for"]),
        degraded_for=str(monitor_raw["degraded_for"]),
    )
    if monitor.min_regions > len(monitor.regions):
        raise PolicyError(
            f"{policy.path}: alerting.monitor.min_regions: {monitor.min_regions} regions can "
            f"never agree when only {len(monitor.regions)} report "
            f"({', '.join(monitor.regions)})")
    gate = _gate_watch(policy, _section(section, "gate", where))
    burn = _section(section, "slo_burn", where)
    windows = []
    for index, raw in enumerate(section["maintenance_windows"]):
        window = MaintenanceWindow(
            name=str(raw["name"]), weekdays=tuple(raw["weekdays"]), start=str(raw["start"]),
            end=str(raw["end"]), location=str(raw["location"]), mute=tuple(raw["mute"]))
        if window.minutes <= 0:
            raise PolicyError(
                f"{policy.path}: alerting.maintenance_windows[{index}] ({window.name}): ends "
                f"at {window.end}, not after its start {window.start} (split a window that "
                "crosses midnight in two)")
        windows.append(window)
    return AlertingSettings(
        runbook_url=str(_section(section, "runbook_url", where)),
        alertmanager_url=str(_section(section, "alertmanager_url", where)).rstrip("/"),
        receivers=receivers,
        routes=routes,
        group_wait=str(grouping["group_wait"]),
        group_interval=str(grouping["group_interval"]),
        repeat_interval=str(grouping["repeat_interval"]),
        monitor=monitor,
        gate=gate,
        burn_min_requests=int(burn["min_requests"]),
        availability_burn=_burn(burn["availability"]),
        latency_burn=_burn(burn["latency"]["windows"]),
        latency_promql=dict(burn["latency"]["promql"]),
        maintenance=tuple(windows),
    )
