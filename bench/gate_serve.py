"""`GET /api/v1/verdict` of `synthmon gate serve` under 50 concurrent pollers: p50/p99.

Pollers use http.client (as light as an orchestrator's client) and, paced, are spread over
the period rather than all firing at the same instant (independent pollers are not in
step). The server judges a healthy window read from a history store this benchmark writes (so the
figures measure serving, not the suite) and re-evaluates every 5 s meanwhile (every phase,
the plan and the page: the work a poller may meet). 50 pollers, each with its own
keep-alive connection, ask for the verdict twice: paced (each every 250 ms, 200 requests a
second offered, as orchestrators and dashboards poll) and flat out (each as fast as it
can: a stress figure, where 50 closed-loop Python clients on the same two cores measure
their own queue as much as the server). 40 requests per poller per round, at most 120 s.
Loopback only. The goal: p99 <= 50 ms, since every answer is a stored byte string.
Run: .venv/bin/python bench/gate_serve.py
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "selftests" / "gate"))  # the constructed healthy cohorts
from factory import make_samples  # noqa: E402

from synthmon.history import HistoryStore  # noqa: E402
from synthmon.run_context import RunContext  # noqa: E402

POLLERS = 50
PER_POLLER = 40
MAX_SECONDS = 120.0


def healthy_store(path: Path) -> None:
    store = HistoryStore(path)
    now = time.time()
    for cohort, seed in (("canary", 2), ("control", 3)):
        runs: dict[str, list] = {}
        for i, s in enumerate(make_samples(2400, cohort, seed)):
            run_id = f"{cohort}-{s.run_id}"
            runs.setdefault(run_id, []).append(type(s).from_dict(
                {**s.to_dict(), "run_id": run_id, "started_at": now - 240 + i * 0.05}))
        for run_id, run in runs.items():
            store.append(RunContext(run_id, "http://127.0.0.1:1", "url", cohort, "local",
                                    "desktop", f"b-{cohort}", "abcdef1", "sandbox",
                                    run[0].started_at), run)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="synthmon-bench-serve-") as tmp:
        folder = Path(tmp)
        healthy_store(folder / "history.sqlite")
        ready = folder / "ready.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "gate", "serve", "--history",
             str(folder / "history.sqlite"), "--phase", "25", "--window", "10m", "--interval",
             "5s", "--port", "0", "--ready-file", str(ready), "--out", str(folder / "out"),
             "--no-record", "--ledger", str(folder / "ledger.jsonl"), "--policy",
             str(REPO / "canary-policy.yaml")],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True, env={**os.environ, "SYNTH_REPORTS_DIR": tmp})
        try:
            deadline = time.monotonic() + 90
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gate serve did not start within 90 s")
                time.sleep(0.1)
            url = json.loads(ready.read_text())["url"] + "/api/v1/verdict"
            while requests.get(url, timeout=10).json()["evaluation"] < 1:
                time.sleep(0.2)
            run(url, pace_s=0.25)
            run(url, pace_s=0.0)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)


def run(url: str, pace_s: float) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + MAX_SECONDS
    start = threading.Barrier(POLLERS)

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")

    def poller(index: int) -> None:
        # http.client, one keep-alive connection: a poller as light as an orchestrator's
        # (Go) client, so the figure is the server's more than 50 Python clients' own queue
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine: list[float] = []
        start.wait()
        # independent pollers are not in step: each starts at its own point of the period
        first = time.monotonic() + index * pace_s / POLLERS
        for number in range(PER_POLLER):
            if time.monotonic() > stop_at:
                break
            if pace_s:
                time.sleep(max(0.0, first + number * pace_s - time.monotonic()))
            began = time.perf_counter()
            try:
                connection.request("GET", path)
                answer = connection.getresponse()
                body = answer.read()
                ok = answer.status == 200 and body.startswith(b'{"version"')
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                connection.close()
                with lock:
                    errors.append(type(exc).__name__)
            mine.append((time.perf_counter() - began) * 1000)
            if not ok:
                with lock:
                    errors.append("bad answer")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=poller, args=(i,)) for i in range(POLLERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    ordered = sorted(latencies)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    how = f"each every {pace_s * 1000:.0f} ms" if pace_s else "flat out"
    print(f"gate serve GET /api/v1/verdict, {POLLERS} concurrent pollers ({how}): "
          f"{len(ordered)} requests in {took:.1f} s ({len(ordered) / took:.0f}/s), "
          f"{len(errors)} errors")
    print(f"  p50 {statistics.median(ordered):.1f} ms   p99 {p99:.1f} ms   "
          f"max {ordered[-1]:.1f} ms   (goal: p99 <= 50 ms)")


if __name__ == "__main__":
    main()
