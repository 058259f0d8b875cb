"""What the monitor itself costs: suite wall time, HTTP calls, and per-call overhead.

One run, three figures (ratios measured side by side on this machine, not asserted):

1. The whole suite (`pytest --target URL`, a subprocess, as QA runs it) against a sandbox
   started beforehand: wall time, pytest's own time, number of HTTP calls, the time spent
   inside requests (sum of the samples' total_ms) and the rest: the monitor's own cost.
2. The same requests, in-process, through the `api` client and through a bare keep-alive
   http.client connection: the latency each measures, and the client's full cost per call
   (span, ids, schema validation, sample) beyond the latency it reports.

Run: .venv/bin/python bench/suite_overhead.py [--repeat N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from synthmon.budgets import Budgets  # noqa: E402
from synthmon.client import ApiClient, ClientCore, ClientSettings  # noqa: E402
from synthmon.policy import load_policy  # noqa: E402
from synthmon.run_context import RunContext, new_run_id  # noqa: E402
from synthmon.schema_check import SchemaStore  # noqa: E402
from synthmon.targets import EmbeddedSandbox  # noqa: E402

SINK = """
import json, os
def synthmon_sample_recorded(sample, item):
    with open(os.environ["SAMPLE_SINK"], "a") as sink:
        sink.write(json.dumps(sample.to_dict()) + "\\n")
"""
# (label, method, path, schema): read-only calls, safe to repeat many times
REPLAY = [
    ("GET /health", "GET", "/health", "health"),
    ("GET /api/v1/scholarships", "GET", "/api/v1/scholarships?q=scholarship", "scholarship-search"),
    ("GET /api/v1/pricing", "GET", "/api/v1/pricing", "pricing"),
]


def run_suite(url: str, scratch: Path) -> dict[str, float]:
    (scratch / "bench_sink.py").write_text(SINK)
    sink = scratch / "samples.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTH_"))}
    env.update(SAMPLE_SINK=str(sink), PYTHONPATH=str(scratch))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--target", url, "-p", "no:cacheprovider", "-q",
         "-p", "bench_sink", f"--reports-dir={scratch / 'reports'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the suite failed; no figures:\n{done.stdout}{done.stderr}")
    last = done.stdout.strip().splitlines()[-1]  # "33 passed in 1.23s"
    pytest_s = float(last.rsplit(" in ", 1)[1].split("s")[0])
    samples = [json.loads(line) for line in sink.read_text().splitlines()]
    inside = sum(s["total_ms"] for s in samples) / 1000.0
    return {"wall_s": wall, "pytest_s": pytest_s, "calls": len(samples), "inside_s": inside}


def bare(url: str, method: str, path: str, n: int) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    sep = "&" if "?" in path else "?"
    headers = {"User-Agent": "ScholarshipAI-Canary/1.0", "Accept": "application/json",
               "X-Synthetic-Id": "bench.bare.1",
               "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request(method, path + sep + "e2e=1", headers=headers)
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return times


def via_client(
    url: str, method: str, path: str, schema: str, n: int
) -> tuple[list[float], list[float]]:
    policy = load_policy(REPO / "canary-policy.yaml")
    context = RunContext(new_run_id(), url, "url", "control", "bench", "bench", "", "", "bench",
                         time.time())
    recorded: list[object] = []
    core = ClientCore(base_url=lambda: url, settings=ClientSettings.from_policy(policy.client),
                      schemas=SchemaStore(REPO / "schemas"), budgets=Budgets(policy),
                      run_context=lambda: context, current_check=lambda: ("bench", "bench"),
                      record=recorded.append)
    api = ApiClient(core)
    route, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    measured, full = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = api.request(method, route, params=params, expect=200, schema=schema)
        full.append((time.perf_counter() - t0) * 1000)
        measured.append(resp.sample.total_ms)
    core.session.close()
    return measured, full


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="calls per endpoint (replay)")
    args = parser.parse_args()
    sandbox = EmbeddedSandbox(["--access-log", "-"])
    try:
        url = sandbox.wait_ready()
        with tempfile.TemporaryDirectory(prefix="synthmon-bench-") as scratch:
            suite = run_suite(url, Path(scratch))
        own = suite["pytest_s"] - suite["inside_s"]
        print("== the suite, one run (pytest --target URL, subprocess)")
        print(f"wall time (process start to exit)   {suite['wall_s']:8.2f} s")
        print(f"pytest's own figure (tests only)     {suite['pytest_s']:8.2f} s")
        print(f"HTTP calls (samples)                 {suite['calls']:8d}")
        print(f"time inside requests (sum total_ms)  {suite['inside_s']:8.2f} s")
        print(f"the monitor's own time (pytest - in) {own:8.2f} s = "
              f"{own / suite['calls'] * 1000:.2f} ms per call")
        print(f"process start-up and shutdown        {suite['wall_s'] - suite['pytest_s']:8.2f} s")
        print()
        print(f"== the same requests replayed, {args.repeat} each (ms; median / p95)")
        print(f"{'endpoint':28} {'bare http.client':>18} {'api measured':>16} {'delta':>7} "
              f"{'api full call':>15} {'own cost':>9}")
        for label, method, path, schema in REPLAY:
            bare(url, method, path, 20)  # warm both paths up
            via_client(url, method, path, schema, 20)
            b = bare(url, method, path, args.repeat)
            measured, full = via_client(url, method, path, schema, args.repeat)
            bm, mm, fm = (statistics.median(x) for x in (b, measured, full))
            print(f"{label:28} {bm:8.2f} / {pct(b, 95):6.2f} {mm:7.2f} / {pct(measured, 95):6.2f} "
                  f"{mm - bm:+7.2f} {fm:6.2f} / {pct(full, 95):6.2f} {fm - mm:+9.2f}")
        print()
        print("delta: what the api client's measured latency adds over bare http.client "
              "(the requests.Session overhead inside the clock)")
        print("own cost: the client's full call minus the latency it reports (span, ids, "
              "schema validation, sample)")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
