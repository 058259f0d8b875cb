"""`synthmon gate`: canary vs control over the window -> go (0), rollback (1) or hold (2).

Errors of the gate itself (bad options, unreadable inputs) exit 2 as well: a gate that
cannot decide holds, it never says go and never triggers a rollback by accident."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import click

from synthmon import durations
from synthmon.durations import Duration
from synthmon.gate.approvals import approval_status, ledger_path
from synthmon.gate.baseline_input import BaselineError, load_baseline
from synthmon.gate.collect import (
    CohortRunner,
    CollectError,
    SideBySide,
    read_history,
    read_summary_samples,
    suite_dir,
)
from synthmon.gate.decide import evaluate
from synthmon.gate.model import Baseline, Decision, GateInput
from synthmon.gate.prometheus import PrometheusClient, PrometheusError
from synthmon.gate.report import write_decision
from synthmon.policy import Policy, PolicyError, load_policy
from synthmon.samples import Sample


class GateError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"synthmon gate: {self.message} (verdict: hold, exit 2)", err=True)


class _DeadPrometheus(PrometheusClient):
    """Prometheus failed the probe: every query fails at once with the same reason,
    instead of each waiting for its own timeout."""

    def __init__(self, url: str, reason: str):
        super().__init__(url)
        self.reason = reason

    def query(self, promql: str):  # type: ignore[override]
        self.sent.append(promql)
        raise PrometheusError(self.reason)


def _prometheus(url: str | None, policy: Policy) -> PrometheusClient | None:
    if not url:
        return None
    client = PrometheusClient(url, float(policy.gate["prometheus_timeout_s"]))
    try:
        client.query("vector(1)")
    except PrometheusError as exc:
        return _DeadPrometheus(url, str(exc))
    client.sent.clear()
    return client


@click.command("gate")
@click.option("--canary", "canary_url", help="Base URL of the canary cohort.")
@click.option("--control", "control_url", help="Base URL of the control cohort.")
@click.option("--phase", required=True, help="Ramp phase: 5, 25, 50, bake or 100.")
@click.option("--window", type=Duration("1s", "1d"), default=None,
              help="Rolling window, e.g. 15m or 20s, 1s to 1d (default: policy).")
@click.option("--prometheus", "prometheus_url", default=None,
              help="Prometheus base URL for the production-only signals.")
@click.option("--baseline", "baseline_file", default=None, type=click.Path(dir_okay=False),
              help="baseline.json from `synthmon baseline` for the 'vs baseline' criteria.")
@click.option("--history", "history_file", default=None, type=click.Path(dir_okay=False),
              help="Read the window from this history store instead of running the suite.")
@click.option("--canary-summary", multiple=True, type=click.Path(exists=True),
              help="Read canary samples from summary.json files (or dirs of runs).")
@click.option("--control-summary", multiple=True, type=click.Path(exists=True),
              help="Read control samples from summary.json files (or dirs of runs).")
@click.option("--out", "out_dir", default=None, help="Where decision.json/.md go.")
@click.option("--watch", is_flag=True, help="Re-evaluate every interval through the phase.")
@click.option("--watch-for", type=Duration("1s", "7d"), default=None,
              help="How long to watch, 1s to 7d (default: the phase).")
@click.option("--interval", type=Duration("1s", "1h"), default=None,
              help="Watch interval, 1s to 1h (default: policy, 60 s).")
@click.option("--on-rollback", default=None, help="Shell command run once on the first trip.")
@click.option("--ledger", default=None, help="Approvals ledger (default: policy).")
@click.option("--suite-dir", default=None, help="Where the suite lives (pytest.ini, tests/).")
@click.option("--policy", "policy_path", default=None, help="canary-policy.yaml to use.")
def gate_command(canary_url: str | None, control_url: str | None, phase: str,
                 window: float | None, prometheus_url: str | None, baseline_file: str | None,
                 history_file: str | None, canary_summary: tuple[str, ...],
                 control_summary: tuple[str, ...], out_dir: str | None, watch: bool,
                 watch_for: float | None, interval: float | None, on_rollback: str | None,
                 ledger: str | None, suite_dir: str | None, policy_path: str | None) -> None:
    """Canary vs control over the window: go (exit 0), rollback (1) or hold (2).

    Runs the suite (the phase's scope) against both cohorts side by side, paced, for the
    window; or reads --history / --canary-summary and --control-summary. Writes
    decision.json and decision.md."""
    try:
        policy = load_policy(policy_path)
        phase_conf = policy.phase(phase)
        window_s = window if window is not None else policy.window_s
    except PolicyError as exc:
        raise GateError(str(exc)) from exc
    baseline, notes = _baseline(baseline_file)
    out = Path(out_dir or f"reports/gate/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                          f"-phase-{phase}")
    ctx = _Context(policy, phase, phase_conf, window_s, baseline, notes, out,
                   _prometheus(prometheus_url, policy), ledger)
    if canary_summary or control_summary:
        if not (canary_summary and control_summary):
            raise GateError("give both --canary-summary and --control-summary")
        try:
            canary = [s for p in canary_summary for s in read_summary_samples(Path(p))]
            control = [s for p in control_summary for s in read_summary_samples(Path(p))]
        except CollectError as exc:
            raise GateError(str(exc)) from exc
        starts = [s.started_at for s in canary + control]
        elapsed = (max(starts) - min(starts)) if starts else 0.0
        ctx.finish(ctx.decide(canary, control, max(elapsed, 1.0)))
    elif history_file:
        _from_history(ctx, Path(history_file), watch, watch_for, interval, on_rollback)
    else:
        if not (canary_url and control_url):
            raise GateError("give --canary URL and --control URL (or --history, or the "
                            "--canary-summary/--control-summary pair)")
        _live(ctx, canary_url, control_url, suite_dir, watch, watch_for, interval, on_rollback)


def _baseline(path: str | None) -> tuple[Baseline | None, list[str]]:
    if not path:
        return None, ["No --baseline given: the 'vs baseline' criteria compare with the control."]
    if not Path(path).is_file():
        return None, [f"Baseline {path} does not exist: the 'vs baseline' criteria compare "
                      "with the control."]
    try:
        return load_baseline(path), []
    except BaselineError as exc:
        raise GateError(str(exc)) from exc


class _Context:
    def __init__(self, policy: Policy, phase: str, phase_conf: dict, window_s: float,
                 baseline: Baseline | None, notes: list[str], out: Path,
                 prometheus: PrometheusClient | None, ledger: str | None):
        self.policy, self.phase, self.phase_conf = policy, phase, phase_conf
        self.window_s, self.baseline, self.notes, self.out = window_s, baseline, notes, out
        self.prometheus, self.ledger = prometheus, ledger

    def decide(self, canary: list[Sample], control: list[Sample], elapsed_s: float,
               extra_notes: list[str] | None = None) -> Decision:
        inp = GateInput(
            canary=canary, control=control, elapsed_s=elapsed_s, phase=self.phase,
            traffic_share=float(self.phase_conf["traffic_percent"]) / 100,
            phase_duration_s=durations.parse(self.phase_conf["duration"]),
            window_s=self.window_s, baseline=self.baseline, scope=self.phase_conf["scope"],
            notes=self.notes + (extra_notes or []))
        decision = evaluate(self.policy, inp, self.prometheus)
        if decision.verdict == "go":
            builds = sorted({s.build_id for s in canary})
            status = approval_status(
                ledger_path(str(self.policy.path), self.ledger), self.phase,
                self.policy.approvals, builds[0] if len(builds) == 1 else None)
            decision.approvals = status
            decision.summary += (". Approvals missing: " + ", ".join(status["missing"])
                                 if status["missing"] else ". Every approval is recorded.")
        return decision

    def finish(self, decision: Decision, exit_now: bool = True) -> int:
        json_path, md_path = write_decision(decision, self.out)
        click.echo(decision.summary)
        click.echo(f"decision: {md_path} and {json_path.name} (exit {decision.exit_code})")
        if exit_now:
            raise SystemExit(decision.exit_code)
        return decision.exit_code


def _run_on_rollback(command: str, decision_dir: Path) -> None:
    env = {**os.environ, "SYNTHMON_DECISION": str(decision_dir / "decision.json")}
    click.echo(f"running --on-rollback: {command}")
    try:
        done = subprocess.run(command, shell=True, env=env, timeout=300, check=False)
        click.echo(f"--on-rollback exited {done.returncode}")
    except subprocess.TimeoutExpired:
        click.echo("--on-rollback did not finish within 300 s; left it", err=True)


def _keep_samples(out: Path, runners: list[CohortRunner]) -> None:
    """The samples the decision was made on, beside it (in summary.json's shape): the
    evidence can be re-read, and the decision replayed offline with --canary-summary
    out/canary.summary.json --control-summary out/control.summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    for runner in runners:
        path = out / f"{runner.cohort}.summary.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cohort": runner.cohort, "target": runner.url,
                                   "runs": runner.runs,
                                   "requests": [s.to_dict() for s in runner.samples]}),
                       encoding="utf-8")
        tmp.replace(path)


def _log_watch(out: Path, decision: Decision, at_s: float) -> None:
    """One line per --watch evaluation (decision.md holds only the latest): the sequence
    of verdicts through the phase, for the ship-room and the post-mortem."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "watch.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"at_s": round(at_s, 1), "generated_at": decision.generated_at,
                              "verdict": decision.verdict, "tripped": decision.tripped()})
                  + "\n")


def _watch_params(ctx: _Context, watch_for: float | None, interval: float | None
                  ) -> tuple[float, float]:
    total = watch_for if watch_for is not None else durations.parse(ctx.phase_conf["duration"])
    every = interval if interval is not None else float(ctx.policy.gate["watch_interval_s"])
    return max(total, every), every


def _live(ctx: _Context, canary_url: str, control_url: str, suite: str | None, watch: bool,
          watch_for: float | None, interval: float | None, on_rollback: str | None) -> None:
    try:
        cwd = suite_dir(suite)
    except CollectError as exc:
        raise GateError(str(exc)) from exc
    gate = ctx.policy.gate
    runners = [CohortRunner(url, cohort, ctx.phase_conf["scope"], cwd,
                            float(gate["pacing_s"]),
                            float(gate["run_timeout_s"]),
                            policy_path=str(ctx.policy.path))
               for url, cohort in ((canary_url, "canary"), (control_url, "control"))]
    both = SideBySide(runners)
    if not watch:
        click.echo(f"gate: running the suite against canary and control for "
                   f"{ctx.window_s:g} s (scope: {ctx.phase_conf['scope'] or 'every check'})")
        both.start(ctx.window_s)
        both.join()
        elapsed = time.time() - both.started_at
        notes = [f for r in runners for f in r.failures[:3]]
        _keep_samples(ctx.out, runners)
        ctx.finish(ctx.decide(runners[0].samples, runners[1].samples, elapsed, notes))
        return
    total, every = _watch_params(ctx, watch_for, interval)
    both.start(total)
    tripped = False
    code = 2
    try:
        while True:
            end = time.time() + every
            while time.time() < end and both.alive:
                time.sleep(0.5)
            now = time.time()
            since = max(both.started_at, now - ctx.window_s)
            notes = [f for r in runners for f in r.failures[-3:]]
            decision = ctx.decide(runners[0].since(since), runners[1].since(since),
                                  now - since, notes)
            code = ctx.finish(decision, exit_now=False)
            _log_watch(ctx.out, decision, now - both.started_at)
            if decision.verdict == "rollback" and not tripped:
                tripped = True
                if on_rollback:
                    _run_on_rollback(on_rollback, ctx.out)
                break
            if not both.alive:
                break
    finally:
        both.cancel()
        _keep_samples(ctx.out, runners)
    raise SystemExit(code)


def _from_history(ctx: _Context, path: Path, watch: bool, watch_for: float | None,
                  interval: float | None, on_rollback: str | None) -> None:
    def once() -> Decision:
        now = time.time()
        try:
            canary = read_history(path, now - ctx.window_s, now, "canary")
            control = read_history(path, now - ctx.window_s, now, "control")
        except (CollectError, Exception) as exc:  # the store is someone else's: any failure holds
            raise GateError(f"cannot read the history store {path}: {exc}") from exc
        return ctx.decide(canary, control, ctx.window_s)

    if not watch:
        ctx.finish(once())
        return
    total, every = _watch_params(ctx, watch_for, interval)
    deadline = time.time() + total
    code = 2
    while True:
        decision = once()
        code = ctx.finish(decision, exit_now=False)
        _log_watch(ctx.out, decision, total - (deadline - time.time()))
        if decision.verdict == "rollback":
            if on_rollback:
                _run_on_rollback(on_rollback, ctx.out)
            break
        if time.time() + every > deadline:
            break
        time.sleep(every)
    raise SystemExit(code)
