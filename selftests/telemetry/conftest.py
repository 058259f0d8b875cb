"""Fixtures for the telemetry selftests: a sandbox process, a loopback OTLP/HTTP receiver that
decodes the protobuf, and a helper that runs the suite in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from support.http_stub import serving

from synthmon.sandbox_process import SandboxProcess, stop_process
from synthmon.sandbox_process import start_sandbox as start_shared

REPO = Path(__file__).resolve().parents[2]


# The one sandbox launcher (synthmon.sandbox_process); log_lines() reads its access log.
Sandbox = SandboxProcess


def start_sandbox(workdir: Path, *args: str) -> Sandbox:
    return start_shared(workdir, *args, cohort="control", access_log=workdir / "access.log",
                        timeout=30)


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc)


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Sandbox] = []

    def make(*faults: str) -> Sandbox:
        args = [a for f in faults for a in ("--fault", f)]
        box = start_sandbox(tmp_path / f"sandbox{len(started)}", *args)
        started.append(box)
        return box

    try:
        yield make
    finally:
        for box in started:
            stop(box.proc)


@dataclass
class Received:
    raw: list[tuple[str, bytes]] = field(default_factory=list)

    def spans(self) -> list[dict[str, Any]]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        out = []
        for path, body in self.raw:
            if path != "/v1/traces":
                continue
            request = ExportTraceServiceRequest.FromString(body)
            for rs in request.resource_spans:
                resource = _attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append({"name": span.name, "kind": span.kind,
                                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                                    "parent_span_id": span.parent_span_id.hex(),
                                    "attributes": _attrs(span.attributes),
                                    "resource": resource})
        return out

    def metric_points(self) -> list[dict[str, Any]]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )

        out = []
        for path, body in self.raw:
            if path != "/v1/metrics":
                continue
            request = ExportMetricsServiceRequest.FromString(body)
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        for point in data.data_points:
                            record = {"name": metric.name, "unit": metric.unit, "kind": kind,
                                      "attributes": _attrs(point.attributes),
                                      "exemplars": [
                                          {"trace_id": e.trace_id.hex(),
                                           "span_id": e.span_id.hex(),
                                           "filtered_attributes": _attrs(e.filtered_attributes)}
                                          for e in point.exemplars]}
                            if kind == "histogram":
                                record["explicit_bounds"] = list(point.explicit_bounds)
                            out.append(record)
        return out


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    """An OTLP/HTTP (protobuf) receiver on a free loopback port: (endpoint, what arrived)."""
    received = Received()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                import gzip

                body = gzip.decompress(body)
            with lock:
                received.raw.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, received


def run_suite(reports: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The synthetic suite in a subprocess from the repository root (selftests run with
    -p no:synthmon, so the plugin cannot be used in-process)."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OTEL_", "SYNTH_", "PYTEST_"))}
    full_env = {**clean, "SYNTH_REPORTS_DIR": str(reports), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
