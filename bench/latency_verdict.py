"""Calibration of the run-level latency verdict (synthmon.suite.run_latency, the policy's
budgets.run): how often does a healthy run fail it, and how often does a slow one pass?

- healthy: LATENCY_BENCH_HEALTHY (default 100) whole suite runs against a healthy sandbox
  while a busy loop keeps the other core of this 2-core machine at 100%; the false-failure
  rate (goal 0) and the spread of the run's median ratio (total / budget over critical calls);
- slow: for 1.5x, 2x and 3x, LATENCY_BENCH_SLOW (default 10) runs against a sandbox whose every
  route answers after that many times its budget (latency faults per route from the policy,
  so every call stays under its hard limit and only the run's verdict can catch it); the
  detection rate (goal 1).

The suite is the API checks (`-m "not browser"`): the verdict judges HTTP calls only.
Runs are sequential, one suite process each, as QA or the monitor runs them. Loopback only,
bounded in runs; every process it starts is stopped at the end.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthmon.policy import load_policy
from synthmon.sandbox_process import running_sandbox

REPO = Path(__file__).resolve().parents[1]

HEALTHY_RUNS = int(os.environ.get("LATENCY_BENCH_HEALTHY", "100"))
SLOW_RUNS = int(os.environ.get("LATENCY_BENCH_SLOW", "10"))
FACTORS = (1.5, 2.0, 3.0)
RATIO = re.compile(r"the median critical call took ([0-9.]+)x its budget")


def over_budget_faults(factor: float) -> list[str]:
    """A latency fault per route: `factor` times the smallest budget of the route's methods."""
    budgets = load_policy(REPO / "canary-policy.yaml").data["budgets"]["endpoints"]
    per_route: dict[str, float] = {}
    for endpoint, budget in budgets.items():
        route = endpoint.split(" ", 1)[1]
        per_route[route] = min(per_route.get(route, budget["budget_ms"]), budget["budget_ms"])
    return [f"latency:ms={int(factor * ms)},route={route}" for route, ms in per_route.items()]


def suite_run(url: str, reports: Path) -> tuple[int, bool, float | None, str]:
    """(exit status, latency verdict failed?, the run's median ratio, the output)"""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"--target={url}", "-q", "-p", "no:cacheprovider",
         "-m", "not browser", f"--reports-dir={reports}"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SYNTH_", "PYTEST_"))})
    output = done.stdout + done.stderr
    match = RATIO.search(output)
    return (done.returncode, "FAILED run latency" in output,
            float(match.group(1)) if match else None, output)


def busy_core() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as scratch:
        work = Path(scratch)
        burner = busy_core()
        try:
            started = time.monotonic()
            with running_sandbox(work / "healthy", access_log="-") as box:
                healthy = [suite_run(box.url, work / "reports") for _ in range(HEALTHY_RUNS)]
            healthy_s = time.monotonic() - started
            slow: dict[float, list[tuple[int, bool, float | None, str]]] = {}
            for factor in FACTORS:
                with running_sandbox(work / f"slow-{factor}", access_log="-",
                                     faults=over_budget_faults(factor)) as box:
                    slow[factor] = [suite_run(box.url, work / "reports")
                                    for _ in range(SLOW_RUNS)]
        finally:
            burner.kill()
            burner.wait(10)
    false_failures = sum(1 for _, failed, _, _ in healthy if failed)
    other_failures = sum(1 for rc, failed, _, _ in healthy if rc != 0 and not failed)
    ratios = sorted(r for _, _, r, _ in healthy if r is not None)
    print(f"healthy runs (other core busy): {len(healthy)} in {healthy_s:.0f} s")
    print(f"  false latency failures: {false_failures}/{len(healthy)} "
          f"({false_failures / len(healthy):.1%}); runs failing for other reasons: "
          f"{other_failures}")
    if ratios:
        print(f"  run median ratio (total / budget, critical calls): median "
              f"{statistics.median(ratios):.3f}, p95 {ratios[int(0.95 * (len(ratios) - 1))]:.3f},"
              f" max {ratios[-1]:.3f} (the run fails over 1.0)")
    for factor, runs in slow.items():
        caught = sum(1 for _, failed, _, _ in runs if failed)
        seen = [r for _, _, r, _ in runs if r is not None]
        ratio = f"; run median ratio {statistics.median(seen):.2f}" if seen else ""
        print(f"slowdown {factor:g}x budget: detected {caught}/{len(runs)} "
              f"({caught / len(runs):.0%}){ratio}")
    for _, failed, _, output in healthy:
        if failed:
            print("first false failure:\n" + output[-3000:])
            break


if __name__ == "__main__":
    main()
