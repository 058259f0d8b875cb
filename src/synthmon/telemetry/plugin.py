"""TelemetryPlugin: spans and metrics of a pytest run, and the hook-up of the run's reports.

Registered by synthmon.plugin's pytest_configure (`config.pluginmanager.register(
TelemetryPlugin(config), "synthmon-telemetry")`). On every process (controller and xdist
workers) it configures the SDK at session start and flushes it at session end.

Traces: one trace per run. The controller opens the run span; workers receive its
traceparent through workerinput and hang their check spans under it; the api client's
CLIENT spans are children of the check span (docs/telemetry.md says why).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from synthmon.privacy import register_environment_secrets, scrub_text
from synthmon.reports import allure_support
from synthmon.reports.collect import CheckOutcome, Collector
from synthmon.reports.plugin import WORKERINPUT_REPORTS, ReportsPlugin
from synthmon.samples import Sample
from synthmon.suite.exchange import Exchange
from synthmon.telemetry.resource import run_attributes
from synthmon.telemetry.sdk import Telemetry

WORKERINPUT_TRACEPARENT = "synthmon_traceparent"
WORKEROUTPUT_EXPORT_FAILURE = "synthmon_export_failure"

# semconv test.case.result.status is pass | fail; a skip is neither, so it says skip.
_RESULT_STATUS = {"passed": "pass", "xfailed": "pass", "failed": "fail", "error": "fail",
                  "xpassed": "fail", "skipped": "skip"}


def check_synthetic_id(run_id: str, item: pytest.Item) -> str:
    """The check-level synthetic id: `<run id>.<check>`, the prefix of the ids of its calls
    (`<run id>.<check>.<seq>`, made by the api client), so one log search finds them all."""
    try:
        from synthmon.suite.hooks import short_check_id
    except ImportError:  # the suite plugin is not installed: a stable digest instead
        return f"{run_id}.chk-{hashlib.sha256(item.nodeid.encode()).hexdigest()[:10]}"
    return f"{run_id}.{short_check_id(item)}"


@dataclass
class _Check:
    outcome: CheckOutcome
    span: Any
    synthetic_id: str
    samples: list[Sample] = field(default_factory=list)


class TelemetryPlugin:
    def __init__(self, config: pytest.Config | None = None):
        self.config = config
        self.telemetry: Telemetry | None = None
        self.reports: ReportsPlugin | None = None
        self.run_span: Any = None
        self.parent_context: Any = None
        self.current: _Check | None = None
        self.export_failures: list[str] = []
        self.allure_on = False

    # -- configuration ------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        self.worker_id = config.workerinput.get("workerid", "gw?") if self.is_worker \
            else "controller"
        register_environment_secrets()
        self.reports = ReportsPlugin(config)
        config.pluginmanager.register(self.reports, "synthmon-reports")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        assert self.reports is not None and self.config is not None
        self.reports.prepare()
        self.telemetry = Telemetry(
            run_context=self.reports.run_context,
            worker_id=self.worker_id,
            jsonl_path=self.reports.telemetry_jsonl,
            on_export_failure=self._export_failed,
        ).start()
        self.allure_on = self.config.pluginmanager.get_plugin("allure_listener") is not None
        if not self.telemetry.enabled:
            return
        if self.is_worker:
            traceparent = self.config.workerinput.get(WORKERINPUT_TRACEPARENT)
            if traceparent:
                self.parent_context = propagate.extract({"traceparent": traceparent})
            return
        ctx = self.reports.run_context()
        # A CI job that has its own trace passes TRACEPARENT; the run joins it.
        inbound = os.environ.get("TRACEPARENT")
        parent = propagate.extract({"traceparent": inbound}) if inbound else None
        self.run_span = self.telemetry.tracer.start_span(
            "synthmon run", context=parent, kind=SpanKind.INTERNAL,
            attributes={"synthetic.id": ctx.run_id, "test.suite.name": "synthmon",
                        "synthmon.target": scrub_text(ctx.target) or "",
                        "deployment.environment.name": ctx.environment})
        self.parent_context = trace.set_span_in_context(self.run_span)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist (controller): hand every worker the run's trace context and report dir."""
        if self.run_span is not None:
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=self.parent_context)
            if "traceparent" in carrier:
                node.workerinput[WORKERINPUT_TRACEPARENT] = carrier["traceparent"]
        if self.reports is not None:
            node.workerinput[WORKERINPUT_REPORTS] = self.reports.workerinput()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        failure = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_EXPORT_FAILURE)
        if failure:
            self._export_failed(failure)

    def _export_failed(self, what: str) -> None:
        if self.export_failures:
            return
        endpoint = self.telemetry.health.endpoint if self.telemetry and self.telemetry.health \
            else "the OTLP endpoint"
        self.export_failures.append(
            what if what.startswith("OTLP") else
            f"OTLP export of {what} to {endpoint} failed (collector unreachable or refusing); "
            "later exports of this run were skipped, telemetry.jsonl in the report has them")

    # -- one span per check --------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: Any) -> Generator[None, Any, Any]:
        if self.telemetry is None or self.reports is None:
            return (yield)
        ctx = self.reports.run_context()
        nodeid = item.nodeid
        check = _Check(outcome=CheckOutcome(nodeid=nodeid), span=None,
                       synthetic_id=check_synthetic_id(ctx.run_id, item))
        token = None
        if self.telemetry.enabled:
            check.span = self.telemetry.tracer.start_span(
                nodeid, context=self.parent_context, kind=SpanKind.INTERNAL,
                attributes={"test.case.name": nodeid,
                            "test.suite.name": nodeid.split("::", 1)[0],
                            "synthetic.id": check.synthetic_id,
                            "code.function.name": getattr(item, "name", nodeid)})
            token = otel_context.attach(trace.set_span_in_context(check.span))
        self.current = check
        try:
            return (yield)
        finally:
            if token is not None:
                otel_context.detach(token)
            self.current = None
            self._finish_check(check)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.allure_on:
            allure_support.label_item(item)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = self.current
        if check is not None and report.nodeid == check.outcome.nodeid:
            Collector._apply_outcome(check.outcome, report)
            check.outcome.duration_s += float(report.duration or 0.0)

    @pytest.hookimpl
    def pytest_synthmon_sample_recorded(self, sample: Sample, item: pytest.Item,
                                        exchange: Exchange | None) -> None:
        """The suite's hook (synthmon.suite.hookspecs), after each HTTP call, on the process that
        made it."""
        if self.current is not None:
            self.current.samples.append(sample)
        if self.telemetry is not None and self.telemetry.instruments is not None:
            self.telemetry.instruments.record_sample(sample)
        if self.allure_on:
            allure_support.step_for_sample(sample, exchange)

    def _finish_check(self, check: _Check) -> None:
        outcome = check.outcome
        status = _RESULT_STATUS.get(outcome.outcome, "fail")
        flaky = outcome.outcome == "passed" and any(s.attempts > 1 for s in check.samples)
        instruments = self.telemetry.instruments if self.telemetry else None
        check_attrs = {"test.case.name": outcome.nodeid,
                       "test.suite.name": outcome.nodeid.split("::", 1)[0],
                       "test.case.result.status": status}
        span = check.span
        if span is not None:
            span.set_attributes(run_attributes(self.reports.run_context()) if self.reports
                                else {})
            span.set_attributes({
                "test.case.result.status": status,
                "synthmon.check.outcome": outcome.outcome,
                "synthmon.check.flaky": flaky,
                "synthetic.ids": [s.synthetic_id for s in check.samples],
                "synthmon.check.requests": len(check.samples),
            })
            if status == "fail":
                span.set_status(Status(StatusCode.ERROR,
                                       scrub_text(outcome.message or outcome.outcome)))
            elif status == "pass":
                span.set_status(Status(StatusCode.OK))
        if instruments is not None:
            context = trace.set_span_in_context(span) if span is not None else None
            instruments.record_check(check_attrs, check.synthetic_id, flaky, context)
        if span is not None:
            span.end()

    # -- the end: flush on every process, then the reports -------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run_span is not None:
            if self.reports is not None:  # the build is known now; it was not at the start
                self.run_span.set_attributes(run_attributes(self.reports.run_context()))
            self.run_span.set_attribute("synthmon.exit_status", int(exitstatus))
            if int(exitstatus) not in (0, 5):
                self.run_span.set_status(Status(StatusCode.ERROR, f"exit status {exitstatus}"))
            self.run_span.end()
        if self.telemetry is not None:
            self.telemetry.shutdown()
        if self.is_worker:
            if self.export_failures and hasattr(self.config, "workeroutput"):
                self.config.workeroutput[WORKEROUTPUT_EXPORT_FAILURE] = self.export_failures[0]
            return
        if self.reports is not None:
            self.reports.telemetry_info = self._telemetry_info()
            if self.export_failures:
                self.reports.notes.append(self.export_failures[0])
            self.reports.finish(exitstatus)

    def _telemetry_info(self) -> dict[str, Any]:
        enabled = bool(self.telemetry and self.telemetry.enabled)
        info: dict[str, Any] = {"enabled": enabled}
        if self.run_span is not None:
            info["trace_id"] = format(self.run_span.get_span_context().trace_id, "032x")
        if self.telemetry is not None and self.telemetry.health is not None:
            info["otlp_endpoint"] = self.telemetry.health.endpoint
            info["otlp_export_ok"] = not self.export_failures
        return info
