"""How long from a fault to a page, and from its end to the resolved notification, against
what the rules promise. Prints figures; asserts nothing.

The real path on loopback (selftests/support/alerting_stack.py): three monitors at a short
interval, Prometheus with the generated rules time-scaled to that interval, Alertmanager with
the generated configuration, a receiver in the process. ROUNDS times: the B2C flow's search
starts answering 503 for everyone (onset), SyntheticCheckFailing's page reaches on-call, the
fault stops, the resolved notification reaches on-call.

What the rules promise, for a check failing for everyone from a moment t:
  page by   t + (failing_intervals + 1) x interval   (the next tick, then the cycles that
            confirm it, each with its re-run)
            + scrape interval + evaluation interval + for (none for this alert) + group_wait
  resolved  t + 2 x interval + scrape + evaluation + group_interval (the next cycle passes)
and the same figures at the policy's own interval (60 s) and Alertmanager timings.

Bounded: about 2 minutes per round at most, loopback only.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "selftests"))

from support.alerting_stack import FLOW, Stack, alerting_stack  # noqa: E402

from synthmon import durations  # noqa: E402
from synthmon.alerting import names  # noqa: E402
from synthmon.alerting.settings import read_alerting  # noqa: E402
from synthmon.policy import load_policy  # noqa: E402

ROUNDS = 3
INTERVAL = 5.0
GROUP_WAIT, GROUP_INTERVAL = "4s", "2s"
SCRAPE = EVALUATION = 1.0  # the stack's Prometheus
FAULT = "error:status=503,route=/api/v1/scholarships"
TIMEOUT = 180.0


def _oncall(stack: Stack, since: float, action: str) -> float | None:
    for delivery in stack.inbox.since(since, "oncall"):
        body = delivery.body
        if body.get("event_action") == action and \
                body["payload"]["custom_details"]["alert"] == names.CHECK_FAILING:
            return delivery.at
    return None


def _wait(stack: Stack, since: float, action: str) -> float:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        at = _oncall(stack, since, action)
        if at is not None:
            return at - since
        time.sleep(0.2)
    raise RuntimeError(f"no {action} within {TIMEOUT:.0f} s")


def promise(interval: float, cycles: int, scrape: float, evaluation: float,
            group_wait: float, group_interval: float) -> tuple[float, float]:
    page = (cycles + 1) * interval + scrape + evaluation + group_wait
    resolved = 2 * interval + scrape + evaluation + group_interval
    return page, resolved


def main() -> None:
    settings = read_alerting(load_policy(REPO / "canary-policy.yaml"))
    cycles = settings.monitor.failing_intervals
    pages: list[float] = []
    resolves: list[float] = []
    with tempfile.TemporaryDirectory(prefix="synthmon-alert-latency-") as scratch, \
            alerting_stack(Path(scratch), INTERVAL, GROUP_WAIT, GROUP_INTERVAL) as stack:
        stack.wait_until("every region's first run", lambda: stack.regions_where(
            'synthmon_monitor_last_run_checks{outcome="passed"} > 0') == set(stack.regions),
            TIMEOUT)
        for round_ in range(1, ROUNDS + 1):
            stack.wait_until("nothing firing", lambda: not stack.query(
                f'ALERTS{{alertname="{names.CHECK_FAILING}",check="{FLOW}"}}'), TIMEOUT)
            onset = time.time()
            stack.sandbox.set_faults(FAULT)
            pages.append(_wait(stack, onset, "trigger"))
            off = time.time()
            stack.sandbox.clear_faults()
            resolves.append(_wait(stack, off, "resolve"))
            print(f"round {round_}: fault onset -> page {pages[-1]:.1f} s, "
                  f"fault off -> resolved {resolves[-1]:.1f} s", flush=True)
        longest = max(float(r["value"][1]) for r in stack.query(
            "max_over_time(synthmon_monitor_cycle_duration_seconds[1h])"))
    page_bound, resolve_bound = promise(INTERVAL, cycles, SCRAPE, EVALUATION,
                                        durations.parse(GROUP_WAIT),
                                        durations.parse(GROUP_INTERVAL))
    # A cycle longer than the interval skips ticks: the next one starts on the grid after it.
    spacing = math.ceil(longest / INTERVAL) * INTERVAL
    busy_page, busy_resolve = promise(spacing, cycles, SCRAPE, EVALUATION,
                                      durations.parse(GROUP_WAIT),
                                      durations.parse(GROUP_INTERVAL))
    print(f"\nmonitors every {INTERVAL:g} s, failing_intervals {cycles}, group_wait "
          f"{GROUP_WAIT}, group_interval {GROUP_INTERVAL} ({ROUNDS} rounds):")
    print(f"  onset -> page:     median {statistics.median(pages):.1f} s, max "
          f"{max(pages):.1f} s; the rules promise at most {page_bound:.1f} s")
    print(f"  off -> resolved:   median {statistics.median(resolves):.1f} s, max "
          f"{max(resolves):.1f} s; the rules promise at most {resolve_bound:.1f} s")
    print(f"  the longest cycle (run + confirmation re-run) took {longest:.1f} s, so cycles "
          f"came every {spacing:g} s at worst: page within {busy_page:.1f} s, resolved "
          f"within {busy_resolve:.1f} s")
    prod_page, prod_resolve = promise(
        settings.monitor.interval_s, cycles, 15.0, 15.0,
        durations.parse(settings.group_wait), durations.parse(settings.group_interval))
    print(f"at the policy's {settings.monitor.interval} interval, group_wait "
          f"{settings.group_wait} and a 15 s scrape/evaluation: page within "
          f"{prod_page:.0f} s, resolved within {prod_resolve:.0f} s")


if __name__ == "__main__":
    main()
