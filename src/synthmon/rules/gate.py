"""The gate's own alerts, read from what `synthmon gate serve` exposes on /metrics
(docs/gate-serve.md): a rollback verdict pages, naming the phase and each criterion that
decided it; a gate whose last evaluation is stale, or that no Prometheus scrapes any more,
pages (its verdict then reads as error: Argo Rollouts pauses on it, Flagger's rollout hook
does not, and nothing rolls a bad canary back); evaluations that keep failing open a ticket.

Severities, counts and windows come from the policy's alerting.gate and gate sections. The
staleness itself is the gate's own: it exports the age past which it serves its verdict as
error (synthmon_gate_stale_after_seconds, from gate.stale_intervals and the interval it
runs at), and the alert compares with that, so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from synthmon import durations
from synthmon.rules.model import RuleInputs

GROUP = "synthmon-gate"
COMPONENT = "gate"

ROLLBACK = "GateVerdictRollback"
STALE = "GateStale"
FAILING = "GateEvaluationsFailing"

# gate serve's series (synthmon.gate.serve.metrics); Prometheus adds job and instance.
VERDICT = "synthmon_gate_verdict"
CRITERION_VERDICT = "synthmon_gate_criterion_verdict"
AGE = "synthmon_gate_evaluation_age_seconds"
STALE_AFTER = "synthmon_gate_stale_after_seconds"
ERRORS = "synthmon_gate_evaluation_errors_total"
GATE = "job, instance, phase"
# What a rollback names when the gate sends no criterion with it (the gate always sends one
# today: a rollback is a criterion tripping; this keeps the page if that ever changes).
NO_CRITERION = "none named"


def _alert(name: str, expr: str, severity: str, summary: str, description: str,
           runbook: str, *, for_: str | None = None,
           labels: dict[str, str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "component": COMPONENT, **(labels or {})}
    rule["annotations"] = {"summary": summary, "description": description,
                           "runbook_url": f"{runbook}#{name.lower()}"}
    return rule


def gate_alerts(inputs: RuleInputs, runbook: str) -> list[dict[str, Any]]:
    watch = inputs.alerting.gate
    phase, criterion = "{{ $labels.phase }}", "{{ $labels.criterion }}"
    instance = "{{ $labels.instance }}"
    rollback = f'{VERDICT}{{verdict="rollback"}} == 1'
    tolerance = durations.prometheus_form(watch.stale_after_s)
    alerts = [
        # One alert per criterion that tripped (Alertmanager groups them into one page); the
        # `or` keeps a rollback that names none.
        _alert(
            ROLLBACK,
            f'(\n  {CRITERION_VERDICT}{{verdict="rollback"}} == 1\n'
            f"  and on ({GATE}) {rollback}\n)\n"
            f"or on ({GATE})\n"
            f'label_replace({rollback}, "criterion", "{NO_CRITERION}", "", "")',
            "page",
            f"The release gate says ROLLBACK for phase {phase}: {criterion} tripped",
            f"synthmon gate serve ({instance}) judged phase {phase} and the criterion "
            f"{criterion} is proven over its threshold: roll the canary back. Its page and "
            "/api/v1/verdict give the numbers, the bound and the synthetic ids.",
            runbook),
        _alert(
            STALE,
            f"{AGE} > {STALE_AFTER}",
            watch.stale_severity,
            f"The release gate {instance} has not evaluated for {watch.stale_intervals} "
            "intervals and a suite run's timeout: its verdict reads as error",
            f"synthmon gate serve ({instance}) answers, but its last evaluation is older than "
            f"{watch.stale_intervals} evaluation intervals plus one suite run's timeout: the "
            "evaluating process hangs or died. Its verdict is served as error, so no rollback "
            "can come from it while the canary takes traffic.",
            runbook, labels={"reason": "stale"}),
        _alert(
            FAILING,
            f"increase({ERRORS}[{watch.failing_window}]) >= {watch.failing_evaluations}",
            watch.failing_severity,
            f"The release gate {instance} failed {watch.failing_evaluations} or more "
            f"evaluations in {watch.failing_window}",
            f"synthmon gate serve ({instance}) could not make {watch.failing_evaluations} or "
            f"more of its evaluations in the last {watch.failing_window} (verdict error: "
            "Prometheus unreachable or answering badly, the suite crashing, a usage error): "
            "while they fail it judges nothing. Its decision.json and gate-debug.log say why.",
            runbook),
    ]
    if watch.expected:
        # absent() with `for:`, as for the monitors: a Prometheus that has just started has no
        # history, and the gate must be missing for as long as it may go without evaluating.
        alerts.append(_alert(
            STALE,
            f"absent({VERDICT})",
            watch.stale_severity,
            f"No release gate scraped for {tolerance}: nobody judges the canary",
            f"No synthmon gate serve has been scraped for {tolerance} (its stale time at the "
            "policy's interval): it stopped, was never started, or Prometheus cannot reach "
            "its /metrics. No rollback verdict can come while the canary takes traffic.",
            runbook, for_=tolerance, labels={"reason": "absent"}))
    return alerts
