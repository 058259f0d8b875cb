"""What the controller learns from test reports: every Sample and every check's outcome.

Samples travel from the worker in `report.user_properties` under SAMPLE_PROPERTY; a check's
outcome is put together from its setup, call and teardown reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from synthmon.samples import SAMPLE_PROPERTY, Sample
from synthmon.privacy import scrub_text

AREAS = ("health", "b2c", "auth", "provider", "payments", "negative")
_MAX_MESSAGE = 600


@dataclass
class CheckOutcome:
    nodeid: str
    outcome: str = "passed"  # passed | failed | error | skipped | xfailed | xpassed
    duration_s: float = 0.0
    area: str | None = None
    critical: bool = False
    message: str | None = None
    synthetic_ids: list[str] = field(default_factory=list)
    failed_synthetic_ids: list[str] = field(default_factory=list)
    flaky: bool = False
    worker: str | None = None

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


def samples_of(report: pytest.TestReport) -> list[Sample]:
    return [Sample.from_dict(value) for name, value in report.user_properties
            if name == SAMPLE_PROPERTY and isinstance(value, dict)]


def short_message(report: pytest.TestReport) -> str | None:
    """The failure's one-line reason, scrubbed: the exception line, not the traceback."""
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, line, reason)
        return scrub_text(str(longrepr[2]))[:_MAX_MESSAGE]
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    text = crash if crash else str(longrepr).strip().splitlines()[-1:] or [""]
    if isinstance(text, list):
        text = text[0]
    return (scrub_text(text) or "")[:_MAX_MESSAGE]


class Collector:
    """Controller-side accumulation, fed by pytest_runtest_logreport."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.checks: dict[str, CheckOutcome] = {}
        self._seen_samples: set[tuple[str, str]] = set()

    def add_report(self, report: pytest.TestReport) -> None:
        check = self.checks.get(report.nodeid)
        if check is None:
            check = self.checks[report.nodeid] = CheckOutcome(nodeid=report.nodeid)
            keywords = getattr(report, "keywords", {}) or {}
            check.area = next((a for a in AREAS if a in keywords), None)
            check.critical = "critical" in keywords
            gateway = getattr(getattr(report, "node", None), "gateway", None)
            check.worker = getattr(gateway, "id", None)  # set by xdist on the controller
        check.duration_s += float(report.duration or 0.0)
        for sample in samples_of(report):
            # user_properties accumulate over the phases: take each sample once.
            key = (sample.synthetic_id, sample.span_id)
            if key in self._seen_samples:
                continue
            self._seen_samples.add(key)
            self.samples.append(sample)
            check.synthetic_ids.append(sample.synthetic_id)
            if sample.attempts > 1:
                check.flaky = True
            unexpected = (sample.expected_status is not None
                          and sample.status != sample.expected_status)
            if (sample.is_server_error or sample.schema_ok is False
                    or sample.budget_verdict == "over_limit" or unexpected):
                check.failed_synthetic_ids.append(sample.synthetic_id)
        self._apply_outcome(check, report)

    @staticmethod
    def _apply_outcome(check: CheckOutcome, report: pytest.TestReport) -> None:
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if xfail:
                check.outcome = "xfailed" if report.skipped else "xpassed"
            elif report.outcome in ("passed", "failed", "skipped"):
                check.outcome = report.outcome
        elif report.failed:  # setup or teardown failed: an error, as pytest says
            if check.outcome != "failed":
                check.outcome = "error"
        elif report.skipped and report.when == "setup":
            check.outcome = "xfailed" if xfail else "skipped"
        if report.failed or (report.skipped and check.message is None):
            check.message = short_message(report)
        if check.outcome != "passed":
            check.flaky = False  # flaky means: passed, but only after a retry

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for check in self.checks.values():
            counts[check.outcome] = counts.get(check.outcome, 0) + 1
        counts["flaky"] = sum(1 for c in self.checks.values() if c.flaky)
        return counts
