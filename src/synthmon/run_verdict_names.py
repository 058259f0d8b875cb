"""The names of the run's own verdicts, listed with its checks (summary.json's checks,
junit.xml's testcases) so that whatever reads results (the monitor, CI) sees them. Shared by
the reports that write them and the monitor that reads them, which never imports pytest.

A run verdict is no pytest node: it cannot be run alone, only judged again by a whole run.
"""

from __future__ import annotations

RUN_VERDICT_PREFIX = "synthmon::"
RUN_LATENCY_CHECK = RUN_VERDICT_PREFIX + "run_latency"


def is_run_verdict(check: str) -> bool:
    """A verdict on the whole run (synthmon::run_latency), not a check pytest can select."""
    return check.startswith(RUN_VERDICT_PREFIX)
