"""What the controller learns from test reports: every Sample and every check's outcome.

Samples travel from the worker in `report.user_properties` under SAMPLE_PROPERTY; a check's
outcome is put together from its setup, call and teardown reports (synthmon.outcomes).
"""

from __future__ import annotations

import pytest

from synthmon.outcomes import AREAS, CheckOutcome, skipped_critical
from synthmon.samples import SAMPLE_PROPERTY, Sample


def samples_of(report: pytest.TestReport) -> list[Sample]:
    return [Sample.from_dict(value) for name, value in report.user_properties
            if name == SAMPLE_PROPERTY and isinstance(value, dict)]


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
        for sample in samples_of(report):
            key = (sample.synthetic_id, sample.span_id)
            if key in self._seen_samples:  # a sample travels once; never count one twice
                continue
            self._seen_samples.add(key)
            self.samples.append(sample)
            check.synthetic_ids.append(sample.synthetic_id)
            unexpected = (sample.expected_status is not None
                          and sample.status != sample.expected_status)
            if (sample.is_server_error or sample.schema_ok is False
                    or sample.budget_verdict == "over_limit" or unexpected):
                check.failed_synthetic_ids.append(sample.synthetic_id)
        check.apply(report)

    def interrupt_unfinished(self, reason: str) -> list[CheckOutcome]:
        """Mark the checks that were still running when the run was interrupted."""
        unfinished = [c for c in self.checks.values() if not c.finished]
        for check in unfinished:
            check.interrupt(reason)
        return unfinished

    def add_verdicts(self, verdicts: list[CheckOutcome]) -> None:
        """The run's own verdicts (synthmon.reports.run_verdicts), listed with the checks."""
        for verdict in verdicts:
            self.checks[verdict.nodeid] = verdict

    def skipped_critical(self) -> list[CheckOutcome]:
        return skipped_critical(self.checks.values())

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for check in self.checks.values():
            counts[check.outcome] = counts.get(check.outcome, 0) + 1
        counts["flaky"] = sum(1 for c in self.checks.values() if c.flaky)
        return counts

    def degraded(self) -> list[Sample]:
        """Calls over their budget but under the hard limit: a warning, not a failure."""
        return [s for s in self.samples if s.budget_verdict == "degraded"]
