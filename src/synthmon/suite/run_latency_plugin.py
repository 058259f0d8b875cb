"""The run-level latency verdict as a pytest plugin beside the suite's (registered by
synthmon.plugin): it gathers every Sample on the controller from the test reports, judges
the run at session end (synthmon.suite.run_latency) and fails a slow run: exit status 1,
a `synthmon latency` section naming the endpoints and their times, and the verdict in the
stash (run_context.RUN_LATENCY_KEY) for summary.json."""

from __future__ import annotations

from typing import Any

import pytest

from synthmon.run_context import RUN_LATENCY_KEY
from synthmon.samples import SAMPLE_PROPERTY
from synthmon.suite.run_latency import RunLatencyRule, RunLatencyVerdict, judge


class RunLatencyPlugin:
    def __init__(self, config: pytest.Config, rule: RunLatencyRule) -> None:
        self.config = config
        self.rule = rule
        self.samples: list[dict[str, Any]] = []
        self.controller = not hasattr(config, "workerinput")
        self.verdict: RunLatencyVerdict | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.controller:
            self.samples.extend(value for name, value in report.user_properties
                                if name == SAMPLE_PROPERTY and isinstance(value, dict))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.controller or not self.samples:
            return
        verdict = self.verdict = judge(self.samples, self.rule)
        self.config.stash[RUN_LATENCY_KEY] = verdict.to_dict()
        if verdict.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        verdict = self.verdict
        if verdict is None:
            return
        if verdict.failed:
            terminalreporter.section("synthmon latency", sep="-", red=True, bold=True)
            terminalreporter.write_line(f"FAILED run latency: {verdict.reason}", red=True)
        else:
            terminalreporter.section("synthmon latency", sep="-")
            # too few calls is no verdict, and must not read as one that passed
            said = "ok" if verdict.judged else "not judged"
            terminalreporter.write_line(f"run latency {said}: {verdict.reason}")
