"""How good is the gate? A/A false-rollback rate and A/B detection, with time to verdict.

Starts two sandboxes (processes, loopback, free ports), runs the suite against both side by
side as `synthmon gate` does, once per scenario, then:
- A/A: replays the decision on RESAMPLES windows of resampled suite runs -> false-rollback
  rate (goal: at most 1%), and which criterion tripped when one did;
- A/B: one fault on the canary per scenario -> the verdict, the criteria that tripped, and
  the time (from the window's start) at which the gate first stopped saying hold.

Bounded: every scenario is WINDOW_S seconds (env GATE_CAL_WINDOW_S, default 60) of suite
runs against 127.0.0.1. Usage: .venv/bin/python bench/gate_calibration.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from synthmon.gate import calibration as cal  # noqa: E402
from synthmon.policy import load_policy  # noqa: E402

WINDOW_S = float(os.environ.get("GATE_CAL_WINDOW_S", "60"))
RESAMPLES = int(os.environ.get("GATE_CAL_RESAMPLES", "1000"))
# fault spec -> the criterion that must trip. Latency +40%: the fault adds 40% of the
# healthy P95 measured in the A/A window.
SCENARIOS = [
    ("5xx at 1%", ["error:rate=0.01"], "http_5xx_rate"),
    ("schema drift (retype)", ["retype-field:field=items.*.amount.value,to=string"],
     "schema_failure_rate"),
    ("schema drift (drop)", ["drop-field:field=status"], "schema_failure_rate"),
    ("auth errors", ["auth-errors"], "auth_error_rate"),
    ("signup completion -15%", ["signup-failures:rate=0.15"], "signup_completion"),
]


def main() -> int:
    policy = load_policy(ROOT / "canary-policy.yaml")
    print(f"gate calibration: window {WINDOW_S:g} s per scenario, {RESAMPLES} A/A resamples")
    with cal.sandbox("control") as control, cal.sandbox("canary") as canary:
        t0 = time.time()
        aa = cal.gather(policy, canary.url, control.url, WINDOW_S, cwd=ROOT)
        rate, trips = cal.false_rollback_rate(policy, aa, RESAMPLES)
        verdict, t, d = cal.time_to_verdict(policy, aa)
        n = sum(map(len, aa.canary_runs))
        print(f"A/A healthy vs healthy: {n} canary requests in {len(aa.canary_runs)} runs; "
              f"real window says {d.verdict}; first non-hold verdict {verdict} after "
              f"{_t(t)}; false-rollback rate {rate:.2%} over {RESAMPLES} resampled windows "
              f"(goal <= 1%) {trips or ''}")
        p95 = d.by_id("latency_p95_regression").reference_value or 10.0
        extra = max(1, round(0.4 * p95))
        scenarios = [("latency +40% of P95", [f"latency:ms={extra}"], "latency_p95_regression"),
                     *SCENARIOS]
        for name, faults, expected in scenarios:
            canary.set_faults(faults)
            w = cal.gather(policy, canary.url, control.url, WINDOW_S, cwd=ROOT)
            verdict, t, d = cal.time_to_verdict(policy, w)
            final = cal.decide(policy, "25", [s for r in w.canary_runs for s in r],
                               [s for r in w.control_runs for s in r], w.elapsed_s)
            named = expected in final.tripped()
            print(f"A/B {name:24} -> {final.verdict:8} tripped {final.tripped() or '-'}; "
                  f"expected {expected}: {'NAMED' if named else 'not named'}; first non-hold "
                  f"{verdict} after {_t(t)}; "
                  f"{sum(map(len, w.canary_runs))} canary requests"
                  + ("" if named or expected != "signup_completion" else
                     " (production-only: needs --prometheus; see signup note)"))
        canary.set_faults([])
        print(f"total bench time {time.time() - t0:.0f} s")
    return 0


def _t(t: float | None) -> str:
    return "never (still hold)" if t is None else f"{t:.0f} s"


if __name__ == "__main__":
    sys.exit(main())
