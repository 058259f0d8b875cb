"""`synthmon monitor`: the suite every interval, failures confirmed with backoff, /metrics."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import click

from synthmon.durations import Duration
from synthmon.monitor import backoff as confirmation
from synthmon.monitor.events import EventSink, JsonLines, fan_out, github_annotations
from synthmon.monitor.loop import INTERVAL_S, Monitor, MonitorConfig
from synthmon.monitor.metrics import MonitorMetrics
from synthmon.monitor.runner import PytestRunner
from synthmon.monitor.target import identity_of, metrics_url


@click.command(
    "monitor",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--target", required=True, help="Base URL (or policy target name) to watch.")
@click.option("--region", envvar="SYNTH_REGION", default="local", show_default=True,
              help="Where this monitor probes from ($SYNTH_REGION): on every metric and "
                   "sample, and the label the alerting rules count regions by.")
@click.option("--cohort", type=click.Choice(["canary", "control"]), default=None,
              help="The target's cohort (default: the policy target's; control for a URL).")
@click.option("--interval", type=Duration("1s", "1d"), default=INTERVAL_S, show_default=True,
              help="Between cycles, seconds or a duration (1s to 1d); cycles start on "
                   "multiples of it (wall clock).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Stop after this many cycles (default: run until SIGTERM).")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), default=0,
              show_default=True, help="Port of /metrics; 0 picks a free one.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="Address /metrics binds to; 0.0.0.0 (or ::) lets a Prometheus elsewhere "
                   "scrape it (docs/alerting.md).")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the runs' reports (default: a temporary folder removed at exit).")
@click.option("--keep-runs", type=click.IntRange(min=1), default=20, show_default=True,
              help="Run folders kept under --reports-dir.")
@click.option("--retries", type=click.IntRange(min=0), default=confirmation.RETRIES,
              show_default=True,
              help="Confirmation re-runs of a failing check per cycle.")
@click.option("--retry-base", type=click.FloatRange(min=0), default=confirmation.BASE_S,
              show_default=True,
              help="First backoff delay in seconds; doubles for each re-run.")
@click.option("--retry-cap", type=click.FloatRange(min=0), default=None,
              help="Largest backoff delay (default: half the interval).")
@click.option("--jitter", type=click.FloatRange(min=0, max=1), default=confirmation.JITTER,
              show_default=True,
              help="The random share of each delay: a wait is drawn between (1-jitter) x "
                   "the delay and the delay (1 = full jitter).")
@click.option("--run-timeout", type=Duration("1s", "1h"), default=None,
              help="Kill a run after this long (default: max(30 s, 2 x interval)).")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write {\"metrics_url\", \"pid\"} here once /metrics is served.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def monitor_command(
    target: str,
    region: str,
    cohort: str | None,
    interval: float,
    iterations: int | None,
    metrics_port: int,
    metrics_host: str,
    reports_dir: Path | None,
    keep_runs: int,
    retries: int,
    retry_base: float,
    retry_cap: float | None,
    jitter: float,
    run_timeout: float | None,
    ready_file: Path | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Run the synthetic suite against TARGET every INTERVAL seconds.

    Extra arguments go to pytest (e.g. `-m health` or `-k search`); pytest checks them all
    once before the first cycle, and a target or argument it refuses ends the monitor at
    once with its sentence (exit 2). A failing check is re-run alone after 5, 10, 20 s
    (jittered, capped below the interval) before it is declared failing; a skipped check is
    its own state, never a pass; a target that answers no call at all is one state
    (`synthmon:target`), not a failure per check. Logs are JSON lines on stderr, each run's
    `reason` among them; the last failing run's pytest output is kept as
    last-run-output.txt. Exit status 1 when a check is failing or a critical check skipped
    at the end, 0 otherwise (also after SIGTERM).
    """
    try:
        identity = identity_of(target, region, cohort)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from exc
    pytest_args = (f"--region={region}", f"--cohort={identity.cohort}", *pytest_args)
    temp: tempfile.TemporaryDirectory[str] | None = None
    if reports_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="synthmon-monitor-")
        reports_dir = Path(temp.name)
    config = MonitorConfig(
        interval=interval,
        iterations=iterations,
        backoff=confirmation.confirmation_backoff(interval, retries=retries, base_s=retry_base,
                                                  cap_s=retry_cap, jitter=jitter),
        reports_root=reports_dir,
        keep_runs=keep_runs,
    )
    runner = PytestRunner(
        target,
        pytest_args,
        suite_root=Path.cwd(),
        timeout_s=run_timeout if run_timeout is not None else max(30.0, 2 * interval),
        reports_root=reports_dir,
    )
    refused = runner.preflight()
    if refused is not None:
        if temp is not None:
            temp.cleanup()
        raise click.UsageError(f"{refused} (nothing was monitored)")
    emit: EventSink = JsonLines(sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        emit = fan_out(emit, github_annotations(sys.stdout))
    metrics = MonitorMetrics(identity=identity)
    try:
        port = metrics.serve(metrics_port, metrics_host)
    except OSError as exc:
        if temp is not None:
            temp.cleanup()
        raise click.ClickException(
            f"cannot serve /metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}"
        ) from exc
    url = metrics_url(metrics_host, port)
    emit("metrics_serving", {"url": url, "bound": f"{metrics_host}:{port}", **identity.labels(),
                             "pytest_args": pytest_args})
    if ready_file is not None:
        tmp = ready_file.with_suffix(ready_file.suffix + ".tmp")
        tmp.write_text(json.dumps({"metrics_url": url, "pid": os.getpid()}))
        tmp.replace(ready_file)

    monitor = Monitor(runner, config, metrics=metrics, emit=emit)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        monitor.stop(f"received {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = monitor.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        metrics.close()
        if temp is not None:
            temp.cleanup()
    sys.exit(code)
