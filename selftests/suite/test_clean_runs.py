"""Without faults the whole suite passes twenty runs in a row: no false alarms.

Two lanes of ten consecutive runs, each lane against its own sandbox (so the lanes'
synthetic data never meet), run side by side to halve the wall time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from suite_harness import SuiteRun, run_suite, sandbox

RUNS = 20
LANES = 2


def _lane(runs: int) -> list[SuiteRun]:
    with sandbox() as url:
        return [run_suite(url) for _ in range(runs)]


@pytest.mark.slow
def test_twenty_clean_runs_in_a_row():
    with ThreadPoolExecutor(LANES) as pool:
        lanes = list(pool.map(_lane, [RUNS // LANES] * LANES))
    runs = [run for lane in lanes for run in lane]
    failed = [run.output for run in runs if not run.passed]
    assert len(runs) == RUNS
    assert not failed, f"{len(failed)} of {RUNS} clean runs failed; the first:\n{failed[0]}"
    for run in runs:
        verdict = run.output.splitlines()[-1]
        assert " passed" in verdict and "flaky" not in verdict, run.output
