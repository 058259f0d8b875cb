"""What became of one check, put together from pytest's reports of its phases.

The suite decides which checks are flaky (passed, but a call needed a retry) and says so on
the call report's `user_properties` under FLAKY_PROPERTY, with the calls that were retried;
reports and telemetry read that property through CheckOutcome, so "flaky" is computed once.
Samples travel the same way, under SAMPLE_PROPERTY (synthmon.samples).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from synthmon.privacy import scrub_text

FLAKY_PROPERTY = "synthmon.flaky"
# the area markers of pytest.ini; a check marked with two (a contract promise of the health
# routes) is counted under the first
AREAS = ("health", "b2c", "auth", "provider", "payments", "negative", "contract")
_MAX_MESSAGE = 600
_MAX_NAMED = 10  # skipped critical checks named in a run's reason; summary.json lists all


def flaky_reason(report: pytest.TestReport) -> str | None:
    """The suite's word on a passed call that needed retries, or None."""
    return next((str(value) for name, value in report.user_properties
                 if name == FLAKY_PROPERTY), None)


def short_message(report: pytest.TestReport) -> str | None:
    """The failure's one-line reason, scrubbed: the exception line, not the traceback."""
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, line, reason)
        return (scrub_text(str(longrepr[2])) or "")[:_MAX_MESSAGE]
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    text = crash if crash else (str(longrepr).strip().splitlines()[-1:] or [""])[0]
    return (scrub_text(text) or "")[:_MAX_MESSAGE]


def skipped_critical(checks: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """The critical checks that were skipped: each one a flow the run proved nothing about."""
    return [c for c in checks if c.critical and c.outcome == "skipped"]


def incomplete_reason(checks: Iterable[CheckOutcome]) -> str | None:
    """Why a run in which nothing failed is still no success, or None: the critical checks
    it skipped, named, with the first one's reason."""
    skipped = skipped_critical(checks)
    if not skipped:
        return None
    names = ", ".join(c.nodeid for c in skipped[:_MAX_NAMED])
    more = f" and {len(skipped) - _MAX_NAMED} more" if len(skipped) > _MAX_NAMED else ""
    why = f" ({skipped[0].message})" if skipped[0].message else ""
    return (f"{len(skipped)} critical check(s) skipped, so the run proves nothing about "
            f"them: {names}{more}{why}")


@dataclass
class CheckOutcome:
    nodeid: str
    # passed | failed | error | skipped | xfailed | xpassed | interrupted (still running when
    # the run was interrupted: never counted as passed)
    outcome: str = "passed"
    duration_s: float = 0.0
    area: str | None = None
    critical: bool = False
    message: str | None = None
    synthetic_ids: list[str] = field(default_factory=list)
    failed_synthetic_ids: list[str] = field(default_factory=list)
    flaky: bool = False
    flaky_reason: str | None = None
    worker: str | None = None
    finished: bool = False  # its teardown was reported

    def interrupt(self, reason: str) -> None:
        """The run was interrupted while this check ran: whatever its phases said so far,
        it did not pass."""
        self.outcome, self.message = "interrupted", reason
        self.flaky, self.flaky_reason = False, None

    def apply(self, report: pytest.TestReport) -> None:
        """Fold one phase's report (setup, call, teardown) into the outcome, as pytest
        counts it: a failed setup or teardown is an error, unless the call failed."""
        xfail = hasattr(report, "wasxfail")
        self.duration_s += float(report.duration or 0.0)
        self.finished = self.finished or report.when == "teardown"
        if report.when == "call":
            if xfail:
                self.outcome = "xfailed" if report.skipped else "xpassed"
            elif report.outcome in ("passed", "failed", "skipped"):
                self.outcome = report.outcome
            reason = flaky_reason(report)
            if reason is not None:
                self.flaky, self.flaky_reason = True, reason
        elif report.failed:
            if self.outcome != "failed":
                self.outcome = "error"
        elif report.skipped and report.when == "setup":
            self.outcome = "xfailed" if xfail else "skipped"
        if report.failed or (report.skipped and self.message is None):
            self.message = short_message(report)
        if self.outcome != "passed":
            self.flaky, self.flaky_reason = False, None  # flaky means: passed after a retry

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.nodeid,
            "outcome": self.outcome,
            "duration_s": round(self.duration_s, 6),
            "area": self.area,
            "critical": self.critical,
            "flaky": self.flaky,
            "message": self.message,
            "synthetic_ids": self.synthetic_ids,
            "failed_synthetic_ids": self.failed_synthetic_ids,
        }
