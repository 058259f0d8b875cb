"""`synthmon baseline`: P50/P95/P99 per critical endpoint of a (control) target."""

from __future__ import annotations

import ipaddress
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import requests

from synthmon import durations
from synthmon.baseline.collect import CollectError, Plan, collect
from synthmon.client_settings import ClientSettings
from synthmon.durations import Duration
from synthmon.output_files import folder_problem
from synthmon.policy import Policy, PolicyError, load_policy
from synthmon.samples import Sample
from synthmon.targets import TargetError, TargetSpec, down, health_report, resolve

# Off loopback the baseline runs against real deployments, production included: at least
# this pause between two suite runs keeps it the ordinary synthetic traffic, not a load.
MIN_REMOTE_PACE_S = 1.0


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_target(target: str, policy: Policy) -> tuple[str, TargetSpec]:
    """A URL or a policy target name, as the suite resolves it; the embedded sandbox is
    not one the baseline can measure (each suite run would start a fresh one)."""
    try:
        spec = resolve(target, policy)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from exc
    if spec.url is None:
        raise click.BadParameter(
            f"target {spec.name!r} is the embedded sandbox, which each suite run would start "
            "afresh: start one (`synthmon sandbox --port 0 --ready-file F`) and pass its URL",
            param_hint="--target")
    return spec.url, spec


def probe(url: str, client: ClientSettings) -> dict[str, str]:
    """GET /health once, as every synthetic call goes out (the policy's User-Agent, e2e=1):
    the target's build, or the suite's sentence for a target that does not answer."""
    try:
        response = requests.get(f"{url}/health", params={"e2e": "1"}, timeout=client.timeout,
                                headers=client.headers)
    except requests.RequestException as exc:
        raise click.ClickException(
            down(url, f"{type(exc).__name__}: {exc}") + ". No baseline was measured.") from exc
    reported = health_report(response.status_code, response.content)
    return {k: str(reported.get(k) or "") for k in ("build_id", "git_sha")}


def from_history(path: Path, since_s: float, cohort: str
                 ) -> tuple[list[Sample], dict[str, Any]]:
    """The samples the monitor already recorded: no traffic at all. One build only (the
    newest in the window), since a baseline is of one build."""
    from synthmon.history import HistoryError, HistoryStore

    if not path.is_file():
        raise click.ClickException(f"{path}: no history store there (the suite writes "
                                   "reports/history.sqlite)")
    try:
        until = time.time()
        start = until - since_s
        store = HistoryStore(path)
        samples = store.samples(since=start, until=until, cohort=cohort)
        runs = store.runs(since=start, until=until, cohort=cohort)
    except (HistoryError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    since = durations.describe(since_s)
    if not samples:
        raise click.ClickException(f"{path}: no {cohort} samples in the last {since}; run the "
                                   "monitor longer, widen --since, or measure with --target")
    build = samples[-1].build_id
    kept = [s for s in samples if s.build_id == build]
    per_run = Counter(s.run_id for s in kept)
    last = next((r for r in reversed(runs) if r.run_id in per_run), None)
    meta = {
        "target": Counter(s.target for s in kept).most_common(1)[0][0],
        "target_name": last.target_name if last else "history",
        "environment": last.environment if last else "unknown",
        "cohort": cohort, "build_id": build, "git_sha": kept[-1].git_sha,
        "started_at": kept[0].started_at, "finished_at": kept[-1].started_at,
        "runs": [{"run_id": run_id, "exit_status": None, "requests": n}
                 for run_id, n in per_run.items()],
        "stopped_because": (f"read from {path}: {len(per_run)} runs of build {build} in the "
                            f"last {since}" + (f"; {len(samples) - len(kept)} samples of other "
                                               "builds left out" if len(kept) < len(samples)
                                               else "")),
    }
    return kept, meta


@click.command("baseline")
@click.option("--target", default=None, help="Base URL (or a policy target name) to measure.")
@click.option("--history", "history_path", type=click.Path(dir_okay=False), default=None,
              help="Instead of --target: the samples already in this history store "
                   "(reports/history.sqlite), sending no traffic at all.")
@click.option("--since", type=Duration("1m", "3650d"), default="24h", show_default=True,
              help="With --history: how far back to read (a duration, e.g. 24h or 7d).")
@click.option("--samples", "wanted", type=click.IntRange(1, 10_000), default=80,
              show_default=True,
              help="Samples wanted per critical endpoint (a P95 interval needs 72).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports/baseline",
              show_default=True, help="Where baseline.json, baseline.md, baseline.png go.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="Policy file (default: $SYNTH_POLICY or ./canary-policy.yaml).")
@click.option("--cohort", type=click.Choice(["control", "canary"]), default="control",
              show_default=True, help="Cohort tag of the measured samples.")
@click.option("--pace", "pace_s", type=Duration(0, "10m"), default=2.0, show_default=True,
              help=f"Pause between two suite runs, seconds or a duration (at least "
                   f"{MIN_REMOTE_PACE_S:g} s off loopback).")
@click.option("--max-runs", type=click.IntRange(1, 500), default=100, show_default=True,
              help="Most suite runs to make.")
@click.option("--max-duration", "max_duration_s", type=Duration("1s", "1d"), default=900.0,
              show_default=True,
              help="Stop starting runs after this long (seconds, or a duration like 20m).")
@click.option("-m", "--marker", default=None, help="Only checks matching this marker expression.")
def baseline_command(target: str | None, history_path: str | None, since: float, wanted: int,
                     out_dir: str, policy_path: str | None, cohort: str, pace_s: float,
                     max_runs: int, max_duration_s: float, marker: str | None) -> None:
    """Measure P50/P95/P99 per critical endpoint by running the synthetic suite, paced
    (or from the samples a history store already holds).

    Writes baseline.json (read by `synthmon gate --baseline`), baseline.md and a plot.
    """
    if (target is None) == (history_path is None):
        raise click.UsageError("give --target URL (measure it now) or --history FILE "
                               "(use the samples already recorded), not both")
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    problem = folder_problem(Path(out_dir))
    if problem is not None:  # said before any traffic is sent, not after
        raise click.BadParameter(f"{out_dir}: cannot write the baseline there: {problem}",
                                 param_hint="--out")
    critical = frozenset(policy.critical_endpoints())
    if history_path is not None:
        samples, meta = from_history(Path(history_path), since, cohort)
    else:
        samples, meta = measure(policy, target or "", critical, wanted, cohort, pace_s,
                                max_runs, max_duration_s, marker)
    _write(policy, samples, meta, wanted, critical, Path(out_dir))


def measure(policy: Policy, target: str, critical: frozenset[str], wanted: int, cohort: str,
            pace_s: float, max_runs: int, max_duration_s: float, marker: str | None
            ) -> tuple[list[Sample], dict[str, Any]]:
    url, spec = resolve_target(target, policy)
    if not _is_loopback(url) and pace_s < MIN_REMOTE_PACE_S:
        raise click.BadParameter(f"{pace_s:g} s is too short off loopback (at least "
                                 f"{MIN_REMOTE_PACE_S:g} s)", param_hint="--pace")
    try:
        client = ClientSettings.from_policy(policy)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    build = probe(url, client)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="synthmon-baseline-") as scratch:
        plan = Plan(target=url, samples=wanted, critical=critical, reports_dir=Path(scratch),
                    project_dir=policy.path.parent, pace_s=pace_s, max_runs=max_runs,
                    max_duration_s=max_duration_s, cohort=cohort, marker=marker,
                    policy=policy.path)
        try:
            result = collect(plan, log=lambda line: click.echo(f"synthmon baseline: {line}",
                                                               err=True))
        except CollectError as exc:
            raise click.ClickException(str(exc)) from exc
    first = result.runs[0].summary  # collect() makes at least one run, or raises
    meta = {
        "target": url, "target_name": first["target_name"] or spec.name,
        "environment": first["environment"] or spec.environment, "cohort": cohort,
        "build_id": build["build_id"] or first["build_id"],
        "git_sha": build["git_sha"] or first["git_sha"],
        "started_at": started, "finished_at": time.time(),
        "runs": [{"run_id": r.run_id, "exit_status": r.exit_status, "requests": r.requests}
                 for r in result.runs],
        "stopped_because": result.stopped_because,
    }
    failed_runs = sum(1 for r in result.runs if r.exit_status != 0)
    click.echo(f"synthmon baseline: {len(result.samples)} samples from {len(result.runs)} runs "
               f"({failed_runs} with failing checks)", err=True)
    return result.samples, meta


def _write(policy: Policy, samples: list[Sample], meta: dict[str, Any], wanted: int,
           critical: frozenset[str], out_dir: Path) -> None:
    from synthmon.baseline.report import build_baseline, write_reports

    budgets = {e: policy.budget(*e.split(" ", 1)).budget_ms for e in critical}
    doc = build_baseline(samples, meta=meta, wanted=wanted, critical=critical,
                         budgets=budgets)
    limit = next((c.threshold for c in policy.criteria if c.id == "latency_p95_critical"), None)
    slo_ms = policy.latency_slo_ms
    paths = write_reports(doc, out_dir, slo_ms=slo_ms, limit_ms=limit)
    click.echo(f"synthmon baseline: wrote {paths['json']}, {paths['md']}, {paths['png']}")
    if doc["missing"]:
        click.echo(f"synthmon baseline: critical endpoints never called: "
                   f"{', '.join(doc['missing'])}", err=True)
