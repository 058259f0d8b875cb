"""The run's reports: reports/<run-id>/{summary.json, junit.xml, allure-results/,
telemetry.jsonl}, reports/latest, reports/history.sqlite, and the end-of-run summary in the
pytest output. Registered by synthmon.plugin beside the suite and telemetry; the xdist
controller (or the only process) does the writing, every process labels its Allure results.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthmon.history import DEFAULT_RETENTION_DAYS, HistoryError, HistoryStore
from synthmon.outcomes import incomplete_reason
from synthmon.output_files import folder_problem
from synthmon.reports import allure_support, junit
from synthmon.reports.collect import Collector
from synthmon.reports.run_verdicts import run_verdicts
from synthmon.reports.summary import (
    build_summary,
    point_latest,
    scrubbed_sample,
    write_json_atomic,
)
from synthmon.run_context import (
    INCOMPLETE,
    INTERRUPT_KEY,
    INTERRUPTED,
    RUN_ABORT_KEY,
    RUN_CONTEXT_KEY,
    RUN_DIR_KEY,
    RUN_LATENCY_KEY,
    TELEMETRY_INFO_KEY,
    RunContext,
)
from synthmon.samples import Sample
from synthmon.suite.exchange import Exchange

WORKERINPUT_REPORTS = "synthmon_reports"
_OFF = {"0", "off", "false", "no", "none"}


@dataclass(frozen=True)
class ReportSettings:
    enabled: bool
    base_dir: Path
    retention_days: float

    @classmethod
    def from_config(cls, config: pytest.Config) -> ReportSettings:
        # --reports-dir (its default is $SYNTH_REPORTS_DIR); "off" there, or
        # SYNTH_REPORTS=off, writes no reports at all.
        raw = config.getoption("synthmon_reports_dir")
        disabled = os.environ.get("SYNTH_REPORTS", "").strip().lower() in _OFF
        if raw is not None and raw.strip().lower() in _OFF | {""}:
            disabled = True
        base = Path(raw) if raw else Path(config.rootpath) / "reports"
        if not base.is_absolute():
            base = Path(config.invocation_params.dir) / base
        retention = float(os.environ.get("SYNTH_HISTORY_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
        return cls(enabled=not disabled, base_dir=base, retention_days=retention)


class ReportsPlugin:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.settings = ReportSettings.from_config(config)
        self.collector = Collector()
        self.run_dir: Path | None = None
        self.junit_path: Path | None = None
        self.summary_path: Path | None = None
        self.notes: list[str] = []  # one-line warnings for the end of the pytest output
        self.allure_on = False
        self.outcome: str | None = None  # set when the run did not end on its checks
        self.reason: str | None = None
        self.interrupted: list[str] = []  # checks still running when the run was interrupted

    @property
    def context(self) -> RunContext:
        return self.config.stash[RUN_CONTEXT_KEY]

    # -- where the run's files go (every process knows it from configure on) -------------

    def pytest_configure(self, config: pytest.Config) -> None:
        if self.workerinput is not None:
            run_dir = (self.workerinput.get(WORKERINPUT_REPORTS) or {}).get("run_dir")
            self.run_dir = Path(run_dir) if run_dir else None
        elif self.settings.enabled:
            problem = folder_problem(self.settings.base_dir)
            if problem is not None:
                raise pytest.UsageError(f"--reports-dir={self.settings.base_dir}: cannot "
                                        f"write the reports there: {problem}")
            self.run_dir = self.settings.base_dir / self.context.run_id
        if self.run_dir is not None:
            config.stash[RUN_DIR_KEY] = self.run_dir

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_REPORTS] = {
            "run_dir": str(self.run_dir) if self.run_dir else None}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """After every pytest_configure: junitxml and allure-pytest are configured by now,
        so theirs is pointed at the run directory unless the user chose another."""
        if self.run_dir is not None:
            if self.workerinput is None:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.junit_path = junit.configure(self.config, self.run_dir / "junit.xml")
            # workers parse the command line afresh: the controller's options do not reach
            # them, so each points its own allure listener at the run directory
            allure_support.configure(self.config, self.run_dir / "allure-results")
        self.allure_on = self.config.pluginmanager.get_plugin("allure_listener") is not None

    # -- Allure, on the process that runs the check -------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.allure_on:
            allure_support.label_item(item)

    @pytest.hookimpl
    def pytest_synthmon_sample_recorded(self, sample: Sample, item: pytest.Item,
                                        exchange: Exchange | None) -> None:
        if self.allure_on:
            allure_support.step_for_sample(sample, exchange)

    # -- collection and writing (controller) ---------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.workerinput is None:
            self.collector.add_report(report)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.config.stash.setdefault(INTERRUPT_KEY, f"interrupted ({excinfo.typename})")

    def _ending(self, exitstatus: int) -> tuple[str | None, str | None, list[Sample]]:
        """(outcome, reason, samples) of a run that did not end on its checks' verdicts:
        aborted before them, or interrupted (whose running checks are marked so)."""
        samples = list(self.collector.samples)
        abort = self.config.stash.get(RUN_ABORT_KEY, None)
        if abort is not None:
            return abort.outcome, abort.reason, [*abort.samples, *samples]
        if int(exitstatus) == pytest.ExitCode.INTERRUPTED:
            reason = self.config.stash.get(INTERRUPT_KEY, "interrupted")
            self.interrupted = [c.nodeid for c in self.collector.interrupt_unfinished(reason)]
            return INTERRUPTED, reason, samples
        return None, None, samples

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Last, after telemetry flushed (its word on the export is part of summary.json)
        and after junitxml wrote its file."""
        if self.workerinput is not None:
            return
        self.outcome, self.reason, samples = self._ending(int(session.exitstatus))
        run_latency = self.config.stash.get(RUN_LATENCY_KEY, None)
        # listed with the checks: the summary's checks, the table (reports on or off), junit.xml;
        # only for a run that ended on its checks (an interrupted run's calls are not the run)
        verdicts = run_verdicts(run_latency) if self.outcome is None else []
        self.collector.add_verdicts(verdicts)
        if self.outcome is None and int(session.exitstatus) == pytest.ExitCode.OK:
            # pytest's 0 with critical checks skipped is no success: the run is incomplete
            incomplete = incomplete_reason(self.collector.checks.values())
            if incomplete is not None:
                self.outcome, self.reason = INCOMPLETE, incomplete
        if self.run_dir is None:
            return
        ctx = self.context
        # session.exitstatus, not the argument: a plugin before us may have failed the run
        # (the run-level latency verdict)
        summary = build_summary(ctx, self.collector.checks.values(), samples, time.time(),
                                int(session.exitstatus),
                                telemetry=self.config.stash.get(TELEMETRY_INFO_KEY, {}),
                                run_latency=run_latency,
                                outcome=self.outcome, reason=self.reason)
        self.summary_path = self.run_dir / "summary.json"
        write_json_atomic(self.summary_path, summary)
        if self.junit_path is not None and self.junit_path.is_file():
            try:
                junit.rewrite(self.junit_path, self.outcome, self.reason, self.interrupted,
                              verdicts)
            except Exception as exc:  # a report must never fail the run
                self.notes.append(f"junit.xml left as pytest wrote it: {exc}")
        allure_dir = self.run_dir / "allure-results"
        if allure_dir.is_dir():
            allure_support.write_environment(allure_dir, ctx)
            allure_support.scrub_results(allure_dir)
        point_latest(self.settings.base_dir, self.run_dir, ctx.started_at)
        try:
            HistoryStore(self.settings.base_dir / "history.sqlite",
                         retention_days=self.settings.retention_days).append(
                ctx, [Sample.from_dict(scrubbed_sample(s)) for s in samples],
                outcome=summary["outcome"])
        except HistoryError as exc:
            self.notes.append(str(exc))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.workerinput is not None:
            return
        from synthmon.reports.table import render_summary

        if self.reason is not None:
            terminalreporter.write_line("")
            terminalreporter.write_line(
                f"synthmon: run {self.context.run_id} {self.outcome}: {self.reason}",
                red=True, bold=True)
        for line in render_summary(self.collector, self.context,
                                   self.run_dir if self.summary_path else None):
            terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line(f"synthmon: {note}", yellow=True)
