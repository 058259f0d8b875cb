"""`synthmon history`: query the run history store (reports/history.sqlite) from a shell.

Prints, for a window and filters, either one line per endpoint (count, errors, P50/P95/P99;
then the endpoints whose answers drifted from their schema and the median timing phases)
or the samples themselves as JSON lines, so an on-call engineer can answer "since when is
this endpoint slow, or answering members no schema names, and on which build" without
opening SQLite.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from synthmon import durations
from synthmon.history import HistoryError, HistoryStore
from synthmon.history.report import history_figures, render_table


def parse_when(value: str | None, now: float) -> float | None:
    """'15m' / '2h' / '7d' ago (synthmon.durations), a unix timestamp, or an ISO 8601 time."""
    if value is None:
        return None
    try:
        return now - durations.parse(value, bare_seconds=False)
    except durations.DurationError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is neither a duration ({durations.EXAMPLES}), a unix time, nor an "
            "ISO 8601 time"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def default_db() -> Path:
    return Path(os.environ.get("SYNTH_REPORTS_DIR", "reports")) / "history.sqlite"


@click.group("history", invoke_without_command=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The store (default: $SYNTH_REPORTS_DIR/history.sqlite, else "
                   "reports/history.sqlite).")
@click.option("--since", default="15m", show_default=True,
              help="Window start: a duration ago (15m, 2h, 7d), a unix time or ISO 8601.")
@click.option("--until", default=None, help="Window end (default: now).")
@click.option("--cohort", default=None, help="canary or control.")
@click.option("--endpoint", default=None, help='"METHOD /route/template".')
@click.option("--build", "build_id", default=None, help="Only this build id.")
@click.option("--region", default=None, help="Only this region.")
@click.option("--run", "run_ids", multiple=True, help="Only these run ids (repeatable).")
@click.option("--samples", "as_samples", is_flag=True,
              help="Print the samples as JSON lines instead of per-endpoint figures.")
@click.option("--json", "as_json", is_flag=True,
              help="Per-endpoint figures as JSON: summary.json's endpoint members "
                   "(schema_drift, drifted, phases_ms among them), the builds drift was seen "
                   "on and when.")
@click.option("--prune", is_flag=True, help="Delete what is older than --retention-days first.")
@click.option("--retention-days", type=float, default=None,
              help="Retention for --prune (default: $SYNTH_HISTORY_RETENTION_DAYS or 30).")
@click.pass_context
def history_command(ctx: click.Context, db_path: Path | None, since: str, until: str | None,
                    cohort: str | None, endpoint: str | None, build_id: str | None,
                    region: str | None, run_ids: tuple[str, ...], as_samples: bool,
                    as_json: bool, prune: bool, retention_days: float | None) -> None:
    """Query the run history: per-endpoint figures or raw samples for a window.

    `synthmon history decisions` lists the release gate's verdicts instead."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db_path
        return
    now = time.time()
    path = db_path or default_db()
    if retention_days is None:
        retention_days = float(os.environ.get("SYNTH_HISTORY_RETENTION_DAYS", "30"))
    store = HistoryStore(path, retention_days=retention_days)
    if not path.exists():
        raise click.ClickException(f"no history store at {path}: run the suite first (pytest)")
    try:
        if prune:
            store.prune()
        samples = store.samples(since=parse_when(since, now), until=parse_when(until, now),
                                cohort=cohort, endpoint=endpoint, build_id=build_id,
                                region=region, run_ids=list(run_ids) or None)
    except HistoryError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_samples:
        for sample in samples:
            click.echo(json.dumps(sample.to_dict(), sort_keys=True))
        return
    figures = history_figures(samples)
    if as_json:
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
        return
    if not figures:
        click.echo("no samples in that window")
        return
    for line in render_table(samples, figures):
        click.echo(line)


@history_command.command("decisions")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The store (default: the one `synthmon history` reads).")
@click.option("--phase", default=None, help="Only this ramp phase's verdicts.")
@click.option("--since", default="24h", show_default=True,
              help="Window start: a duration ago (15m, 2h, 7d), a unix time or ISO 8601.")
@click.option("--until", default=None, help="Window end (default: now).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per verdict (the decision as the gate wrote it).")
@click.pass_obj
def decisions_command(parent_db: Path | None, db_path: Path | None, phase: str | None,
                      since: str, until: str | None, as_json: bool) -> None:
    """The release gate's verdicts, oldest first: every evaluation of `synthmon gate`,
    `gate --watch` and `gate serve`, with the criteria that decided."""
    now = time.time()
    path = db_path or parent_db or default_db()
    if not path.exists():
        raise click.ClickException(f"no history store at {path}: no gate evaluation was "
                                   "recorded there")
    try:
        rows = HistoryStore(path, retention_days=None).decisions(
            since=parse_when(since, now), until=parse_when(until, now), phase=phase)
    except HistoryError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        for row in rows:
            click.echo(json.dumps({"evaluated_at": row["evaluated_at"], "origin": row["origin"],
                                   **row["decision"]}, sort_keys=True))
        return
    if not rows:
        click.echo("no gate verdicts in that window")
        return
    click.echo(f"{'evaluated at (UTC)':<20} {'phase':<6} {'verdict':<9} {'by':<6} decided by")
    for row in rows:
        decision = row["decision"]
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["evaluated_at"]))
        click.echo(f"{at:<20} {decision['phase']:<6} {decision['verdict']:<9} "
                   f"{row['origin']:<6} {_decided_by(decision)}")


def _decided_by(decision: dict[str, Any]) -> str:
    """The criteria behind the verdict: tripped ones for a rollback, held ones for a hold."""
    verdict = decision["verdict"]
    if verdict == "error":
        return str(decision.get("summary", ""))[:100]
    wanted = {"rollback": "rollback", "hold": "hold"}.get(verdict)
    if wanted is None:
        judged = [c for c in decision.get("criteria", []) if c["verdict"] == "go"]
        return f"{len(judged)} criteria pass"
    return ", ".join(c["id"] for c in decision.get("criteria", []) if c["verdict"] == wanted)
