"""The synthetic monitor's own alerts: a check failing from enough regions (quorum), a probe
location failing alone, a target nobody can reach, a monitor that stopped reporting, checks
that skip, checks over their latency budget.

They read what every `synthmon monitor --region R` exposes on /metrics (docs/alerting.md):
per check, the consecutive cycles it ended confirmed failing or skipped, whether its last
run went over budget, and the synthetic id / trace id of its latest failing run; per
monitor, the consecutive cycles its target could not be reached, when it last completed a
run, and its interval. Counting cycles is how "failing for N intervals" is said exactly,
whatever the interval. Every alert is labelled severity, check, region, target and cohort.
"""

from __future__ import annotations

from typing import Any

from synthmon.alerting import names as n
from synthmon.alerting.settings import MonitorPlan
from synthmon.rules.model import RuleInputs

GROUP = "synthmon-synthetic-monitor"
IDENTITY = "check, region, target, cohort"
PLACE = "region, target, cohort"

# The monitor's series (synthmon.monitor.metrics)
FAILING_CYCLES = "synthmon_check_failing_cycles"
SKIPPED_CYCLES = "synthmon_check_skipped_cycles"
OVER_BUDGET = "synthmon_check_over_budget"
LAST_FAILURE = "synthmon_check_last_failure_info"
UNREACHABLE_CYCLES = "synthmon_target_unreachable_cycles"
LAST_RUN = "synthmon_monitor_last_run_timestamp_seconds"
INTERVAL = "synthmon_monitor_interval_seconds"
CRITICAL = 'critical="true"'

# Recorded: a critical check's cycles in a row without a pass in one region (confirmed
# failing, or the target unreachable from there), and how many regions agree on it.
NOT_PASSING = "region_check:synthmon_check_not_passing:cycles"
FAILING_REGIONS = "target_check:synthmon_check_failing:regions"
UNREACHABLE_REGIONS = "target:synthmon_target_unreachable:regions"

# The id of the latest failing run of the alert's check in the alert's region, looked up
# when the alert is evaluated (an id as a label would make every failing run a new alert).
# `$labels` holds the expression's labels only, not the rule's own: an alert whose check is
# a rule label (the target as a whole) names it literally.
def lookup(label: str, check: str | None = None) -> str:
    which = f"check={check!r}".replace("'", '"') if check else "check=%q"
    args = "$labels.check $labels.region $labels.target" if not check else \
        "$labels.region $labels.target"
    return (f"{{{{ with printf `{LAST_FAILURE}{{{which},region=%q,target=%q}}` {args} | query }}}}"
            f"{{{{ with first . }}}}{{{{ .Labels.{label} }}}}{{{{ end }}}}{{{{ end }}}}")


def records(plan: MonitorPlan) -> list[dict[str, Any]]:
    n_ = plan.failing_intervals
    return [
        {"record": NOT_PASSING, "expr": (
            f"max by ({IDENTITY}) ({FAILING_CYCLES}{{{CRITICAL}}})\n"
            f"+ on ({PLACE}) group_left ()\n"
            f"max by ({PLACE}) ({UNREACHABLE_CYCLES})")},
        {"record": FAILING_REGIONS,
         "expr": f"count by (check, target) ({NOT_PASSING} >= {n_})"},
        {"record": UNREACHABLE_REGIONS,
         "expr": f"count by (target) (max by (region, target) ({UNREACHABLE_CYCLES}) >= {n_})"},
    ]


def _alert(name: str, expr: str, severity: str, summary: str, description: str,
           runbook: str, *, for_: str | None = None, labels: dict[str, str] | None = None,
           ids: bool = True) -> dict[str, Any]:
    """`ids`: annotate the synthetic id and trace id of the latest failing run."""
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "component": n.COMPONENT, **(labels or {})}
    annotations = {"summary": summary, "description": description,
                   "runbook_url": f"{runbook}#{name.lower()}"}
    if ids:
        check = (labels or {}).get("check")
        annotations |= {"synthetic_id": lookup("synthetic_id", check),
                        "trace_id": lookup("trace_id", check)}
    rule["annotations"] = annotations
    return rule


def synthetic_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    plan = inputs.alerting.monitor
    cycles, quorum = plan.failing_intervals, plan.min_regions
    heartbeat = plan.heartbeat_intervals
    check, region, target = "{{ $labels.check }}", "{{ $labels.region }}", "{{ $labels.target }}"
    agree = f"at least {quorum} of the {len(plan.regions)} regions agree"
    alerts = [
        _alert(
            n.CHECK_FAILING,
            f"{NOT_PASSING} >= {cycles}\nand on (check, target) {FAILING_REGIONS} >= {quorum}",
            "page",
            f"{check} fails on {target} from {region}, and {agree}: users see it",
            f"The critical check {check} has not passed on {target} for {cycles} or more "
            f"cycles in a row from {region} (confirmed by re-runs, or the target unreachable), "
            f"and {agree}: the product is broken, not a probe location.",
            runbook),
        _alert(
            n.PROBE_LOCATION_FAILING,
            f"{NOT_PASSING} >= {cycles}\nunless on (check, target) {FAILING_REGIONS} >= {quorum}",
            "ticket",
            f"{check} fails on {target} from {region} only: the probe location or its network",
            f"The critical check {check} has not passed on {target} for {cycles} or more "
            f"cycles from {region}, but fewer than {quorum} regions see it: suspect the probe "
            f"location {region} or its network path first (it pages once {quorum} agree).",
            runbook, for_=plan.location_for),
        _alert(
            n.TARGET_UNREACHABLE,
            f"max by ({PLACE}) ({UNREACHABLE_CYCLES}) >= {cycles}\n"
            f"and on (target) {UNREACHABLE_REGIONS} >= {quorum}",
            "page",
            f"{target} cannot be reached from {region}, and {agree}: the target is down",
            f"The monitor in {region} got no answer at all from {target} for {cycles} or more "
            f"cycles, and {agree}. Every check on it fails for this one reason, so their own "
            "pages are held back (inhibited) while this one fires.",
            runbook, labels={"check": n.TARGET_CHECK}),
        _alert(
            n.CHECKS_SKIPPED,
            f"max by ({IDENTITY}) ({SKIPPED_CYCLES}{{{CRITICAL}}}) >= {cycles}",
            "page",
            f"{check} is skipped on {target} in {region}: it proves nothing",
            f"The critical check {check} skipped for {cycles} or more cycles in a row from "
            f"{region}: a skipped check is not a passing one (a credential removed or "
            "rotated, a marker or an option changed). Its last success stays where it was.",
            runbook, ids=False),
        _alert(
            n.CHECK_DEGRADED,
            f"max by ({IDENTITY}) ({OVER_BUDGET}) == 1",
            "ticket",
            f"{check} is over its latency budget on {target} from {region}",
            f"A call of {check} went over its latency budget (canary-policy.yaml, budgets) in "
            f"every run from {region} for {plan.degraded_for}: slower, not yet failing.",
            runbook, for_=plan.degraded_for),
        _alert(
            n.MONITOR_DOWN,
            f"time() - max by ({PLACE}) ({LAST_RUN})\n"
            f"> {heartbeat} * max by ({PLACE}) ({INTERVAL})",
            "page",
            f"No completed synthetic run from {region} for {heartbeat} intervals: "
            "the safety net is down there",
            f"The monitor in {region} (target {target}) is up but has completed no run for "
            f"{heartbeat} of its intervals: it hangs, or cannot start pytest. Nothing it "
            "watches is watched.",
            runbook, labels={"check": n.MONITOR_CHECK}, ids=False),
    ]
    # absent() with `for:`, not absent_over_time(): a Prometheus that has just started has no
    # history yet, and a region must be missing for the whole tolerance before it pages.
    tolerance = f"{heartbeat * plan.interval_s:g}s"
    for expected in plan.regions:
        alerts.append(_alert(
            n.MONITOR_DOWN,
            f'absent({LAST_RUN}{{region="{expected}"}})',
            "page",
            f"No completed synthetic run from {region} for {heartbeat} intervals: "
            "the safety net is down there",
            f"No monitor in {region} has reported for {heartbeat} intervals of "
            f"{plan.interval}: it stopped, was never started, or Prometheus cannot scrape it. "
            "Nothing it watches is watched.",
            runbook, for_=tolerance,
            labels={"check": n.MONITOR_CHECK, "region": expected, "target": n.ANY,
                    "cohort": n.ANY},
            ids=False))
    return alerts
