"""`synthmon gate plan`: what each phase can detect, before it starts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from synthmon.gate.errors import GateCommand, GateError
from synthmon.gate.plan import (
    Plan,
    SuitePace,
    Traffic,
    format_plan,
    make_plan,
    requests_traffic,
)
from synthmon.gate.prometheus import PrometheusClient, PrometheusError
from synthmon.gate.recording import store_path
from synthmon.history import HistoryError, HistoryStore
from synthmon.policy import Policy, PolicyError, load_policy

RECENT_S = 3600.0  # the traffic a plan assumes: Prometheus's last hour
RUNS_SINCE_S = 7 * 86400.0  # the suite's pace: its runs of the last week


def suite_pace(policy: Policy, history: Path) -> dict[str, SuitePace | None]:
    """The paced suite's figures per cohort, from the runs the history store holds (a
    cohort with no run of its own borrows the other's: the suite is the same)."""
    if not history.is_file():
        return {"canary": None, "control": None}
    try:
        samples = HistoryStore(history, retention_days=None).samples(
            since=time.time() - RUNS_SINCE_S)
    except HistoryError as exc:
        raise GateError(str(exc)) from exc
    pacing = float(policy.gate["pacing_s"])
    pace = {cohort: SuitePace.from_samples(
        [s for s in samples if s.cohort == cohort], pacing,
        f"suite pace from the {cohort} runs in {history}, paced {pacing:g} s apart")
        for cohort in ("canary", "control")}
    if pace["canary"] is None:
        pace["canary"] = pace["control"]
    if pace["control"] is None:
        pace["control"] = pace["canary"]
    return pace


def prometheus_traffic(policy: Policy, url: str) -> Traffic:
    """Each production criterion's event rate (both cohorts) and the control's ratio, over
    Prometheus's last hour."""
    client = PrometheusClient(url, float(policy.gate["prometheus_timeout_s"]))
    window, route = f"{RECENT_S:.0f}s", policy.critical_route_regex()
    events: dict[str, float] = {}
    base: dict[str, float] = {}
    problems: list[str] = []
    for c in policy.criteria:
        if c.source != "prometheus":
            continue
        part = "denominator" if "denominator" in c.promql else (
            "count" if "count" in c.promql else None)
        if part is None:
            continue
        try:
            counts = {cohort: client.query(c.query(part, cohort, window, route), RECENT_S)[0]
                      for cohort in ("canary", "control")}
            events[c.id] = sum(v or 0.0 for v in counts.values()) / RECENT_S
            if "numerator" in c.promql and counts["control"]:
                bad = client.query(c.query("numerator", "control", window, route), RECENT_S)[0]
                base[c.id] = (bad or 0.0) / counts["control"]
        except PrometheusError as exc:
            problems.append(f"{c.id}: {exc}")
    if problems and not events:
        raise GateError("Prometheus gave no rate to plan with: " + "; ".join(problems[:2]))
    return Traffic(events, base, f"Prometheus at {url}, the last hour's rates"
                   + (f" (not read: {'; '.join(problems[:2])})" if problems else ""))


@click.command("plan", cls=GateCommand)
@click.option("--phase", "phases", multiple=True,
              help="Ramp phase to plan (repeatable; default: every phase of the policy).")
@click.option("--traffic", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Expected requests per second of the whole service (both cohorts); the "
                   "phase's share goes to the canary.")
@click.option("--prometheus", "prometheus_url", default=None,
              help="Prometheus base URL: the last hour's rate of each production signal.")
@click.option("--history", "history_file", default=None, type=click.Path(dir_okay=False),
              help="History store whose recorded suite runs give the suite's pace "
                   "(default: $SYNTH_REPORTS_DIR/history.sqlite or reports/history.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON.")
@click.option("--policy", "policy_path", default=None, help="canary-policy.yaml to use.")
def plan_command(phases: tuple[str, ...], traffic: float | None, prometheus_url: str | None,
                 history_file: str | None, as_json: bool, policy_path: str | None) -> None:
    """What each phase can detect: per criterion, the smallest effect caught 9 times in 10
    with the policy's confidence in the phase's window, and the criteria that cannot decide
    at all within the phase (said before the phase, not after).

    Exit status: 0 every judged criterion can decide in every phase asked for, 2 some
    cannot (a hold is certain there), 3 could not plan."""
    try:
        policy = load_policy(policy_path)
        chosen = list(phases) or [str(p) for p in policy.data.get("phases", {})]
        for phase in chosen:
            policy.phase(phase)
    except PolicyError as exc:
        raise GateError(str(exc)) from exc
    pace = suite_pace(policy, store_path(None, history_file))
    if prometheus_url:
        production: Traffic | None = prometheus_traffic(policy, prometheus_url)
    elif traffic is not None:
        production = requests_traffic(policy, traffic)
    else:
        production = None
    plans: list[Plan] = [make_plan(policy, phase, pace, production,
                                   with_prometheus=production is not None)
                         for phase in chosen]
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in plans], indent=2))
    else:
        click.echo("\n\n".join(format_plan(p) for p in plans))
    raise SystemExit(2 if any(p.cannot_decide for p in plans) else 0)
