"""How good is the gate? A/A false-rollback rate and A/B detection, with time to verdict.

Starts two sandboxes (processes, loopback, free ports), runs the suite against both side by
side as `synthmon gate` does, with the shipped canary-policy.yaml, then:
- A/A: one healthy pool of POOL_S seconds of suite runs per cohort; the decision replayed on
  RESAMPLES windows of k runs per cohort drawn WITHOUT replacement from the pool (k = 8, the
  smallest window the run-level latency test decides on, and k = half the pool, where the
  rate criteria have data too), plus the disjoint real windows the pool cuts into ->
  false-rollback rate (goal: at most 1%) and which criterion tripped when one did;
- A/B: one fault on the canary per scenario -> the verdict at the end of the window, the
  criteria that tripped, and the time (from the window's start) at which the gate first
  stopped saying hold, replaying the window run by run.
Signup completion is production-only (Prometheus): it is measured by the selftests (a stub
Prometheus in selftests/gate, real Prometheus in selftests/prometheus_e2e), not here.

Bounded: every scenario is a fixed number of seconds of suite runs against 127.0.0.1
(GATE_CAL_POOL_S default 180, GATE_CAL_WINDOW_S default 60, the 5xx scenario 5x that: at
1% it needs the policy's 2000 requests, ~3 min of runs on an idle 2-core host, more on a busy
one). GATE_CAL_ONLY=5xx,auth (name prefixes) runs only those A/B scenarios, no A/A.
Usage: .venv/bin/python bench/gate_calibration.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from synthmon.gate import calibration as cal  # noqa: E402
from synthmon.policy import load_policy  # noqa: E402

POOL_S = float(os.environ.get("GATE_CAL_POOL_S", "180"))
WINDOW_S = float(os.environ.get("GATE_CAL_WINDOW_S", "60"))
RESAMPLES = int(os.environ.get("GATE_CAL_RESAMPLES", "1000"))
ONLY = [p for p in os.environ.get("GATE_CAL_ONLY", "").split(",") if p]
PHASE = "25"
# name, faults, the criterion that must trip, window multiplier. Latency +40%: the fault
# adds 40% of the healthy P95 measured in the A/A pool.
SCENARIOS = [
    ("5xx at 1%", ["error:rate=0.01"], "http_5xx_rate", 5.0),
    ("schema drift (retype)", ["retype-field:field=items.*.amount.value,to=string"],
     "schema_failure_rate", 1.0),
    ("schema drift (drop)", ["drop-field:field=status"], "schema_failure_rate", 1.0),
    ("auth errors", ["auth-errors"], "auth_error_rate", 1.0),
]


def main() -> int:
    policy = load_policy(ROOT / "canary-policy.yaml")
    print(f"gate calibration, phase {PHASE}, shipped policy: A/A pool {POOL_S:g} s, "
          f"A/B windows {WINDOW_S:g} s, {RESAMPLES} A/A resamples per window size")
    with cal.sandbox("control") as control, cal.sandbox("canary") as canary:
        t0 = time.time()
        if ONLY:
            return _ab(policy, canary, control, [s for s in SCENARIOS if any(
                s[0].startswith(p) for p in ONLY)], t0)
        aa = cal.gather(policy, canary.url, control.url, POOL_S, cwd=ROOT)
        pool = min(len(aa.canary_runs), len(aa.control_runs))
        print(f"A/A pool: {len(aa.canary_runs)} canary / {len(aa.control_runs)} control runs, "
              f"{sum(map(len, aa.canary_runs))} canary requests in {aa.elapsed_s:.0f} s")
        for k in sorted({cal.smallest_deciding_window(policy), max(9, pool // 2)}):
            if k >= pool:
                print(f"A/A windows of {k} runs: pool too small, skipped")
                continue
            result = cal.false_rollback_rate(policy, aa, RESAMPLES, phase=PHASE,
                                             runs_per_window=k)
            print(f"A/A windows of {k} runs per cohort: {result.describe()} (goal <= 1%)")
        verdict, t, d = cal.time_to_verdict(policy, aa, PHASE)
        print(f"A/A whole pool as one window: {d.verdict}; first non-hold verdict {verdict} "
              f"after {_t(t)}")
        p95 = d.by_id("latency_p95_regression").reference_value or 10.0
        extra = max(1, round(0.4 * p95))
        scenarios = [("latency +40% of P95", [f"latency:ms={extra}"], "latency_p95_regression",
                      1.0), *SCENARIOS]
        return _ab(policy, canary, control, scenarios, t0)


def _ab(policy, canary, control, scenarios, t0: float) -> int:
    for name, faults, expected, scale in scenarios:
        canary.set_faults(*faults)
        w = cal.gather(policy, canary.url, control.url, WINDOW_S * scale, cwd=ROOT)
        verdict, t, _d = cal.time_to_verdict(policy, w, PHASE)
        final = cal.decide(policy, PHASE, [s for r in w.canary_runs for s in r],
                           [s for r in w.control_runs for s in r], w.elapsed_s)
        named = expected in final.tripped()
        print(f"A/B {name:22} ({', '.join(faults)}) -> {final.verdict} after "
              f"{w.elapsed_s:.0f} s, tripped {final.tripped() or '-'}; expected {expected}: "
              f"{'NAMED' if named else 'NOT named'}; first non-hold {verdict} after "
              f"{_t(t)}; {sum(map(len, w.canary_runs))} canary requests in "
              f"{len(w.canary_runs)} runs")
    canary.set_faults()
    print(f"total bench time {time.time() - t0:.0f} s")
    return 0


def _t(t: float | None) -> str:
    return "never (still hold)" if t is None else f"{t:.0f} s"


if __name__ == "__main__":
    sys.exit(main())
