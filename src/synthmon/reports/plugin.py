"""The run's reports: reports/<run-id>/{summary.json, junit.xml, allure-results/,
telemetry.jsonl}, reports/latest, reports/history.sqlite, and the table at the end of the
pytest output. Registered by the TelemetryPlugin; the controller does the writing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthmon.history import DEFAULT_RETENTION_DAYS, HistoryError, HistoryStore
from synthmon.reports import allure_support, junit
from synthmon.reports.collect import Collector
from synthmon.reports.summary import (
    build_summary,
    point_latest,
    scrubbed_sample,
    write_json_atomic,
)
from synthmon.run_context import RUN_CONTEXT_KEY, RunContext, new_run_id
from synthmon.samples import Sample

WORKERINPUT_REPORTS = "synthmon_reports"
_OFF = {"0", "off", "false", "no", "none"}


@dataclass(frozen=True)
class ReportSettings:
    enabled: bool
    base_dir: Path
    retention_days: float

    @classmethod
    def from_config(cls, config: pytest.Config) -> ReportSettings:
        # --reports-dir is the suite plugin's option (its default is $SYNTH_REPORTS_DIR);
        # "off" there, or SYNTH_REPORTS=off, writes no reports at all.
        option = getattr(config.option, "synthmon_reports_dir", None)
        raw = option if option is not None else os.environ.get("SYNTH_REPORTS_DIR")
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
        self.is_worker = hasattr(config, "workerinput")
        self.settings = ReportSettings.from_config(config)
        self.collector = Collector()
        self.run_dir: Path | None = None
        self.junit_path: Path | None = None
        self.allure_dir: Path | None = None
        self.fallback_context: RunContext | None = None
        self.summary_path: Path | None = None
        self.notes: list[str] = []  # one-line warnings for the terminal summary
        self.telemetry_info: dict[str, Any] = {}

    # -- set-up (called by the TelemetryPlugin at session start) ----------------------

    def run_context(self) -> RunContext:
        ctx = self.config.stash.get(RUN_CONTEXT_KEY, None)
        if ctx is not None:
            return ctx
        if self.fallback_context is None:  # the suite plugin did not set one: still report
            self.fallback_context = RunContext(
                run_id=new_run_id(), target="unknown", target_name="unknown", cohort="control",
                region="local", device="desktop", build_id="unknown", git_sha="unknown",
                environment="unknown", started_at=time.time())
        return self.fallback_context

    def prepare(self) -> None:
        if self.is_worker:
            info = self.config.workerinput.get(WORKERINPUT_REPORTS) or {}
            if info.get("run_dir"):
                self.run_dir = Path(info["run_dir"])
                self.allure_dir = self.run_dir / "allure-results"
                # workers parse the command line afresh: the controller's options do not
                # reach them, so each points its own allure listener at the run directory
                allure_support.configure(self.config, self.allure_dir)
            return
        if not self.settings.enabled:
            return
        ctx = self.run_context()
        self.run_dir = self.settings.base_dir / ctx.run_id
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.junit_path = junit.configure(self.config, self.run_dir / "junit.xml")
        self.allure_dir = self.run_dir / "allure-results"
        allure_support.configure(self.config, self.allure_dir)

    @property
    def telemetry_jsonl(self) -> Path | None:
        return self.run_dir / "telemetry.jsonl" if self.run_dir else None

    def workerinput(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir) if self.run_dir else None}

    # -- collection (controller) --------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_worker:
            self.collector.add_report(report)

    # -- writing (controller, called by the TelemetryPlugin after telemetry shut down) ----

    def finish(self, exitstatus: int) -> None:
        if self.is_worker or not self.settings.enabled or self.run_dir is None:
            return
        ctx = self.run_context()
        finished = time.time()
        summary = build_summary(ctx, self.collector.checks.values(), self.collector.samples,
                                finished, int(exitstatus), telemetry=self.telemetry_info)
        self.summary_path = self.run_dir / "summary.json"
        write_json_atomic(self.summary_path, summary)
        if self.junit_path is not None and self.junit_path.is_file():
            try:
                junit.rewrite(self.junit_path)
            except Exception as exc:  # a report must never fail the run
                self.notes.append(f"junit.xml left as pytest wrote it: {exc}")
        if self.allure_dir is not None and self.allure_dir.is_dir():
            allure_support.write_environment(self.allure_dir, ctx)
            allure_support.scrub_results(self.allure_dir)
        point_latest(self.settings.base_dir, self.run_dir)
        try:
            HistoryStore(self.settings.base_dir / "history.sqlite",
                         retention_days=self.settings.retention_days).append(
                ctx, [Sample.from_dict(scrubbed_sample(s)) for s in self.collector.samples])
        except HistoryError as exc:
            self.notes.append(str(exc))

    # -- the table at the end of the pytest output ---------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        from synthmon.reports.table import render_summary

        for line in render_summary(self.collector, self.run_dir if self.summary_path else None):
            terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line(f"synthmon: {note}", yellow=True)
