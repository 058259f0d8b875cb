"""TelemetryPlugin: the spans and metrics of a pytest run.

Registered by synthmon.plugin beside the suite and the reports. On every process (controller
and xdist workers) it configures the SDK at session start and flushes it at session end.
The run's context is decided before it starts, so every span carries the build from its
first moment.

Traces: one trace per run. The controller opens the run span; workers receive its
traceparent through workerinput and hang their check spans under it; the api client's
CLIENT spans are children of the check span (docs/telemetry.md says why).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from synthmon.check_ids import check_synthetic_id
from synthmon.outcomes import CheckOutcome
from synthmon.privacy import scrub_text
from synthmon.run_context import RUN_CONTEXT_KEY, RUN_DIR_KEY, TELEMETRY_INFO_KEY, RunContext
from synthmon.samples import Sample
from synthmon.telemetry.sdk import Telemetry

WORKERINPUT_TRACEPARENT = "synthmon_traceparent"
WORKEROUTPUT_EXPORT_FAILURE = "synthmon_export_failure"

# semconv test.case.result.status is pass | fail; a skip is neither, so it says skip.
_RESULT_STATUS = {"passed": "pass", "xfailed": "pass", "failed": "fail", "error": "fail",
                  "xpassed": "fail", "skipped": "skip"}


@dataclass
class _Check:
    outcome: CheckOutcome
    span: Any
    synthetic_id: str
    samples: list[Sample] = field(default_factory=list)


class TelemetryPlugin:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.worker_id = (self.workerinput.get("workerid", "gw?") if self.workerinput
                          else "controller")
        self.telemetry: Telemetry | None = None
        self.run_span: Any = None
        self.parent_context: Any = None
        self.current: _Check | None = None
        self.export_failures: list[str] = []

    @property
    def context(self) -> RunContext:
        return self.config.stash[RUN_CONTEXT_KEY]

    # -- the SDK and the run span --------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        run_dir = self.config.stash.get(RUN_DIR_KEY, None)
        self.telemetry = Telemetry(
            run_context=self.context,
            worker_id=self.worker_id,
            jsonl_path=run_dir / "telemetry.jsonl" if run_dir else None,
            on_export_failure=self._export_failed,
        ).start()
        if not self.telemetry.enabled:
            return
        if self.workerinput is not None:
            traceparent = self.workerinput.get(WORKERINPUT_TRACEPARENT)
            if traceparent:
                self.parent_context = propagate.extract({"traceparent": traceparent})
            return
        ctx = self.context
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
        """xdist (controller): hand every worker the run's trace context."""
        if self.run_span is not None:
            carrier: dict[str, str] = {}
            propagate.inject(carrier, context=self.parent_context)
            if "traceparent" in carrier:
                node.workerinput[WORKERINPUT_TRACEPARENT] = carrier["traceparent"]

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
        if self.telemetry is None:
            return (yield)
        nodeid = item.nodeid
        check = _Check(outcome=CheckOutcome(nodeid=nodeid), span=None,
                       synthetic_id=check_synthetic_id(self.context.run_id, item))
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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = self.current
        if check is not None and report.nodeid == check.outcome.nodeid:
            check.outcome.apply(report)

    @pytest.hookimpl
    def pytest_synthmon_sample_recorded(self, sample: Sample, item: pytest.Item) -> None:
        """The suite's hook (synthmon.suite.hookspecs), after each HTTP call, on the process
        that made it."""
        if self.current is not None:
            self.current.samples.append(sample)
        if self.telemetry is not None and self.telemetry.instruments is not None:
            self.telemetry.instruments.record_sample(sample)

    def _finish_check(self, check: _Check) -> None:
        outcome = check.outcome
        status = _RESULT_STATUS.get(outcome.outcome, "fail")
        instruments = self.telemetry.instruments if self.telemetry else None
        check_attrs = {"test.case.name": outcome.nodeid,
                       "test.suite.name": outcome.nodeid.split("::", 1)[0],
                       "test.case.result.status": status}
        span = check.span
        if span is not None:
            span.set_attributes({
                "test.case.result.status": status,
                "synthmon.check.outcome": outcome.outcome,
                "synthmon.check.flaky": outcome.flaky,
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
            instruments.record_check(check_attrs, check.synthetic_id, outcome.flaky, context)
        if span is not None:
            span.end()

    # -- the end: flush on every process -------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run_span is not None:
            self.run_span.set_attribute("synthmon.exit_status", int(exitstatus))
            if int(exitstatus) not in (0, 5):
                self.run_span.set_status(Status(StatusCode.ERROR, f"exit status {exitstatus}"))
            self.run_span.end()
        if self.telemetry is not None:
            self.telemetry.shutdown()
        if self.workerinput is not None:
            if self.export_failures and hasattr(self.config, "workeroutput"):
                self.config.workeroutput[WORKEROUTPUT_EXPORT_FAILURE] = self.export_failures[0]
            return
        self.config.stash[TELEMETRY_INFO_KEY] = self._telemetry_info()

    def _telemetry_info(self) -> dict[str, Any]:
        enabled = bool(self.telemetry and self.telemetry.enabled)
        info: dict[str, Any] = {"enabled": enabled}
        if self.run_span is not None:
            info["trace_id"] = format(self.run_span.get_span_context().trace_id, "032x")
        if self.telemetry is not None and self.telemetry.health is not None:
            info["otlp_endpoint"] = self.telemetry.health.endpoint
            info["otlp_export_ok"] = not self.export_failures
        return info

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.workerinput is None and self.export_failures:
            terminalreporter.write_line(f"synthmon: {self.export_failures[0]}", yellow=True)
