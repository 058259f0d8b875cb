"""Configures the OpenTelemetry SDK for one pytest process (the controller or an xdist worker).

Standard OTEL_* variables are honoured: OTEL_SDK_DISABLED turns everything off (the api
client then makes its own traceparent), OTEL_EXPORTER_OTLP_ENDPOINT (or the per-signal
variants) adds OTLP/HTTP export, OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override the
resource. Without an endpoint the spans and metric points still go to the run's
telemetry.jsonl, so nothing is lost when no collector is around.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from synthmon.run_context import RunContext
from synthmon.telemetry import exporters
from synthmon.telemetry.metrics import Instruments, views
from synthmon.telemetry.resource import build_resource, run_attributes

log = logging.getLogger("synthmon.telemetry")

INSTRUMENTATION_NAME = "synthmon"
# A collector that does not answer within this costs one warning, never a slow run.
DEFAULT_EXPORT_TIMEOUT_S = 2.0


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def otlp_endpoint(environ: Mapping[str, str], signal: str) -> str | None:
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        return base.rstrip("/") + f"/v1/{signal}"
    return None


def _timeout(environ: Mapping[str, str], signal: str) -> float:
    # The spec says milliseconds; the Python exporters read seconds. Accept what the
    # operator set only if it is short enough not to hang a run, else cap it.
    raw = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_TIMEOUT") or environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_EXPORT_TIMEOUT_S
    except ValueError:
        value = DEFAULT_EXPORT_TIMEOUT_S
    if value > 100:  # given in milliseconds
        value /= 1000
    return min(value, 10.0)


class RunAttributesProcessor(SpanProcessor):
    """Stamps the run-wide tags on every span, whoever created it (our check spans, the api
    client's CLIENT spans, any instrumented library), and fills what the client leaves out.
    The run's context is decided before the SDK starts, so the tags are final from the
    first span on."""

    def __init__(self, attributes: dict[str, Any]):
        self._attributes = attributes

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        span.set_attributes(self._attributes)
        attrs = span.attributes or {}
        # the api client names the id synthmon.synthetic_id; dashboards search synthetic.id
        if "synthetic.id" not in attrs and "synthmon.synthetic_id" in attrs:
            span.set_attribute("synthetic.id", attrs["synthmon.synthetic_id"])
        if "url.full" in attrs and "server.address" not in attrs:
            parts = urlsplit(str(attrs["url.full"]))
            if parts.hostname:
                span.set_attribute("server.address", parts.hostname)
                span.set_attribute("server.port",
                                   parts.port or (443 if parts.scheme == "https" else 80))

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class Telemetry:
    """The SDK of one process. `start()` installs it globally; `shutdown()` flushes it."""

    run_context: RunContext
    worker_id: str = "controller"
    jsonl_path: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # selftests add an InMemorySpanExporter / InMemoryMetricReader here
    extra_span_exporters: list[SpanExporter] = field(default_factory=list)
    extra_metric_readers: list[MetricReader] = field(default_factory=list)
    on_export_failure: Callable[[str], None] | None = None

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    instruments: Instruments | None = None
    health: exporters.ExportHealth | None = None
    _writer: exporters.JsonlWriter | None = None
    _jsonl_reader: MetricReader | None = None

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    def start(self) -> Telemetry:
        if sdk_disabled(self.environ):
            return self
        resource = build_resource(self.run_context, self.worker_id)
        span_exporters: list[SpanExporter] = list(self.extra_span_exporters)
        readers: list[MetricReader] = list(self.extra_metric_readers)
        if self.jsonl_path is not None:
            self._writer = exporters.JsonlWriter(self.jsonl_path)
            span_exporters.append(exporters.JsonlSpanExporter(self._writer))
            # no timer: collected exactly once, at shutdown (see shutdown())
            self._jsonl_reader = PeriodicExportingMetricReader(
                exporters.JsonlMetricExporter(self._writer), export_interval_millis=math.inf)
            readers.append(self._jsonl_reader)
        traces_url = otlp_endpoint(self.environ, "traces")
        metrics_url = otlp_endpoint(self.environ, "metrics")
        if traces_url or metrics_url:
            self._add_otlp(traces_url, metrics_url, span_exporters, readers)

        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            RunAttributesProcessor(run_attributes(self.run_context)))
        for exporter in span_exporters:
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(exporters.ScrubbingSpanExporter(exporter),
                                   export_timeout_millis=int(DEFAULT_EXPORT_TIMEOUT_S * 1000)))
        self.meter_provider = MeterProvider(metric_readers=readers, resource=resource,
                                            views=views(), shutdown_on_exit=False)
        # The global providers can be set once per process; a second start (never in a
        # real run) keeps using its own providers through self.tracer / self.meter.
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        self.instruments = Instruments(self.meter, run_attributes(self.run_context))
        return self

    def _add_otlp(self, traces_url: str | None, metrics_url: str | None,
                  span_exporters: list[SpanExporter], readers: list[MetricReader]) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The OTLP exporter logs every failed batch with a traceback; we say it once.
        logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.CRITICAL)
        logging.getLogger("opentelemetry.sdk").setLevel(logging.CRITICAL)
        self.health = exporters.ExportHealth(traces_url or metrics_url or "",
                                             self.on_export_failure)
        if traces_url:
            span_exporters.append(exporters.GuardedSpanExporter(
                OTLPSpanExporter(endpoint=traces_url, timeout=_timeout(self.environ, "traces")),
                self.health))
        if metrics_url:
            interval = float(self.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "60000"))
            readers.append(PeriodicExportingMetricReader(
                exporters.GuardedMetricExporter(
                    OTLPMetricExporter(endpoint=metrics_url,
                                       timeout=_timeout(self.environ, "metrics")),
                    self.health),
                export_interval_millis=interval,
                export_timeout_millis=_timeout(self.environ, "metrics") * 1000))

    @property
    def tracer(self) -> trace.Tracer:
        provider = self.tracer_provider or trace.get_tracer_provider()
        return provider.get_tracer(INSTRUMENTATION_NAME)

    @property
    def meter(self) -> metrics.Meter:
        provider = self.meter_provider or metrics.get_meter_provider()
        return provider.get_meter(INSTRUMENTATION_NAME)

    def shutdown(self) -> None:
        """Flush and stop: called on every worker and the controller at session end, so a
        short run loses nothing. Bounded by the export timeouts."""
        timeout_ms = int(DEFAULT_EXPORT_TIMEOUT_S * 1000) + 1000
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush(timeout_ms)
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            # A timed reader (OTLP) collects once more on shutdown; the untimed JSONL reader
            # does not, so it is flushed by itself. Flushing the whole provider would export
            # the OTLP points twice, the second time without their exemplars.
            if self._jsonl_reader is not None:
                self._jsonl_reader.force_flush(timeout_ms)
            self.meter_provider.shutdown(timeout_ms)
        if self._writer is not None:
            self._writer.close()
