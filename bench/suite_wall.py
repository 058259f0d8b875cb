"""Wall time of a whole suite run, as QA and the gate see it, next to a bare requests script.

Three figures, measured in one run on this machine (ratios side by side, nothing asserted):

a. `pytest --target=URL` against a sandbox started beforehand: process start to exit;
b. `pytest` alone: the plugin starts (and stops) the embedded sandbox itself;
c. a bare `requests` script (a fresh Python process, one keep-alive Session) making as many
   calls as run (a) made, to the same sandbox.

The suite is the API checks (`-m "not browser"`), the figures issue 9 set (2.0 s and 3.0 s):
the browser checks drive Chromium and have their own bench (bench/browser_flow.py);
`--with-browser` takes them in.

Each figure is the median of --repeat runs (the minimum beside it), with the CPU time the
process and its children used. The ratios a/c and b/c say what the monitor costs beyond
the HTTP calls themselves; the last line splits a into the time its calls took (the
server's share: the suite's calls log in a dozen times, and each login is a deliberate
scrypt on the server, which the bare script's GETs do not pay) and the rest.

Run: .venv/bin/python bench/suite_wall.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthmon.sandbox_process import running_sandbox

REPO = Path(__file__).resolve().parents[1]

# The same number of calls as the suite, over one keep-alive connection: what an HTTP
# script with no monitor around it costs (interpreter start, import, the calls).
BARE = """
import sys
import requests
url, calls = sys.argv[1], int(sys.argv[2])
paths = ["/health", "/api/v1/scholarships?q=scholarship&e2e=1", "/api/v1/pricing?e2e=1"]
headers = {"User-Agent": "ScholarshipAI-Canary/1.0", "Accept": "application/json"}
with requests.Session() as session:
    for i in range(calls):
        session.get(url + paths[i % len(paths)], headers=headers, timeout=5).raise_for_status()
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTH_"))}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return env


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and everything it started, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}; no figures:\n"
                 f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def suite_command(reports: Path, scope: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--reports-dir={reports}", *scope, *extra]


def calls_made(reports: Path) -> int:
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    return int(summary["totals"]["requests"])


def seconds_in_calls(reports: Path) -> float:
    """The sum of the last run's measured call times: the server's share of its wall time
    (the calls are sequential), login's scrypt included."""
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    return sum(float(r.get("total_ms") or 0.0) for r in summary["requests"]) / 1000


def figure(runs: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in runs]
    cpus = [cpu for _, cpu in runs]
    return (f"{statistics.median(walls):6.2f} s wall (min {min(walls):.2f}), "
            f"{statistics.median(cpus):5.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each figure (median)")
    parser.add_argument("--with-browser", action="store_true",
                        help="take the browser checks in (Chromium; see bench/browser_flow.py)")
    args = parser.parse_args()
    scope = [] if args.with_browser else ["-m", "not browser"]
    env = _environment()
    with tempfile.TemporaryDirectory(prefix="synthmon-wall-") as scratch:
        reports = Path(scratch) / "reports"
        with running_sandbox(Path(scratch) / "sandbox", access_log="-") as box:
            url = box.url
            # one untimed run first: the files a first run reads come into the page cache
            timed(suite_command(reports, scope, f"--target={url}"), env)
            calls = calls_made(reports)
            against: list[tuple[float, float]] = []
            bare: list[tuple[float, float]] = []
            in_calls: list[float] = []
            for _ in range(args.repeat):
                against.append(timed(suite_command(reports, scope, f"--target={url}"), env)[:2])
                in_calls.append(seconds_in_calls(reports))
                bare.append(timed([sys.executable, "-c", BARE, url, str(calls)], env)[:2])
        embedded = [timed(suite_command(reports, scope), env)[:2] for _ in range(args.repeat)]
    a = statistics.median(w for w, _ in against)
    b = statistics.median(w for w, _ in embedded)
    c = statistics.median(w for w, _ in bare)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"median of {args.repeat} runs each; "
          f"{'with' if args.with_browser else 'without'} the browser checks")
    print(f"a. suite against a running sandbox  {figure(against)}  ({calls} calls)")
    print(f"b. suite with the embedded sandbox  {figure(embedded)}")
    print(f"c. bare requests, {calls} calls      {figure(bare)}")
    print(f"ratios: a/c {a / c:.1f}x, b/c {b / c:.1f}x")
    waiting = statistics.median(in_calls)
    print(f"of a: {waiting:.2f} s waiting on its calls (their measured times added up), "
          f"{a - waiting:.2f} s the rest (start, checks, reports, exit)")


if __name__ == "__main__":
    main()
