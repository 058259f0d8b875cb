"""How many samples per endpoint a baseline needs: the P95 interval by sample size.

Simulated long-tailed latencies (lognormal, median 40 ms, true P95 ~107 ms) measured the
way `synthmon baseline` measures them: the relative width of the distribution-free 95%
interval for P95, how often it covers the true P95, and from which n it exists at all.
Then one real suite run against a sandbox on loopback: seconds per run and the fewest
samples a critical endpoint gets per run, i.e. what `--samples N` costs in wall time.

    .venv/bin/python bench/baseline_samples.py
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from synthmon.baseline.stats import min_samples_for_p95_ci, summarize
from synthmon.policy import load_policy
from synthmon.sandbox_process import running_sandbox

REPO = Path(__file__).resolve().parents[1]
MU, SIGMA = math.log(40), 0.6
TRUE_P95 = math.exp(MU + SIGMA * 1.6448536269514722)


def simulate(trials: int = 300) -> None:
    rng = np.random.default_rng(1)
    print(f"true P95 {TRUE_P95:.1f} ms; both ends of the interval exist from n = "
          f"{min_samples_for_p95_ci()}")
    print(f"{'n':>6} {'median CI width / P95':>22} {'coverage':>9}")
    for n in (30, 50, 72, 80, 100, 200, 500, 1000):
        widths, covered, defined = [], 0, 0
        for _ in range(trials):
            ci = summarize(rng.lognormal(MU, SIGMA, n))["p95_ci_ms"]
            if ci["low"] is None or ci["high"] is None:
                continue
            defined += 1
            widths.append((ci["high"] - ci["low"]) / TRUE_P95)
            covered += ci["low"] <= TRUE_P95 <= ci["high"]
        if not defined:
            print(f"{n:>6} {'(no upper bound)':>22} {'-':>9}")
            continue
        print(f"{n:>6} {float(np.median(widths)):>21.0%} {covered / defined:>9.1%}")


def one_real_run() -> None:
    critical = set(load_policy(REPO / "canary-policy.yaml").critical_endpoints())
    with tempfile.TemporaryDirectory() as tmp:
        with running_sandbox(Path(tmp) / "sandbox") as box:
            url = box.url
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "pytest", f"--target={url}",
                            f"--reports-dir={tmp}/reports", "-q", "-p", "no:cacheprovider"],
                           cwd=REPO, capture_output=True, timeout=300, check=False)
            seconds = time.monotonic() - started
        summary = json.loads(next(Path(tmp, "reports").glob("*/summary.json")).read_text())
    counts = Counter(f"{r['method']} {r['route']}" for r in summary["requests"])
    fewest = min(counts[e] for e in critical)
    print(f"one suite run: {seconds:.1f} s, {len(summary['requests'])} requests, the least "
          f"called critical endpoint gets {fewest} per run")
    for n in (50, 80, 200):
        runs = math.ceil(n / fewest)
        print(f"  --samples {n}: {runs} runs, about {runs * (seconds + 2) / 60:.1f} min "
              "at the default 2 s pace")


if __name__ == "__main__":
    simulate()
    one_real_run()
