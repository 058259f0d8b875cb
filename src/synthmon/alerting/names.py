"""The synthetic monitor's alert names and labels, shared by the Prometheus rules that raise
them and the Alertmanager configuration that routes, groups and inhibits them."""

from __future__ import annotations

CHECK_FAILING = "SyntheticCheckFailing"
PROBE_LOCATION_FAILING = "SyntheticProbeLocationFailing"
TARGET_UNREACHABLE = "SyntheticTargetUnreachable"
MONITOR_DOWN = "SyntheticMonitorDown"
CHECKS_SKIPPED = "SyntheticChecksSkipped"
CHECK_DEGRADED = "SyntheticCheckDegraded"

# Every synthetic-monitor alert carries these labels; `component` tells them from the
# canary's rollback pages, which inhibition must not touch.
COMPONENT = "synthetic"
IDENTITY_LABELS = ("check", "region", "target", "cohort")

# Pseudo-check names for the alerts about a whole target or a whole monitor.
TARGET_CHECK = "synthmon:target"
MONITOR_CHECK = "synthmon:monitor"
# The absent() heartbeat knows only the region it expected: its target and cohort are this.
ANY = "any"

# Alerts about a place (a probe location, a monitor) rather than about a check: one
# notification per region, whatever checks it names.
BY_REGION = (PROBE_LOCATION_FAILING, MONITOR_DOWN)
