"""One OpenTelemetry CLIENT span per HTTP call, and the W3C traceparent that carries it.

Only the OpenTelemetry API is used here: the TELEMETRY plugin configures the SDK. With no
SDK the API hands out invalid (non-recording) spans and injects nothing, so the client then
makes a valid random traceparent itself: the target's logs still correlate with the sample.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

_tracer = trace.get_tracer("synthmon.client")


@dataclass(slots=True)
class CallTrace:
    span: Span
    trace_id: str  # 32 hex
    span_id: str  # 16 hex


@contextmanager
def client_span(
    name: str, headers: dict[str, str], attributes: dict[str, Any]
) -> Iterator[CallTrace]:
    """Open the CLIENT span, put its traceparent into `headers`, yield its ids."""
    with _tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False,
        set_status_on_exception=False,
    ) as span:
        context = span.get_span_context()
        if context.is_valid:
            propagate.inject(headers)
            trace_id = format(context.trace_id, "032x")
            span_id = format(context.span_id, "016x")
        else:
            trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
        if "traceparent" not in headers:
            headers["traceparent"] = f"00-{trace_id}-{span_id}-01"
        yield CallTrace(span, trace_id, span_id)
