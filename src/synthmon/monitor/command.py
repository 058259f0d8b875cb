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
from synthmon.monitor.events import JsonLines, fan_out, github_annotations
from synthmon.monitor.loop import INTERVAL_S, Monitor, MonitorConfig
from synthmon.monitor.metrics import MonitorMetrics
from synthmon.monitor.runner import PytestRunner


@click.command(
    "monitor",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--target", required=True, help="Base URL (or policy target name) to watch.")
@click.option("--interval", type=Duration("1s", "1d"), default=INTERVAL_S, show_default=True,
              help="Between cycles, seconds or a duration (1s to 1d); cycles start on "
                   "multiples of it (wall clock).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Stop after this many cycles (default: run until SIGTERM).")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), default=0,
              show_default=True, help="Port of /metrics on 127.0.0.1; 0 picks a free one.")
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
    interval: float,
    iterations: int | None,
    metrics_port: int,
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

    Extra arguments go to pytest (e.g. `-m health` or `-k search`). A failing check is
    re-run alone after 5, 10, 20 s (jittered, capped below the interval) before it is
    declared failing. Logs are JSON lines on stderr; exit status 1 when a check is failing
    at the end, 0 otherwise (also after SIGTERM).
    """
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
    emit = JsonLines(sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        emit = fan_out(emit, github_annotations(sys.stdout))  # type: ignore[assignment]
    metrics = MonitorMetrics()
    try:
        port = metrics.serve(metrics_port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve /metrics on 127.0.0.1:{metrics_port}: {exc.strerror or exc}"
        ) from exc
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    emit("metrics_serving", {"url": metrics_url, "target": target, "pytest_args": pytest_args})
    if ready_file is not None:
        tmp = ready_file.with_suffix(ready_file.suffix + ".tmp")
        tmp.write_text(json.dumps({"metrics_url": metrics_url, "pid": os.getpid()}))
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
