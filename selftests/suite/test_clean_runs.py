"""Without faults the whole suite passes twenty runs in a row: no false alarms.

Two lanes of ten consecutive runs, each lane against its own sandbox (so the lanes'
synthetic data never meet), run side by side to halve the wall time. The first two runs of
each lane take the browser checks in too, once per device (four browser runs in all, where
a throttled phone on a busy machine is the likeliest false alarm); the others are the API
checks, whose twenty runs a browser run each would multiply.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from suite_harness import SuiteRun, run_suite, sandbox

RUNS = 20
LANES = 2


WITH_BROWSER = (("--device=desktop",), ("--device=mobile",))


def _lane(runs: int) -> list[SuiteRun]:
    scopes = [*WITH_BROWSER, *[("-m", "not browser")] * (runs - len(WITH_BROWSER))]
    with sandbox() as url:
        return [run_suite(url, *scope) for scope in scopes]


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
