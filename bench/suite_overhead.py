"""What the monitor itself costs: suite wall time, HTTP calls, and per-call overhead.

One run, three figures (ratios measured side by side on this machine, not asserted):

1. The API suite (`pytest --target URL -m "not browser"`, a subprocess, as QA runs it)
   against a sandbox started beforehand: wall time, pytest's own time, number of HTTP calls,
   the time spent inside requests (sum of the samples' total_ms) and the rest: the
   monitor's own cost.
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

from synthmon.client_settings import ClientSettings  # noqa: E402
from synthmon.policy import load_policy  # noqa: E402
from synthmon.run_context import RunContext, new_run_id  # noqa: E402
from synthmon.sandbox_process import start_sandbox  # noqa: E402
from synthmon.suite.budgets import Budgets  # noqa: E402
from synthmon.suite.client import ApiClient, ClientCore  # noqa: E402
from synthmon.suite.leaks import LeakDetector  # noqa: E402
from synthmon.suite.schemas import SchemaStore  # noqa: E402

SINK = """
import json, os
def pytest_synthmon_sample_recorded(sample, item):
    with open(os.environ["SAMPLE_SINK"], "a") as sink:
        sink.write(json.dumps(sample.to_dict()) + "\\n")
"""
# (label, method, path, schema): read-only calls, safe to repeat many times
REPLAY = [
    ("GET /health", "GET", "/health", "health"),
    ("GET /api/v1/scholarships", "GET", "/api/v1/scholarships?q=scholarship", "scholarship-search"),
    ("GET /api/v1/pricing", "GET", "/api/v1/pricing", "pricing"),
]


def run_suite(url: str, scratch: Path, *extra: str) -> dict[str, float]:
    (scratch / "bench_sink.py").write_text(SINK)
    sink = scratch / "samples.jsonl"
    sink.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTH_"))}
    env.update(SAMPLE_SINK=str(sink), PYTHONPATH=str(scratch))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--target", url, "-p", "no:cacheprovider", "-q",
         "-p", "bench_sink", "-m", "not browser", f"--reports-dir={scratch / 'reports'}",
         *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the suite failed; no figures:\n{done.stdout}{done.stderr}")
    # "42 passed, 2 deselected in 1.23s"
    last = next(line for line in reversed(done.stdout.strip().splitlines()) if " in " in line)
    pytest_s = float(last.rsplit(" in ", 1)[1].split("s")[0])
    samples = [json.loads(line) for line in sink.read_text().splitlines()]
    inside = sum(s["total_ms"] for s in samples) / 1000.0
    return {"wall_s": wall, "pytest_s": pytest_s, "calls": len(samples), "inside_s": inside}


class Bare:
    """A keep-alive http.client connection sending the client's headers."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        settings = ClientSettings.from_policy(load_policy(REPO / "canary-policy.yaml"))
        self.headers = {**settings.headers,
                        "Accept-Encoding": "gzip, deflate", "X-Synthetic-Id": "bench.bare.1",
                        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}

    def call(self, method: str, path: str) -> float:
        sep = "&" if "?" in path else "?"
        t0 = time.perf_counter()
        self.conn.request(method, path + sep + "e2e=1", headers=self.headers)
        self.conn.getresponse().read()
        return (time.perf_counter() - t0) * 1000


def make_client(url: str) -> ApiClient:
    policy = load_policy(REPO / "canary-policy.yaml")
    context = RunContext(new_run_id(), url, "url", "control", "bench", "bench", "", "", "bench",
                         time.time())
    core = ClientCore(base_url=lambda: url, settings=ClientSettings.from_policy(policy),
                      schemas=SchemaStore(REPO / "schemas", LeakDetector.from_policy(policy)),
                      budgets=Budgets(policy),
                      run_context=lambda: context, current_check=lambda: ("bench", "bench"),
                      record=lambda sample, exchange: None)
    return ApiClient(core)


def replay(url: str, method: str, path: str, schema: str, n: int) -> dict[str, list[float]]:
    """Alternate bare and api calls, so a change in machine load hits both alike."""
    bare, api = Bare(url), make_client(url)
    route, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    out: dict[str, list[float]] = {"bare": [], "measured": [], "full": []}
    for i in range(n + 20):  # the first 20 warm both up
        b = bare.call(method, path)
        t0 = time.perf_counter()
        resp = api.request(method, route, params=params, expect=200, schema=schema)
        full = (time.perf_counter() - t0) * 1000
        if i >= 20:
            out["bare"].append(b)
            out["measured"].append(resp.sample.total_ms)
            out["full"].append(full)
    bare.conn.close()
    api.core.session.close()
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="calls per endpoint (replay)")
    args = parser.parse_args()
    sandbox = start_sandbox(access_log="-")
    try:
        url = sandbox.url
        with tempfile.TemporaryDirectory(prefix="synthmon-bench-") as scratch:
            suite = run_suite(url, Path(scratch))
            bare_suite = run_suite(url, Path(scratch), "-p", "no:synthmon-telemetry",
                                   "-p", "no:synthmon-reports")
        own = suite["pytest_s"] - suite["inside_s"]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print("== the suite, one run (pytest --target URL, subprocess)")
        print(f"wall time (process start to exit)   {suite['wall_s']:8.2f} s")
        print(f"pytest's own figure (tests only)     {suite['pytest_s']:8.2f} s")
        print(f"HTTP calls (samples)                 {suite['calls']:8d}")
        print(f"time inside requests (sum total_ms)  {suite['inside_s']:8.2f} s")
        print(f"the monitor's own time (pytest - in) {own:8.2f} s = "
              f"{own / suite['calls'] * 1000:.2f} ms per call")
        print(f"process start-up and shutdown        {suite['wall_s'] - suite['pytest_s']:8.2f} s")
        print(f"same run without the telemetry/reports plugin: wall {bare_suite['wall_s']:.2f} s, "
              f"pytest {bare_suite['pytest_s']:.2f} s, inside requests "
              f"{bare_suite['inside_s']:.2f} s")
        print()
        print(f"== the same requests replayed, {args.repeat} each (ms; median / p95)")
        print(f"{'endpoint':28} {'bare http.client':>18} {'api measured':>16} {'delta':>7} "
              f"{'api full call':>15} {'own cost':>9}")
        for label, method, path, schema in REPLAY:
            figures = replay(url, method, path, schema, args.repeat)
            b, measured, full = figures["bare"], figures["measured"], figures["full"]
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
