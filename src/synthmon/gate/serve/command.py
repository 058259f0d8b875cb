"""`synthmon gate serve`: the gate as a service for Argo Rollouts, Flagger, Prometheus and
the ship-room."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import click
import uvicorn

from synthmon.durations import Duration
from synthmon.gate.collect import CollectError
from synthmon.gate.collect import suite_dir as find_suite
from synthmon.gate.engine import GateEngine
from synthmon.gate.errors import GateCommand, GateError, remember_out
from synthmon.gate.notify import Notifier
from synthmon.gate.recording import Recorder, store_path
from synthmon.gate.serve.app import ServeContext, build_app
from synthmon.gate.serve.evaluator import EvaluatorSpec
from synthmon.gate.serve.loop import EvaluationLoop
from synthmon.gate.serve.page import render_page
from synthmon.gate.serve.state import ServeState


def _token(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise GateError(f"--approval-token-file {path}: cannot read it ({exc})") from exc
    if len(token) < 16:
        raise GateError(f"--approval-token-file {path}: the token must be at least 16 "
                        "characters")
    return token


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


@click.command("serve", cls=GateCommand)
@click.option("--canary", "canary_url", help="Base URL of the canary cohort.")
@click.option("--control", "control_url", help="Base URL of the control cohort.")
@click.option("--phase", required=True,
              help="The ramp phase being served (its scope is what the suite runs); "
                   "?phase= asks for another phase's verdict on the same window.")
@click.option("--window", type=Duration("1s", "1d"), default=None,
              help="Rolling window, e.g. 15m, 1s to 1d (default: policy).")
@click.option("--interval", type=Duration("1s", "1h"), default=None,
              help="How often to evaluate, 1s to 1h (default: the policy's watch interval).")
@click.option("--watch-for", type=Duration("1s", "30d"), default=None,
              help="Stop evaluating after this long (default: until SIGTERM).")
@click.option("--prometheus", "prometheus_url", default=None,
              help="Prometheus base URL for the production-only signals.")
@click.option("--baseline", "baseline_file", default=None, type=click.Path(dir_okay=False),
              help="baseline.json for the 'vs baseline' criteria.")
@click.option("--history", "history_file", default=None, type=click.Path(dir_okay=False),
              help="Judge the window recorded in this history store instead of running the "
                   "suite.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback unless you say otherwise).")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="Port (0: a free one; --ready-file says which).")
@click.option("--approval-token-file", default=None, type=click.Path(dir_okay=False),
              help="File holding the bearer token that POST /api/v1/approvals requires "
                   "(without it the server is read-only).")
@click.option("--ledger", default=None, help="Approvals ledger (default: policy).")
@click.option("--out", "out_dir", default=None,
              help="Where the latest decision.json/.md, the debug log and Flagger's events "
                   "go (default: reports/gate/serve-<time>-phase-<phase>).")
@click.option("--db", "db_path", default=None, type=click.Path(dir_okay=False),
              help="History store every evaluation is recorded in (default: --history's, "
                   "else $SYNTH_REPORTS_DIR/history.sqlite or reports/history.sqlite).")
@click.option("--no-record", is_flag=True, help="Record no evaluation in the history store.")
@click.option("--page-url", default=None,
              help="The page's address as others reach it, for notifications' links.")
@click.option("--ready-file", default=None, type=click.Path(dir_okay=False),
              help='Write {"url", "pid"} here once the server listens.')
@click.option("--suite-dir", default=None, help="Where the suite lives (pytest.ini, tests/).")
@click.option("--policy", "policy_path", default=None, help="canary-policy.yaml to use.")
def serve_command(canary_url: str | None, control_url: str | None, phase: str,
                  window: float | None, interval: float | None, watch_for: float | None,
                  prometheus_url: str | None, baseline_file: str | None,
                  history_file: str | None, host: str, port: int,
                  approval_token_file: str | None, ledger: str | None, out_dir: str | None,
                  db_path: str | None, no_record: bool, page_url: str | None,
                  ready_file: str | None, suite_dir: str | None,
                  policy_path: str | None) -> None:
    """Evaluate continuously (the engine of `gate --watch`) and serve the latest evaluation:

    \b
      GET  /api/v1/verdict[?phase=P]  the verdict JSON (schemas/gate-verdict.schema.json)
      POST /flagger/<type>            Flagger's webhooks (confirm-rollout, pre-rollout,
                                      rollout, confirm-traffic-increase, confirm-promotion,
                                      post-rollout, rollback, event)
      GET  /metrics                   verdicts per criterion and overall, age, errors
      GET  /health                    200 while evaluating on time, else 503
      GET  /                          the ship-room page
      POST /api/v1/approvals          only with --approval-token-file (bearer token)

    No request ever runs an evaluation. SIGTERM stops it cleanly: the evaluation under way
    is finished and stored, the suite runs are stopped. Exit status 0 after a clean stop,
    3 when it could not start (docs/gate-serve.md)."""
    out = Path(out_dir or f"reports/gate/serve-"
                          f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-phase-{phase}")
    remember_out(out)
    engine = GateEngine.from_options(policy_path, phase, window, prometheus_url, baseline_file,
                                     ledger)
    every = interval if interval is not None else float(engine.policy.gate["watch_interval_s"])
    total = watch_for if watch_for is not None else float("inf")
    token = _token(approval_token_file)
    if not history_file:
        if not (canary_url and control_url):
            raise GateError("give --canary URL and --control URL (or --history)")
        try:
            find_suite(suite_dir)
        except CollectError as exc:
            raise GateError(str(exc)) from exc
    spec = EvaluatorSpec(policy_path, phase, window, prometheus_url, baseline_file, ledger,
                         history_file, canary_url, control_url, suite_dir, every, total,
                         str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GateError(f"--out {out}: cannot create it ({exc.strerror or exc})") from exc
    sock = _bind(host, port)
    bound = sock.getsockname()
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound[1]}"
    state = ServeState(served_phase=phase, phases=engine.phases,
                       stale_after_s=engine.policy.gate_stale_after_s(every),
                       render_page=render_page)
    notifier = Notifier.from_policy(engine.policy, page_url or url + "/")
    loop = EvaluationLoop(spec, state, out,
                          Recorder(None if no_record else store_path(db_path, history_file),
                                   "serve"), on_change=notifier)
    context = ServeContext(engine, state, token, out / "flagger-events.jsonl",
                           loop_alive=loop.evaluating)
    if not _loopback(host):
        click.echo(f"synthmon gate serve: listening on {host}, not loopback: anyone who can "
                   "reach it reads the verdicts" + ("" if token else " (read-only)"), err=True)
    server = uvicorn.Server(uvicorn.Config(build_app(context), log_level="warning",
                                           access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=5))
    stopping = threading.Event()

    def stop(_sig: int, _frame: object) -> None:
        stopping.set()
        server.should_exit = True

    # uvicorn restores these after its own shutdown and re-raises the signal it caught:
    # it then lands here, and the process ends through the clean stop below.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    loop.start()
    click.echo(f"synthmon gate serve: phase {phase}, evaluating every {every:g} s, serving "
               f"{url}/ (verdict: {url}/api/v1/verdict)")
    if ready_file:
        Path(ready_file).write_text(json.dumps({"url": url, "pid": os.getpid()}),
                                    encoding="utf-8")
    try:
        server.run(sockets=[sock])
    finally:
        loop.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    last = loop.last
    click.echo(f"synthmon gate serve: stopped after {state.current().number} evaluations"
               + (f"; the last said {last.verdict} (kept in {out} and the history store)"
                  if last else ""))
