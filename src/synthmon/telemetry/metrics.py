"""The monitor's metrics: request duration, check results, schema failures, budget breaches,
flaky checks, browser steps and Web Vitals. All tagged canary=true, cohort, region, device,
build_id, git_sha.

Series labels stay bounded on purpose: the per-request synthetic id and the trace id ride on
each point as an exemplar (the exemplar's filtered attributes and its trace/span ids), which
is exactly what a dashboard needs to jump from a slow bucket to the request's trace and
server log line, without one series per request.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from synthmon.samples import HTTP_4XX, HTTP_5XX, Sample
from synthmon.telemetry.resource import METRIC_RUN_KEYS

DURATION = "http.client.request.duration"
CHECK_RESULTS = "synthmon.check.results"
SCHEMA_FAILURES = "synthmon.schema.failures"
BUDGET_BREACHES = "synthmon.budget.breaches"
FLAKY_CHECKS = "synthmon.check.flaky"
SCHEMA_DRIFT = "synthmon.schema.drift"
PHASE_DURATION = "synthmon.http.client.phase.duration"
DNS_LOOKUP = "dns.lookup.duration"  # the semantic conventions' own name for the dns phase
BROWSER_STEP = "synthmon.browser.step.duration"
# One histogram per Web Vital (CLS has no unit), named after the vital as web-vitals names it.
WEB_VITALS = {"TTFB": "synthmon.web_vital.ttfb", "LCP": "synthmon.web_vital.lcp",
              "CLS": "synthmon.web_vital.cls", "TBT": "synthmon.web_vital.tbt",
              "INP": "synthmon.web_vital.inp"}

# The HTTP semantic conventions' advisory buckets plus the canary's two thresholds (the SLO's
# 120 ms P95 and the 150 ms rollback trigger), so a histogram quantile lands on them exactly.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.12, 0.15, 0.25, 0.5, 0.75,
                    1.0, 2.5, 5.0, 7.5, 10.0)

ERROR_TYPE = "synthmon.error.type"
# Google's "good" and "poor" thresholds are bucket bounds, so a quantile lands on them.
_VITAL_BUCKETS = {
    "TTFB": (0.05, 0.1, 0.2, 0.4, 0.8, 1.2, 1.8, 3.0, 5.0, 10.0),
    "LCP": (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0, 20.0),
    "CLS": (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0),
    "TBT": (0.016, 0.05, 0.1, 0.2, 0.3, 0.6, 1.0, 2.0, 5.0),
    "INP": (0.016, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
}
_STEP_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0)
_BROWSER_KEYS = {"url.template", "synthmon.step", "synthmon.critical", "error.type"}
_HTTP_KEYS = {"http.request.method", "url.template", "http.response.status_code",
              "server.address", "server.port", "error.type", ERROR_TYPE, "synthmon.critical"}
_CHECK_KEYS = {"test.case.name", "test.suite.name", "test.case.result.status"}


def views() -> list[View]:
    run = set(METRIC_RUN_KEYS)
    return [
        View(instrument_name=DURATION, attribute_keys=run | _HTTP_KEYS,
             aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=SCHEMA_FAILURES, attribute_keys=run | _HTTP_KEYS),
        View(instrument_name=BUDGET_BREACHES,
             attribute_keys=run | _HTTP_KEYS | _BROWSER_KEYS | {"synthmon.budget.verdict"}),
        View(instrument_name=CHECK_RESULTS, attribute_keys=run | _CHECK_KEYS),
        View(instrument_name=FLAKY_CHECKS, attribute_keys=run | _CHECK_KEYS),
        View(instrument_name=SCHEMA_DRIFT, attribute_keys=run | _HTTP_KEYS),
        View(instrument_name=PHASE_DURATION,
             attribute_keys=run | _HTTP_KEYS | {"synthmon.http.phase"},
             aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=DNS_LOOKUP, attribute_keys=run | {"dns.question.name"},
             aggregation=ExplicitBucketHistogramAggregation(DURATION_BUCKETS)),
        View(instrument_name=BROWSER_STEP, attribute_keys=run | _BROWSER_KEYS,
             aggregation=ExplicitBucketHistogramAggregation(_STEP_BUCKETS)),
        *(View(instrument_name=WEB_VITALS[vital], attribute_keys=run | _BROWSER_KEYS,
               aggregation=ExplicitBucketHistogramAggregation(buckets))
          for vital, buckets in _VITAL_BUCKETS.items()),
    ]


def http_attributes(sample: Sample) -> dict[str, Any]:
    """HTTP semantic-convention attributes of one call (no URL: the template says enough)."""
    from urllib.parse import urlsplit

    parts = urlsplit(sample.target)
    attrs: dict[str, Any] = {
        "http.request.method": sample.method,
        "url.template": sample.route,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        "synthmon.critical": sample.critical,
    }
    if sample.status is not None:
        attrs["http.response.status_code"] = sample.status
    if sample.error_type in (HTTP_4XX, HTTP_5XX) or (
            sample.error_type is None and sample.status is not None and sample.status >= 500):
        attrs["error.type"] = str(sample.status)  # the semantic conventions: the status code
    elif sample.error_type:
        attrs["error.type"] = sample.error_type
    if sample.error_type:
        # what went wrong, in synthmon's bounded set (no-answer, deadline, http-5xx, ...), so
        # a query can count calls without a complete answer apart from 5xx answers
        attrs[ERROR_TYPE] = sample.error_type
    return attrs


def exemplar_context(trace_id: str, span_id: str) -> Context | None:
    """A context holding the request's span, so the point's exemplar names that trace."""
    try:
        span_context = SpanContext(trace_id=int(trace_id, 16), span_id=int(span_id, 16),
                                   is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    except (TypeError, ValueError):
        return None
    if not span_context.is_valid:
        return None
    return trace.set_span_in_context(NonRecordingSpan(span_context))


class Instruments:
    def __init__(self, meter: Meter, run_attrs: dict[str, Any]):
        # synthmon.run.id is recorded but kept off the series by the views: exemplar material.
        self.run_attrs = {k: v for k, v in run_attrs.items()
                          if k in METRIC_RUN_KEYS or k == "synthmon.run.id"}
        self.duration = meter.create_histogram(
            DURATION, unit="s", description="Duration of HTTP client requests, body included.")
        self.check_results = meter.create_counter(
            CHECK_RESULTS, unit="{check}", description="Synthetic check outcomes.")
        self.schema_failures = meter.create_counter(
            SCHEMA_FAILURES, unit="{response}",
            description="Responses that failed their JSON Schema.")
        self.budget_breaches = meter.create_counter(
            BUDGET_BREACHES, unit="{request}",
            description="Requests over their latency budget (degraded) or hard limit.")
        self.flaky = meter.create_counter(
            FLAKY_CHECKS, unit="{check}", description="Checks that passed only after a retry.")
        self.schema_drift = meter.create_counter(
            SCHEMA_DRIFT, unit="{response}",
            description="Responses with members no schema names (additive, not failures).")
        self.phase_duration = meter.create_histogram(
            PHASE_DURATION, unit="s",
            description="Where a call over a fresh connection spent its time: dns, connect, "
                        "tls, ttfb, transfer.")
        self.dns_lookup = meter.create_histogram(
            DNS_LOOKUP, unit="s", description="DNS lookups of the target's host name.")
        self.step = meter.create_histogram(
            BROWSER_STEP, unit="s",
            description="Browser check steps, from the first action to the visible result.")
        self.vitals = {vital: meter.create_histogram(
            name, unit="1" if vital == "CLS" else "s",
            description=f"{vital} of a page in a browser check.")
            for vital, name in WEB_VITALS.items()}

    def record_sample(self, sample: Sample) -> None:
        if not sample.is_http:
            self._record_browser(sample)
            return
        attrs = {**self.run_attrs, **http_attributes(sample),
                 "synthetic.id": sample.synthetic_id}
        context = exemplar_context(sample.trace_id, sample.span_id)
        self.duration.record(sample.total_ms / 1000.0, attrs, context=context)
        if sample.schema_ok is False:
            self.schema_failures.add(1, attrs, context=context)
        if sample.schema_drift:
            self.schema_drift.add(1, attrs, context=context)
        for phase, ms in (sample.phases or {}).items():
            self.phase_duration.record(ms / 1000.0, {**attrs, "synthmon.http.phase": phase},
                                       context=context)
            if phase == "dns":
                self.dns_lookup.record(ms / 1000.0, {
                    **self.run_attrs, "dns.question.name": attrs.get("server.address", ""),
                    "synthetic.id": sample.synthetic_id}, context=context)
        if sample.budget_verdict != "ok":
            self.budget_breaches.add(1, {**attrs, "synthmon.budget.verdict": sample.budget_verdict},
                                     context=context)

    def _record_browser(self, sample: Sample) -> None:
        """A step (synthmon.step: its name) or a vital (url.template: the page), device among
        the run's tags; over-budget ones are budget breaches like slow calls."""
        attrs: dict[str, Any] = {**self.run_attrs, "synthmon.critical": sample.critical,
                                 "synthetic.id": sample.synthetic_id}
        histogram: Histogram | None
        if sample.kind == "step":
            attrs["synthmon.step"] = sample.route
            histogram = self.step
        else:
            attrs["url.template"] = sample.route
            histogram = self.vitals.get(sample.method)
        if histogram is None:
            return
        if sample.error_type:
            attrs["error.type"] = sample.error_type
        value = sample.total_ms if sample.unit == "score" else sample.total_ms / 1000.0
        context = exemplar_context(sample.trace_id, sample.span_id)
        histogram.record(value, attrs, context=context)
        if sample.budget_verdict != "ok":
            self.budget_breaches.add(1, {**attrs, "synthmon.budget.verdict": sample.budget_verdict},
                                     context=context)

    def record_check(self, check_attrs: dict[str, Any], synthetic_id: str, flaky: bool,
                     context: Context | None) -> None:
        attrs = {**self.run_attrs, **check_attrs, "synthetic.id": synthetic_id}
        self.check_results.add(1, attrs, context=context)
        if flaky:
            self.flaky.add(1, attrs, context=context)
