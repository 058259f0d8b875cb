"""The web faults bend pages only: with all five on every page, the API checks pass, so a
page broken this way is something only the browser checks see (test_faults.py gives each
web fault its browser check)."""

from __future__ import annotations

import pytest
from suite_harness import run_suite, sandbox

WEB_FAULTS = ("dead-save-button", "script-error", "layout-shift", "slow-paint:ms=4500",
              "third-party-call")


@pytest.mark.slow
def test_the_api_checks_pass_with_every_web_fault_on() -> None:
    with sandbox(*WEB_FAULTS) as url:
        run = run_suite(url, "-m", "not browser")
    assert run.passed, run.output
    assert " passed" in run.output.splitlines()[-1] and "failed" not in run.output.splitlines()[-1]
