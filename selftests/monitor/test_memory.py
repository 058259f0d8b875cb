"""Memory stays flat over 1,000 cycles: the loop keeps no per-cycle state."""

from __future__ import annotations

import gc
import time

import psutil
import pytest
from monitor_stub import CHECKS, StubRunner

from synthmon.backoff import Backoff
from synthmon.monitor.loop import Monitor, MonitorConfig

WARMUP, CYCLES = 200, 1000


@pytest.mark.slow
def test_rss_is_flat_over_1000_cycles(tmp_path):
    # A fault every 7th run, so transitions, re-runs and label updates happen all along.
    runner = StubRunner(failing=lambda i, c: c == CHECKS[1] and i % 7 == 0, duration_s=0.0,
                        keep_calls=False)
    process = psutil.Process()
    rss: dict[int, int] = {}

    def sink(event, fields):
        if event == "cycle_finished" and fields["cycle"] in (WARMUP, CYCLES):
            gc.collect()
            rss[fields["cycle"]] = process.memory_info().rss

    config = MonitorConfig(
        interval=0.002, iterations=CYCLES, reports_root=tmp_path / "runs", keep_runs=5,
        backoff=Backoff(base=0.0, retries=2, cap=0.0, jitter=0.0),
    )
    monitor = Monitor(runner, config, emit=sink)
    started = time.monotonic()
    monitor.run()
    elapsed = time.monotonic() - started
    growth = rss[CYCLES] - rss[WARMUP]
    print(f"rss after {WARMUP} cycles {rss[WARMUP] / 2**20:.1f} MiB, after {CYCLES} "
          f"{rss[CYCLES] / 2**20:.1f} MiB, {elapsed:.1f} s")
    assert monitor.cycles_run == CYCLES
    assert runner.count > CYCLES  # re-runs happened too
    # run folders pruned to 2 x keep_runs (log and report folders), plus two files
    assert len(list((tmp_path / "runs").iterdir())) <= 2 * 5 + 2
    # 800 more cycles may not cost more than 1 MiB: keeping one run result (a dict of
    # check results) or a few log events per cycle would exceed it.
    assert growth < 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over {CYCLES - WARMUP} cycles"
