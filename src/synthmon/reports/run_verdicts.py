"""The run's own verdicts as entries beside its checks: the run-level latency verdict becomes
`synthmon::run_latency` in summary.json's checks, the end-of-run table and junit.xml, so the
monitor exports it as a check (and the alert rules can page on it) and CI sees a failing
testcase rather than only an exit status.

Only a judged verdict is listed: a run with too few critical calls says nothing about its
latency, and an entry that could only pass would be a check that cannot fail.
"""

from __future__ import annotations

from typing import Any

from synthmon.outcomes import CheckOutcome
from synthmon.run_verdict_names import RUN_LATENCY_CHECK
from synthmon.privacy import scrub_text


def run_verdicts(run_latency: dict[str, Any] | None) -> list[CheckOutcome]:
    """summary.json's `run_latency` (the suite's verdict) -> the entries to list."""
    if not run_latency or not run_latency.get("judged"):
        return []
    failed = bool(run_latency["failed"])
    ids = [str(e["slowest_synthetic_id"]) for e in run_latency.get("slow_endpoints", [])
           if e.get("slowest_synthetic_id")]
    return [CheckOutcome(
        nodeid=RUN_LATENCY_CHECK, outcome="failed" if failed else "passed",
        # judged over the critical calls: a slow run is a page, like a critical check
        critical=True,
        message=scrub_text(str(run_latency["reason"])) if failed else None,
        synthetic_ids=ids, failed_synthetic_ids=ids if failed else [], finished=True)]
