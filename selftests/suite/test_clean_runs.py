"""Without faults the whole suite passes twenty runs in a row: no false alarms.

Two lanes of ten consecutive runs, each lane against its own sandbox (so the lanes'
synthetic data never meet), run side by side to halve the wall time. The first run of each
lane takes the browser checks in too, one lane on each device (a throttled phone on a busy
machine is the likeliest false alarm); the others are the API checks, whose twenty runs a
browser run each would multiply several times over (bench/browser_flow.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from suite_harness import SuiteRun, run_suite, sandbox

RUNS = 20
LANES = 2


DEVICES = ("desktop", "mobile")  # one lane each


def _lane(runs: int, device: str) -> list[SuiteRun]:
    scopes = [(f"--device={device}",), *[("-m", "not browser")] * (runs - 1)]
    with sandbox() as url:
        return [run_suite(url, *scope) for scope in scopes]


@pytest.mark.slow
def test_twenty_clean_runs_in_a_row():
    with ThreadPoolExecutor(LANES) as pool:
        lanes = list(pool.map(_lane, [RUNS // LANES] * LANES, DEVICES))
    runs = [run for lane in lanes for run in lane]
    failed = [run.output for run in runs if not run.passed]
    assert len(runs) == RUNS
    assert not failed, f"{len(failed)} of {RUNS} clean runs failed; the first:\n{failed[0]}"
    for run in runs:
        verdict = run.output.splitlines()[-1]
        assert " passed" in verdict and "flaky" not in verdict, run.output
