"""Unit tests on constructed samples: privacy, the SDK set-up with the in-memory exporter
and reader, summary.json against its schema, and the end-of-run table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from synthmon import privacy
from synthmon.outcomes import CheckOutcome
from synthmon.reports.stats import endpoint_stats, percentile
from synthmon.reports.summary import build_summary
from synthmon.run_context import RunContext
from synthmon.samples import Sample
from synthmon.telemetry.exporters import metric_records, scrub_span
from synthmon.telemetry.metrics import DURATION_BUCKETS
from synthmon.telemetry.resource import build_resource
from synthmon.telemetry.sdk import Telemetry

from .conftest import REPO

CTX = RunContext(run_id="20260101T000000Z-abcdef", target="http://127.0.0.1:5000",
                 target_name="sandbox", cohort="canary", region="eu-west", device="mobile",
                 build_id="b-42", git_sha="abcdef1", environment="sandbox", started_at=1.0e9)


def sample(n: int = 1, **changes: object) -> Sample:
    base = dict(run_id=CTX.run_id, check="tests/synthetic/test_b2c.py::test_flow", method="GET",
                route="/api/v1/scholarships", status=200, total_ms=10.0 * n, ttfb_ms=4.0,
                schema_ok=True, schema_error=None, budget_ms=150.0, hard_limit_ms=1000.0,
                budget_verdict="ok", synthetic_id=f"{CTX.run_id}.b2c-flow.{n}",
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id=f"{n:016x}",
                started_at=1.0e9 + n, target=CTX.target, cohort="canary", region="eu-west",
                device="mobile", build_id="b-42", git_sha="abcdef1", critical=True,
                expected_status=200)
    base.update(changes)
    return Sample(**base)  # type: ignore[arg-type]


# -- privacy -------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", [
    "jane.leak@example.com", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3IifQ.c2lnbmF0dXJl",
    "Bearer abc.def-ghi", "tok_sandbox_visa", "sa_session=s3cr3tcookievalue",
])
def test_scrub_text_removes_secrets(secret: str) -> None:
    text = f"expected 200, got 422 for {secret} (see logs)"
    cleaned = privacy.scrub_text(text)
    assert cleaned is not None
    assert secret.split("=")[-1].split(" ")[-1] not in cleaned
    assert cleaned.startswith("expected 200, got 422 for ")


def test_scrub_text_keeps_ids_and_removes_keyed_values() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    text = f'trace {trace} {{"password": "Hunter2-pass", "name": "Jane Doe"}} password=x1y2z3'
    cleaned = privacy.scrub_text(text) or ""
    assert trace in cleaned
    assert "Hunter2-pass" not in cleaned and "Jane Doe" not in cleaned and "x1y2z3" not in cleaned


def test_registered_secrets_are_removed_literally() -> None:
    privacy.register_secret("Zebulon Quartermain")
    assert "Zebulon" not in (privacy.scrub_text("hello Zebulon Quartermain!") or "")
    privacy.register_environment_secrets({"SYNTH_STUDENT_PASSWORD": "pw-from-environment"})
    assert privacy.scrub_text("x pw-from-environment y") == "x [redacted] y"


def test_a_secret_is_removed_from_a_text_of_its_own_length_and_longer_ones() -> None:
    """The scrub starts at the first secret short enough to fit in the text: one of exactly
    the text's length, and every shorter one, are still looked for."""
    long, middle, short = "L" * 40 + "-secret", "middle-secret-value", "shorty"
    privacy.register_secret(long, middle, short)
    assert privacy.scrub_text(middle) == privacy.REDACTED
    assert privacy.scrub_text(f"a {short} b") == f"a {privacy.REDACTED} b"
    assert privacy.scrub_text(f"{long}{middle}") == privacy.REDACTED * 2
    assert privacy.scrub_text("short") == "short"  # shorter than every secret


def test_headers_pass_an_allow_list() -> None:
    clean = privacy.scrub_headers({"Content-Type": "application/json",
                                   "Authorization": "Bearer abc", "Set-Cookie": "sa_session=1",
                                   "X-Debug-User-Email": "a@b.example",
                                   "X-Synthetic-Id": "run.check.1"})
    assert clean["Content-Type"] == "application/json"
    assert clean["X-Synthetic-Id"] == "run.check.1"
    assert clean["Authorization"] == clean["Set-Cookie"] == clean["X-Debug-User-Email"] \
        == privacy.REDACTED


def test_shape_hash_ignores_values_and_sees_shape() -> None:
    a = privacy.shape_hash(b'{"user": {"id": "usr_1", "email": "a@b.example"}, "n": 1}')
    b = privacy.shape_hash(b'{"n": 7, "user": {"email": "z@y.example", "id": "usr_2"}}')
    c = privacy.shape_hash(b'{"user": {"id": "usr_1"}, "n": 1}')
    assert a == b != c
    assert a.startswith("sha256:")
    html = privacy.shape_hash(b"<html>oops</html>", "text/html; charset=utf-8")
    assert html == "opaque:text/html"


def test_scrub_span_cleans_attributes_and_status() -> None:
    exporter = InMemorySpanExporter()
    telemetry = Telemetry(CTX, worker_id="t", jsonl_path=None, environ={},
                          extra_span_exporters=[exporter]).start()
    span = telemetry.tracer.start_span("x", attributes={"url.full": "http://h/?email=a@b.example"})
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, "token eyJabcdefgh.ijklmnop.qrstuvwx leaked"))
    span.end()
    telemetry.shutdown()
    (exported,) = exporter.get_finished_spans()
    assert "a@b.example" not in str(exported.attributes)
    assert "eyJabcdefgh" not in (exported.status.description or "")
    assert scrub_span(exported) is exported  # already clean: no copy


# -- the SDK with the in-memory exporter and reader ------------------------------------------

def test_spans_and_metric_points_carry_the_run_tags(tmp_path: Path) -> None:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry = Telemetry(CTX, worker_id="gw0", jsonl_path=tmp_path / "t.jsonl",
                          environ={}, extra_span_exporters=[exporter],
                          extra_metric_readers=[reader]).start()
    assert telemetry.enabled
    with telemetry.tracer.start_as_current_span(
            "GET /api/v1/scholarships", kind=SpanKind.CLIENT,
            attributes={"synthmon.synthetic_id": "run.b2c-flow.1",
                        "url.full": "http://127.0.0.1:5000/api/v1/scholarships"}) as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        span_id = format(span.get_span_context().span_id, "016x")
    assert telemetry.instruments is not None
    telemetry.instruments.record_sample(sample(1, trace_id=trace_id, span_id=span_id,
                                               schema_ok=False, budget_verdict="degraded"))
    data = reader.get_metrics_data()
    telemetry.shutdown()

    (client,) = exporter.get_finished_spans()
    attrs = dict(client.attributes or {})
    assert attrs["canary"] is True and attrs["synthetic.id"] == "run.b2c-flow.1"
    assert (attrs["cohort"], attrs["region"], attrs["device"]) == ("canary", "eu-west", "mobile")
    assert (attrs["build_id"], attrs["git_sha"]) == ("b-42", "abcdef1")
    assert attrs["synthmon.run.id"] == CTX.run_id
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", 5000)

    names = set()
    for rm in data.resource_metrics:
        assert rm.resource.attributes["service.name"] == "scholarshipai-synthetics"
        assert rm.resource.attributes["deployment.environment.name"] == "sandbox"
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                names.add(metric.name)
                for point in metric.data.data_points:
                    assert point.attributes["canary"] is True
                    assert point.attributes["build_id"] == "b-42"
                    assert "synthetic.id" not in point.attributes  # bounded series
                    (exemplar,) = point.exemplars
                    assert exemplar.filtered_attributes["synthetic.id"] == \
                        f"{CTX.run_id}.b2c-flow.1"
                    assert format(exemplar.trace_id, "032x") == trace_id
                    if metric.name == "http.client.request.duration":
                        assert metric.unit == "s"
                        assert tuple(point.explicit_bounds) == DURATION_BUCKETS
                        assert point.sum == pytest.approx(0.010)
    assert names == {"http.client.request.duration", "synthmon.schema.failures",
                     "synthmon.budget.breaches"}
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert {r["type"] for r in records} == {"span", "metric"}
    assert sum(r["type"] == "metric" for r in records) == 3  # exported once, not twice


def test_every_kind_of_metric_point_becomes_a_record() -> None:
    # A reader that prefers exponential histograms, as a view or an OTEL_* setting may choose.
    reader = InMemoryMetricReader(
        preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()})
    meter = MeterProvider(metric_readers=[reader]).get_meter("selftest")
    meter.create_histogram("latency", unit="s").record(0.25)
    meter.create_counter("calls").add(3)
    records = {r["name"]: r for r in metric_records(reader.get_metrics_data())}
    assert records["latency"]["kind"] == "ExponentialHistogram"
    assert (records["latency"]["count"], records["latency"]["sum"]) == (1, 0.25)
    assert sum(records["latency"]["positive"]["bucket_counts"]) == 1
    assert records["calls"]["value"] == 3


def test_sdk_disabled_configures_nothing(tmp_path: Path) -> None:
    telemetry = Telemetry(CTX, jsonl_path=tmp_path / "t.jsonl",
                          environ={"OTEL_SDK_DISABLED": "true"}).start()
    assert not telemetry.enabled and telemetry.instruments is None
    telemetry.shutdown()
    assert not (tmp_path / "t.jsonl").exists()


def test_resource_defaults_and_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    attrs = build_resource(CTX, "gw1").attributes
    assert attrs["service.name"] == "scholarshipai-synthetics"
    assert attrs["service.version"] and attrs["deployment.environment.name"] == "sandbox"
    assert attrs["service.instance.id"] == f"{CTX.run_id}/gw1"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "other")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,team=sre")
    attrs = build_resource(CTX, "gw1").attributes
    assert attrs["service.name"] == "other"
    assert attrs["deployment.environment.name"] == "prod" and attrs["team"] == "sre"


# -- summary.json ---------------------------------------------------------------------------

def test_summary_from_constructed_samples_is_valid() -> None:
    samples = [sample(n) for n in range(1, 21)] + [
        sample(21, status=None, total_ms=0.0, ttfb_ms=None, schema_ok=None, trace_id="",
               span_id="", error_type="no-answer", attempts=0),
        sample(22, status=500, schema_ok=False, schema_error="problem: at $: jane@x.example",
               budget_verdict="over_limit", error_type="http-5xx")]
    checks = [CheckOutcome("tests/synthetic/test_b2c.py::test_flow", "failed", 0.5, "b2c", True,
                           "boom", [s.synthetic_id for s in samples], [samples[-1].synthetic_id])]
    summary = build_summary(CTX, checks, samples, CTX.started_at + 3, 1,
                            telemetry={"enabled": True, "trace_id": "0" * 32})
    schema = json.loads((REPO / "schemas" / "summary.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(summary)] == []
    # a 5xx is what a server answered; the call that got no answer is counted apart
    totals = summary["totals"]
    assert (totals["server_errors"], totals["no_answer"], totals["schema_failures"]) == (1, 1, 1)
    assert totals["error_types"] == {"no-answer": 1, "http-5xx": 1}
    assert "jane@x.example" not in json.dumps(summary)
    endpoint = summary["endpoints"]["GET /api/v1/scholarships"]
    assert endpoint["count"] == 22
    # a broken summary is caught by the schema
    summary["requests"][0]["budget_verdict"] = "fine"
    assert list(validator.iter_errors(summary))


def test_percentiles_match_numpy_linear_definition() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    stats = endpoint_stats([sample(n) for n in range(1, 11)])
    assert stats["GET /api/v1/scholarships"]["p50_ms"] == pytest.approx(55.0)


def test_jsonl_lines_stay_whole_with_concurrent_writers(tmp_path: Path) -> None:
    import multiprocessing

    path = tmp_path / "t.jsonl"
    procs = [multiprocessing.get_context("spawn").Process(target=_write_lines, args=(path, i))
             for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    lines = path.read_text().splitlines()
    assert len(lines) == 3 * 200
    assert all(json.loads(line)["pad"] == "x" * 2000 for line in lines)


def _write_lines(path: Path, who: int) -> None:
    from synthmon.telemetry.exporters import JsonlWriter

    writer = JsonlWriter(path)
    for n in range(100):
        writer.write([{"who": who, "n": n, "pad": "x" * 2000}] * 2)
        time.sleep(0)
    writer.close()


def test_the_last_net_scrubs_allures_own_files(tmp_path: Path) -> None:
    from synthmon.reports.allure_support import scrub_results

    result = tmp_path / "0f-result.json"
    result.write_text(json.dumps({"statusDetails": {"message": "got jane@x.example back"}}))
    capture = tmp_path / "1a-attachment.txt"
    capture.write_text("Authorization: Bearer abc.def.ghi")
    assert scrub_results(tmp_path) == 2
    assert "jane@x.example" not in result.read_text()
    assert "abc.def.ghi" not in capture.read_text()


def test_every_area_marker_has_an_allure_feature() -> None:
    """pytest.ini's markers, but critical (a severity) and browser (how a check runs: each
    browser check also carries its area), are the areas summary.json names and Allure groups
    by: a new marker without a feature would land in no group."""
    import configparser

    from synthmon.outcomes import AREAS
    from synthmon.reports.allure_support import _FEATURES

    ini = configparser.ConfigParser()
    ini.read(REPO / "pytest.ini")
    markers = {line.split(":", 1)[0].strip()
               for line in ini["pytest"]["markers"].splitlines() if line.strip()}
    areas = markers - {"critical", "browser"}
    assert areas <= set(AREAS), f"markers without an area: {sorted(areas - set(AREAS))}"
    missing = [area for area in AREAS if not _FEATURES.get(area)]
    assert not missing, f"areas without an Allure feature name: {missing}"
