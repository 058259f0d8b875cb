"""promtool unit tests of the synthetic monitor's alerts: the quorum edges (1 of 3 regions is
a probe-location ticket, 2 of 3 a page), an unreachable target, skipped checks, a check over
budget, a monitor that hangs and one that never reported (the absent() form).

The series are what three `synthmon monitor --region R` expose, one sample a minute (the
policy's 60 s interval); every threshold, cycle count, quorum and `for:` comes from the
policy's alerting.monitor section.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from promtool_support import Scenario, gauge, promtool_test_doc, run_promtool_test

from synthmon.alerting import names
from synthmon.rules.model import RuleInputs
from synthmon.rules.synthetic import NOT_PASSING

CHECK = "tests/synthetic/test_b2c.py::test_student_searches_saves_and_drafts_an_application"
OTHER = "tests/synthetic/test_health.py::test_metrics_expose_the_slo_families"
TARGET, COHORT = "canary", "canary"
MINUTES = 20


def regions(inputs: RuleInputs) -> tuple[str, ...]:
    found = inputs.alerting.monitor.regions
    assert len(found) == 3 and inputs.alerting.monitor.min_regions == 2, (
        "the quorum scenarios are written for 2 of 3 regions")
    return found


def streak(start: int, minutes: int = MINUTES) -> str:
    """Cycles in a row, one a minute: 0 until `start`, then 1, 2, 3, ..."""
    values = [max(0, m - start + 1) for m in range(minutes + 1)]
    return " ".join(str(v) for v in values)


class Monitors(Scenario):
    """The series of one monitor per region, all healthy unless told otherwise."""

    def monitor(self, region: str, *, failing: str | None = None, skipped: str | None = None,
                unreachable: str | None = None, over_budget: str | None = None,
                last_run: str | None = None, check: str = CHECK,
                critical: str = "true") -> Monitors:
        place = {"region": region, "target": TARGET, "cohort": COHORT,
                 "instance": f"monitor-{region}:9464", "job": "synthmon-monitor"}
        per_check = {**place, "check": check, "critical": critical}
        quiet = gauge(0, self.minutes)
        self.add("synthmon_check_failing_cycles", per_check, failing or quiet)
        self.add("synthmon_check_skipped_cycles", per_check, skipped or quiet)
        self.add("synthmon_check_over_budget", per_check, over_budget or quiet)
        self.add("synthmon_check_last_failure_info",
                 {**place, "check": check, "synthetic_id": f"syn-{region}",
                  "trace_id": f"trace-{region}"}, gauge(1, self.minutes))
        self.add("synthmon_check_last_failure_info",
                 {**place, "check": names.TARGET_CHECK, "synthetic_id": f"probe-{region}",
                  "trace_id": f"trace-probe-{region}"}, gauge(1, self.minutes))
        self.add("synthmon_target_unreachable_cycles", place, unreachable or quiet)
        self.add("synthmon_monitor_last_run_timestamp_seconds", place,
                 last_run or f"0+60x{self.minutes}")  # a run completed every minute
        self.add("synthmon_monitor_interval_seconds", place, gauge(60, self.minutes))
        return self


def alert(region: str, check: str = CHECK, *, ids: str | None = "check",
          target: str = TARGET, cohort: str = COHORT) -> dict[str, Any]:
    labels: dict[str, Any] = {"check": check, "region": region, "target": target,
                              "cohort": cohort}
    if ids == "check":
        labels["_annotations"] = {"synthetic_id": f"syn-{region}", "trace_id": f"trace-{region}"}
    elif ids == "target":
        labels["_annotations"] = {"synthetic_id": f"probe-{region}",
                                  "trace_id": f"trace-probe-{region}"}
    return labels


def _quorum(inputs: RuleInputs) -> list[Scenario]:
    a, b, c = regions(inputs)
    cycles = inputs.alerting.monitor.failing_intervals
    location_for = int(inputs.alerting.monitor.location_for.removesuffix("m"))
    confirmed = 2 + cycles - 1  # the minute the streak reaches the policy's cycles
    one = Monitors("1 of 3 regions failing: a probe-location ticket after its for, no page",
                   MINUTES)
    one.monitor(a, failing=streak(2)).monitor(b).monitor(c)
    one.expect(confirmed + location_for - 1, names.PROBE_LOCATION_FAILING)  # still pending
    one.expect(confirmed + location_for + 1, names.PROBE_LOCATION_FAILING, alert(a))
    one.expect(MINUTES, names.CHECK_FAILING)
    short = Monitors("a failure shorter than the policy's cycles alerts nothing", MINUTES)
    short.monitor(a, failing=streak(2)).monitor(b, failing=streak(MINUTES - cycles + 2))
    short.monitor(c, failing=streak(MINUTES - cycles + 2))
    short.expect(MINUTES, names.CHECK_FAILING)
    two = Monitors("2 of 3 regions failing: a page from each, no ticket", MINUTES)
    two.monitor(a, failing=streak(2)).monitor(b, failing=streak(3)).monitor(c)
    two.expect(confirmed, names.CHECK_FAILING)  # b has not confirmed yet
    two.expect(confirmed + 1, names.CHECK_FAILING, alert(a), alert(b))
    two.expect(MINUTES, names.PROBE_LOCATION_FAILING)
    three = Monitors("3 of 3 regions failing: a page from each", MINUTES)
    for region in (a, b, c):
        three.monitor(region, failing=streak(2))
    three.expect(MINUTES, names.CHECK_FAILING, alert(a), alert(b), alert(c))
    noncritical = Monitors("a non-critical check failing everywhere pages nobody", MINUTES)
    for region in (a, b, c):
        noncritical.monitor(region, failing=streak(2), critical="false")
    noncritical.expect(MINUTES, names.CHECK_FAILING)
    return [one, short, two, three, noncritical]


def _unreachable(inputs: RuleInputs) -> list[Scenario]:
    a, b, c = regions(inputs)
    down = Monitors("the target unreachable from 2 of 3: one page per region, and the "
                    "per-check pages it explains (inhibited in Alertmanager)", MINUTES)
    down.monitor(a, unreachable=streak(2)).monitor(b, unreachable=streak(2)).monitor(c)
    down.expect(MINUTES, names.TARGET_UNREACHABLE,
                alert(a, names.TARGET_CHECK, ids="target"),
                alert(b, names.TARGET_CHECK, ids="target"))
    down.expect(MINUTES, names.CHECK_FAILING, alert(a), alert(b))
    one = Monitors("the target unreachable from 1 of 3: a probe-location ticket, no page",
                   MINUTES)
    one.monitor(a, unreachable=streak(2)).monitor(b).monitor(c)
    one.expect(MINUTES, names.TARGET_UNREACHABLE)
    one.expect(MINUTES, names.CHECK_FAILING)
    one.expect(MINUTES, names.PROBE_LOCATION_FAILING, alert(a))
    return [down, one]


def _skipped(inputs: RuleInputs) -> list[Scenario]:
    a, b, c = regions(inputs)
    cycles = inputs.alerting.monitor.failing_intervals
    s = Monitors("critical checks skipped in one region page; a skipped non-critical check "
                 "does not", MINUTES)
    s.monitor(a, skipped=streak(2)).monitor(b).monitor(c)
    s.monitor(b, skipped=streak(2), check=OTHER, critical="false")
    s.expect(2 + cycles - 2, names.CHECKS_SKIPPED)
    s.expect(MINUTES, names.CHECKS_SKIPPED, alert(a, ids=None))
    return [s]


def _degraded(inputs: RuleInputs) -> list[Scenario]:
    a, b, c = regions(inputs)
    minutes = int(inputs.alerting.monitor.degraded_for.removesuffix("m"))
    over = " ".join(["0", "0"] + ["1"] * (MINUTES - 1))
    s = Monitors("over the latency budget in every run: a ticket after degraded_for", MINUTES)
    s.monitor(a, over_budget=over).monitor(b).monitor(c)
    s.expect(2 + minutes - 1, names.CHECK_DEGRADED)
    s.expect(2 + minutes + 1, names.CHECK_DEGRADED, alert(a))
    return [s]


def _heartbeat(inputs: RuleInputs) -> list[Scenario]:
    a, b, c = regions(inputs)
    heartbeat = inputs.alerting.monitor.heartbeat_intervals
    hung_at = 5
    hangs = Monitors("a monitor that stops completing runs pages after the heartbeat", MINUTES)
    stuck = f"0+60x{hung_at} " + " ".join([str(hung_at * 60)] * (MINUTES - hung_at))
    hangs.monitor(a, last_run=stuck).monitor(b).monitor(c)
    hangs.expect(hung_at + heartbeat, names.MONITOR_DOWN)  # exactly the tolerance: not yet
    hangs.expect(hung_at + heartbeat + 1, names.MONITOR_DOWN,
                 alert(a, names.MONITOR_CHECK, ids=None))
    never = Monitors("a region that never reported pages after the heartbeat (absent)", MINUTES)
    never.monitor(a).monitor(b)
    never.expect(heartbeat - 1, names.MONITOR_DOWN)  # Prometheus just started: no page yet
    never.expect(heartbeat + 1, names.MONITOR_DOWN,
                 alert(c, names.MONITOR_CHECK, ids=None, target=names.ANY, cohort=names.ANY))
    healthy = Monitors("three monitors completing their runs: nothing", MINUTES)
    for region in (a, b, c):
        healthy.monitor(region)
    healthy.expect(MINUTES, names.MONITOR_DOWN)
    for name in (names.CHECK_FAILING, names.PROBE_LOCATION_FAILING, names.TARGET_UNREACHABLE,
                 names.CHECKS_SKIPPED, names.CHECK_DEGRADED):
        healthy.expect(MINUTES, name)
    return [hangs, never, healthy]


GROUPS = {"quorum": _quorum, "unreachable": _unreachable, "skipped": _skipped,
          "degraded": _degraded, "heartbeat": _heartbeat}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_synthetic_monitor_alerts(group: str, inputs: RuleInputs, rules: dict[str, Any],
                                  rule_file: Path, tmp_path: Path) -> None:
    doc = promtool_test_doc(rules, rule_file, GROUPS[group](inputs))
    result = run_promtool_test(tmp_path / f"{group}.test.yml", doc)
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"


def test_every_synthetic_alert_has_a_scenario(rules: dict[str, Any],
                                              inputs: RuleInputs) -> None:
    fired = {alertname for make in GROUPS.values() for s in make(inputs)
             for _, alertname, alerts in s.expectations if alerts}
    raised = {rule["alert"] for group in rules["groups"] for rule in group["rules"]
              if rule.get("labels", {}).get("component") == names.COMPONENT}
    assert raised == fired, f"synthetic alerts no scenario fires: {sorted(raised - fired)}"


def test_every_synthetic_alert_carries_the_identity_labels(rules: dict[str, Any]) -> None:
    """severity from the rule, check/region/target/cohort from the series (or the rule)."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("labels", {}).get("component") != names.COMPONENT:
                continue
            expr, labels = rule["expr"], rule["labels"]
            kept = set(labels)
            if expr.startswith(NOT_PASSING):
                kept |= set(names.IDENTITY_LABELS)  # the record keeps all four
            # the labels the first aggregation keeps (what the alert's series carry)
            for by in re.findall(r"max by \(([^)]*)\)", expr.splitlines()[0])[:1]:
                kept |= {label.strip() for label in by.split(",")}
            assert set(names.IDENTITY_LABELS) <= kept, (rule["alert"], expr)
            assert labels["severity"] in ("page", "ticket")
            assert rule["annotations"]["runbook_url"].endswith(f"#{rule['alert'].lower()}")
