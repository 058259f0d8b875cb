"""`synthmon gate`: canary vs control over the window -> go (0), rollback (1), hold (2), or
could not evaluate (3).

A gate that cannot evaluate (bad options, an unreadable policy or input, a crash) exits 3
with one sentence, never 2: a hold means "wait and ask again", and a broken invocation
does not get better by waiting. It never says go and never triggers a rollback by accident."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click

from synthmon import durations
from synthmon.durations import Duration
from synthmon.gate.collect import CollectError, read_summary_samples
from synthmon.gate.engine import GateEngine
from synthmon.gate.errors import GateError, GateGroup, remember_out
from synthmon.gate.model import EXIT_HOLD, Decision
from synthmon.gate.recording import Recorder, store_path
from synthmon.gate.report import write_decision
from synthmon.gate.sources import HistorySource, LiveSource
from synthmon.gate.watch import evaluations, judge

EXITS_HELP = ("Exit status: 0 go, 1 rollback, 2 hold (not enough data, or a source is down: "
              "wait and ask again), 3 could not evaluate (a usage error, an unreadable policy "
              "or input, an internal error; decision.json then says verdict `error`).")


@click.group("gate", cls=GateGroup, invoke_without_command=True,
             epilog=EXITS_HELP)
@click.option("--canary", "canary_url", help="Base URL of the canary cohort.")
@click.option("--control", "control_url", help="Base URL of the control cohort.")
@click.option("--phase", default=None, help="Ramp phase: 5, 25, 50, bake or 100. Required.")
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
@click.option("--until-decided", is_flag=True,
              help="With --watch: stop at the first go or rollback instead of watching on "
                   "(a pipeline step that waits for the gate to decide; --watch-for bounds "
                   "the wait, and a hold at its end exits 2).")
@click.option("--interval", type=Duration("1s", "1h"), default=None,
              help="Watch interval, 1s to 1h (default: policy, 60 s).")
@click.option("--on-rollback", default=None, help="Shell command run once on the first trip.")
@click.option("--ledger", default=None, help="Approvals ledger (default: policy).")
@click.option("--suite-dir", default=None, help="Where the suite lives (pytest.ini, tests/).")
@click.option("--policy", "policy_path", default=None, help="canary-policy.yaml to use.")
@click.option("--db", "db_path", default=None, type=click.Path(dir_okay=False),
              help="History store every decision is recorded in (default: --history's, else "
                   "$SYNTH_REPORTS_DIR/history.sqlite or reports/history.sqlite); see "
                   "`synthmon history decisions`.")
@click.option("--no-record", is_flag=True, help="Record no decision in the history store.")
@click.pass_context
def gate_command(ctx: click.Context, canary_url: str | None, control_url: str | None,
                 phase: str | None, window: float | None, prometheus_url: str | None,
                 baseline_file: str | None, history_file: str | None,
                 canary_summary: tuple[str, ...], control_summary: tuple[str, ...],
                 out_dir: str | None, watch: bool, watch_for: float | None,
                 until_decided: bool, interval: float | None, on_rollback: str | None,
                 ledger: str | None, suite_dir: str | None, policy_path: str | None,
                 db_path: str | None, no_record: bool) -> None:
    """Canary vs control over the window: go (exit 0), rollback (1), hold (2), error (3).

    Runs the suite (the phase's scope) against both cohorts side by side, paced, for the
    window; or reads --history / --canary-summary and --control-summary. Writes
    decision.json and decision.md."""
    if ctx.invoked_subcommand is not None:
        return
    if phase is None:
        raise click.UsageError("Missing option '--phase'.", ctx)
    out = Path(out_dir or f"reports/gate/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
                          f"-phase-{phase}")
    remember_out(out)
    recorder = Recorder(None if no_record else store_path(db_path, history_file),
                        "watch" if watch else "gate")
    engine = GateEngine.from_options(policy_path, phase, window, prometheus_url, baseline_file,
                                     ledger)
    total, every = watch_params(engine, watch_for, interval)  # bad durations fail first
    if canary_summary or control_summary:
        if not (canary_summary and control_summary):
            raise GateError("give both --canary-summary and --control-summary")
        if watch:
            raise GateError("--watch re-evaluates a live or --history window; summary files "
                            "are read once (drop --watch)")
        try:
            canary = [s for p in canary_summary for s in read_summary_samples(Path(p))]
            control = [s for p in control_summary for s in read_summary_samples(Path(p))]
        except CollectError as exc:
            raise GateError(str(exc)) from exc
        starts = [s.started_at for s in canary + control]
        elapsed = (max(starts) - min(starts)) if starts else 0.0
        _exit(finish(engine.evaluate(canary, control, max(elapsed, 1.0), debug_dir=out), out,
                     recorder))
    if history_file:
        source: HistorySource | LiveSource = HistorySource(Path(history_file))
    elif canary_url and control_url:
        source = LiveSource(engine.policy, engine.phase_conf()["scope"], canary_url,
                            control_url, suite_dir)
    else:
        raise GateError("give --canary URL and --control URL (or --history, or the "
                        "--canary-summary/--control-summary pair)")
    if not watch:
        _exit(_once(engine, source, out, recorder))
    first = 0.0 if isinstance(source, HistorySource) else every
    code = EXIT_HOLD
    stop = threading.Event()
    with stop_on_sigterm(stop):
        for evaluation in evaluations(engine, source, every, total, first, stop, out):
            decision = evaluation.decision
            code = finish(decision, out, recorder)
            log_watch(out, decision, evaluation.since_start_s)
            if decision.verdict == "rollback":
                if on_rollback:
                    run_on_rollback(on_rollback, out)
                break
            if until_decided and decision.verdict == "go":
                break
    if isinstance(source, LiveSource):
        source.keep_samples(out)
    _exit(code)


@contextlib.contextmanager
def stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM ends a watch cleanly: the evaluation under way finishes and is stored, the
    suite runs are stopped, the samples kept; the exit is the last evaluation's."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (CliRunner may call from another)
        return
    previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _once(engine: GateEngine, source: HistorySource | LiveSource, out: Path,
          recorder: Recorder) -> int:
    if isinstance(source, LiveSource):
        scope = engine.phase_conf()["scope"] or "every check"
        click.echo(f"gate: running the suite against canary and control for "
                   f"{engine.window_s:g} s (scope: {scope})")
        source.start(engine.window_s)
        try:
            source.join()
        finally:
            source.stop()
        source.keep_samples(out)
        # The whole run is the window: every sample gathered since the start counts, the
        # last run's included even when it ended after the window.
        window = source.window(time.time(), math.inf)
        return finish(engine.evaluate(window.canary, window.control, window.elapsed_s,
                                      window.notes, debug_dir=out), out, recorder)
    decision, _ = judge(engine, source, time.time(), out)
    return finish(decision, out, recorder)


def _exit(code: int) -> None:
    raise SystemExit(code)


def finish(decision: Decision, out: Path, recorder: Recorder | None = None) -> int:
    """Write the decision, record it, say it, and return its exit code."""
    try:
        json_path, md_path = write_decision(decision, out)
    except OSError as exc:
        raise GateError(f"cannot write the decision to {out}: {exc.strerror or exc}") from exc
    if recorder is not None:
        recorder.record(decision)
    click.echo(decision.summary)
    click.echo(f"decision: {md_path} and {json_path.name} (exit {decision.exit_code})")
    return decision.exit_code


def run_on_rollback(command: str, decision_dir: Path) -> None:
    env = {**os.environ, "SYNTHMON_DECISION": str(decision_dir / "decision.json")}
    click.echo(f"running --on-rollback: {command}")
    try:
        done = subprocess.run(command, shell=True, env=env, timeout=300, check=False)
        click.echo(f"--on-rollback exited {done.returncode}")
    except subprocess.TimeoutExpired:
        click.echo("--on-rollback did not finish within 300 s; left it", err=True)


def log_watch(out: Path, decision: Decision, at_s: float) -> None:
    """One line per --watch evaluation (decision.md holds only the latest): the sequence
    of verdicts through the phase, for the ship-room and the post-mortem."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "watch.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({"at_s": round(at_s, 1), "generated_at": decision.generated_at,
                              "verdict": decision.verdict, "tripped": decision.tripped()})
                  + "\n")


def watch_params(engine: GateEngine, watch_for: float | None, interval: float | None
                 ) -> tuple[float, float]:
    """(how long to watch, how often to evaluate), from the options or the policy."""
    total = (watch_for if watch_for is not None
             else durations.parse(engine.phase_conf()["duration"]))
    every = interval if interval is not None else float(engine.policy.gate["watch_interval_s"])
    return max(total, every), every


def _subcommands() -> None:
    from synthmon.gate.plan_command import plan_command
    from synthmon.gate.serve.command import serve_command

    gate_command.add_command(plan_command)
    gate_command.add_command(serve_command)


_subcommands()
