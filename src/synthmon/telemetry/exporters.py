"""Span and metric exporters: the JSON-lines copy in the run's report, a scrubbing wrapper,
and a guard that turns an unreachable collector into one warning instead of a slow run."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogramDataPoint,
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from synthmon.privacy import scrub_text

log = logging.getLogger("synthmon.telemetry")


# -- JSON lines ----------------------------------------------------------------------------

class JsonlWriter:
    """Appends JSON lines to one file shared by the controller and every xdist worker.

    O_APPEND plus one os.write per batch keeps concurrent writers' lines whole (the kernel
    positions and writes each call atomically for regular files), so no worker needs a lock
    or a file of its own.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        data = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, data.encode())

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _attrs(attributes: Any) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in (attributes or {}).items()}


def span_record(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()  # None only for a ReadableSpan built without a context
    return {
        "type": "span",
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{ctx.trace_id:032x}" if ctx else None,
        "span_id": f"{ctx.span_id:016x}" if ctx else None,
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "status": {"code": span.status.status_code.name,
                   "description": span.status.description},
        "attributes": _attrs(span.attributes),
        "events": [{"name": e.name, "attributes": _attrs(e.attributes)} for e in span.events],
        "resource": _attrs(span.resource.attributes),
    }


class JsonlSpanExporter(SpanExporter):
    def __init__(self, writer: JsonlWriter):
        self.writer = writer

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.writer.write([span_record(s) for s in spans])
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _point_values(
        point: NumberDataPoint | HistogramDataPoint | ExponentialHistogramDataPoint,
) -> dict[str, Any]:
    if isinstance(point, HistogramDataPoint):
        return {"count": point.count, "sum": point.sum,
                "bucket_counts": list(point.bucket_counts),
                "explicit_bounds": list(point.explicit_bounds)}
    if isinstance(point, ExponentialHistogramDataPoint):
        # A view or OTEL_* setting may choose the exponential aggregation: its buckets are
        # indexed from an offset at a scale, as OTLP carries them.
        return {"count": point.count, "sum": point.sum, "scale": point.scale,
                "zero_count": point.zero_count,
                "positive": {"offset": point.positive.offset,
                             "bucket_counts": list(point.positive.bucket_counts)},
                "negative": {"offset": point.negative.offset,
                             "bucket_counts": list(point.negative.bucket_counts)}}
    return {"value": point.value}


def metric_records(data: MetricsData) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for rm in data.resource_metrics:
        resource = _attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    record: dict[str, Any] = {
                        "type": "metric",
                        "name": metric.name,
                        "unit": metric.unit,
                        "kind": type(metric.data).__name__,
                        "attributes": _attrs(point.attributes),
                        "time_unix_nano": point.time_unix_nano,
                        "resource": resource,
                    }
                    record.update(_point_values(point))
                    record["exemplars"] = [
                        {"value": e.value,
                         "trace_id": f"{e.trace_id:032x}" if e.trace_id else None,
                         "span_id": f"{e.span_id:016x}" if e.span_id else None,
                         "filtered_attributes": _attrs(e.filtered_attributes)}
                        for e in (getattr(point, "exemplars", None) or [])
                    ]
                    records.append(record)
    return records


class JsonlMetricExporter(MetricExporter):
    def __init__(self, writer: JsonlWriter):
        super().__init__(preferred_temporality={}, preferred_aggregation={})
        self.writer = writer

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        self.writer.write(metric_records(metrics_data))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


# -- privacy -------------------------------------------------------------------------------

def _scrub_attrs(attributes: Any) -> tuple[dict[str, Any], bool]:
    clean: dict[str, Any] = {}
    changed = False
    for key, value in (attributes or {}).items():
        if isinstance(value, str):
            new: Any = scrub_text(value)
        elif isinstance(value, list | tuple) and value and isinstance(value[0], str):
            new = [scrub_text(v) for v in value]
        else:
            new = value
        changed = changed or new != (list(value) if isinstance(value, tuple) else value)
        clean[key] = new
    return clean, changed


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    """The span with secrets and personal data removed from attributes, events and status.

    Spans come from our own code and from the api client, which set no bodies; this is the
    last net for a token in a URL or an email in an exception message.
    """
    attributes, changed = _scrub_attrs(span.attributes)
    events = []
    for event in span.events:
        event_attrs, event_changed = _scrub_attrs(event.attributes)
        changed = changed or event_changed
        events.append(Event(event.name, event_attrs, event.timestamp))
    status = span.status
    description = scrub_text(status.description) if status.description else None
    if description != status.description:
        from opentelemetry.trace import Status

        status = Status(status.status_code, description)
        changed = True
    if not changed:
        return span
    return ReadableSpan(
        name=span.name, context=span.get_span_context(), parent=span.parent,
        resource=span.resource, attributes=attributes, events=events, links=span.links,
        kind=span.kind, status=status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter):
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub_span(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


# -- an unreachable collector --------------------------------------------------------------

class ExportHealth:
    """Shared by the span and metric guards of one process: after the first failed export
    every later one is skipped, so a dead collector costs one timeout, not one per batch."""

    def __init__(self, endpoint: str, on_failure: Callable[[str], None] | None = None):
        self.endpoint = endpoint
        self.failed: str | None = None
        self._on_failure = on_failure

    def record_failure(self, what: str) -> None:
        if self.failed is None:
            self.failed = what
            if self._on_failure:
                self._on_failure(what)


class GuardedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, health: ExportHealth):
        self.inner = inner
        self.health = health

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.health.failed:
            return SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # an exporter must never fail the run
            result = SpanExportResult.FAILURE
            log.debug("span export raised", exc_info=exc)
        if result is not SpanExportResult.SUCCESS:
            self.health.record_failure("spans")
        return result

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):  # shutting down a broken exporter
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class GuardedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, health: ExportHealth):
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None) or {},
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None) or {},
        )
        self.inner = inner
        self.health = health

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        if self.health.failed:
            return MetricExportResult.FAILURE
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis)
        except Exception as exc:
            result = MetricExportResult.FAILURE
            log.debug("metric export raised", exc_info=exc)
        if result is not MetricExportResult.SUCCESS:
            self.health.record_failure("metrics")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with contextlib.suppress(Exception):
            self.inner.shutdown()


__all__ = [
    "AggregationTemporality",
    "ExportHealth",
    "GuardedMetricExporter",
    "GuardedSpanExporter",
    "JsonlMetricExporter",
    "JsonlSpanExporter",
    "JsonlWriter",
    "ScrubbingSpanExporter",
]
