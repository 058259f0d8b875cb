"""End to end: the real suite against a real sandbox, exporting OTLP/HTTP to a loopback
receiver that decodes the protobuf; reports checked on disk, ids checked against the
sandbox's access log."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from .conftest import REPO, run_suite

pytestmark = pytest.mark.slow


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "schemas" / "summary.schema.json").read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_otlp_export_reports_and_log_correlation(tmp_path: Path, sandbox_factory,
                                                 otlp_receiver) -> None:
    endpoint, received = otlp_receiver
    sandbox = sandbox_factory()
    reports = tmp_path / "reports"
    result = run_suite(reports, "--target", sandbox.url, "-n", "2", "-m", "health or b2c",
                       env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                            "OTEL_SERVICE_NAME": "synthmon-selftest"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    # reports/latest/ with everything the issue lists, summary.json valid against its schema
    latest = reports / "latest"
    assert latest.is_symlink()
    for name in ("summary.json", "junit.xml", "allure-results", "telemetry.jsonl"):
        assert (latest / name).exists(), name
    assert (reports / "history.sqlite").is_file()
    summary = json.loads((latest / "summary.json").read_text())
    errors = [e.message for e in _validator().iter_errors(summary)]
    assert not errors, errors[:5]
    assert summary["requests"] and summary["checks"]
    assert (latest / "allure-results" / "environment.properties").is_file()
    # each call's step attaches its request and response: headers that carry a token or a
    # cookie keep their name and lose their value, bodies are shape hashes
    attachments = [json.loads(p.read_text())
                   for p in (latest / "allure-results").glob("*-attachment.json")]
    sent = [a for a in attachments if "method" in a and "url" in a]
    calls = [r for r in summary["requests"] if r.get("kind", "http") == "http"]
    assert len(sent) == len(calls)
    # the browser check's steps and vitals have a step of their own each, no request
    browser = [a for a in attachments if a.get("kind") in ("step", "vital")]
    assert len(browser) == len(summary["requests"]) - len(calls) > 0
    authorized = [a for a in sent if "Authorization" in a["headers"]]
    assert authorized and {a["headers"]["Authorization"] for a in authorized} == {"[redacted]"}
    assert all(a["url"].endswith("e2e=1") or "e2e=1&" in a["url"] for a in sent)
    assert "synthmon run summary" in result.stdout

    # what arrived over OTLP: one trace for the run, across both xdist workers
    spans = received.spans()
    assert spans, "no span arrived at the receiver"
    assert {s["resource"]["service.name"] for s in spans} == {"synthmon-selftest"}
    assert len({s["trace_id"] for s in spans}) == 1
    assert {s["resource"]["synthmon.worker"] for s in spans} >= {"controller", "gw0", "gw1"}
    # every span, the first of each worker included, says what it is and which build
    for span in spans:
        attrs = span["attributes"]
        assert attrs.get("canary") is True, span["name"]
        assert attrs.get("synthetic.id"), span["name"]
        assert attrs.get("build_id") == "sandbox-local", (span["name"], attrs.get("build_id"))
        assert attrs.get("git_sha"), span["name"]
        assert attrs.get("synthmon.run.id") == summary["run_id"]
    ids = [s["attributes"]["synthetic.id"] for s in spans]
    assert len(ids) == len(set(ids)), "two spans share a synthetic id"
    # the controller probed the target before telemetry started: that call is no check's
    assert not [i for i in ids if ".session." in i], ids
    checks = [s for s in spans if "test.case.name" in s["attributes"]
              and s["name"] != "synthmon run"]
    assert checks and all(s["attributes"]["test.case.result.status"] == "pass" for s in checks)
    clients = [s for s in spans if s["kind"] == 3]  # SPAN_KIND_CLIENT
    assert clients
    check_ids = {s["span_id"] for s in checks}
    run_span = next(s for s in spans if s["name"] == "synthmon run")
    assert run_span["parent_span_id"] in ("", "0" * 16)
    for client in clients:
        assert client["parent_span_id"] in check_ids, client["name"]

    points = received.metric_points()
    durations = [p for p in points if p["name"] == "http.client.request.duration"]
    assert durations
    assert {0.12, 0.15} <= set(durations[0]["explicit_bounds"])
    for point in points:
        assert point["attributes"].get("canary") is True, point["name"]
        assert point["attributes"].get("build_id") == "sandbox-local", point["name"]
        assert point["attributes"].get("git_sha"), point["name"]
        assert point["exemplars"], point["name"]
        assert all(e["filtered_attributes"].get("synthetic.id") for e in point["exemplars"])
    assert any(p["name"] == "synthmon.check.results" for p in points)
    # the browser check's Web Vitals per page and its steps, with the run's tags and device
    lcp = [p for p in points if p["name"] == "synthmon.web_vital.lcp"]
    assert {p["attributes"]["url.template"] for p in lcp} >= {
        "/search", "/scholarships/{scholarship_id}", "/applications/{application_id}/draft"}
    assert {2.5, 4.0} <= set(lcp[0]["explicit_bounds"])
    cls = [p for p in points if p["name"] == "synthmon.web_vital.cls"]
    assert cls and {0.1, 0.25} <= set(cls[0]["explicit_bounds"])
    steps = [p for p in points if p["name"] == "synthmon.browser.step.duration"]
    assert {p["attributes"]["synthmon.step"] for p in steps} >= {"log_in", "save", "autosave"}
    assert all(p["attributes"]["device"] == "desktop" for p in lcp + cls + steps)

    # the JSON-lines copy in the report holds the same spans and points
    records = [json.loads(line) for line in (latest / "telemetry.jsonl").read_text().splitlines()]
    assert {r["span_id"] for r in records if r["type"] == "span"} == {s["span_id"] for s in spans}
    jsonl_points = [r for r in records if r["type"] == "metric"]
    assert len(jsonl_points) == len(points)
    assert all(r["attributes"]["canary"] is True and r["exemplars"] for r in jsonl_points)
    assert all(r["attributes"]["build_id"] == "sandbox-local" and r["attributes"]["git_sha"]
               for r in records)

    # the same trace id and synthetic id in the sandbox's log line for the request
    time.sleep(0.2)
    log = {line.get("synthetic_id"): line for line in sandbox.log_lines()}
    matched = 0
    for client in clients:
        line = log.get(client["attributes"]["synthetic.id"])
        assert line is not None, client["attributes"]["synthetic.id"]
        assert line["trace_id"] == client["trace_id"]
        assert line["span_id"] == client["span_id"]
        matched += 1
    assert matched == len(clients)
    # and summary.json's requests name the same ids
    by_id = {r["synthetic_id"]: r for r in summary["requests"]}
    for client in clients:
        assert by_id[client["attributes"]["synthetic.id"]]["trace_id"] == client["trace_id"]


def test_unreachable_collector_is_one_warning(tmp_path: Path, sandbox_factory) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sandbox = sandbox_factory()
    started = time.monotonic()
    result = run_suite(tmp_path / "reports", "--target", sandbox.url, "-m", "health",
                       env={"OTEL_EXPORTER_OTLP_ENDPOINT": dead})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    warnings = [line for line in result.stdout.splitlines() if "OTLP export" in line]
    assert len(warnings) == 1, result.stdout[-3000:]
    assert dead in warnings[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert elapsed < 60
    summary = json.loads((tmp_path / "reports" / "latest" / "summary.json").read_text())
    assert summary["telemetry"]["otlp_export_ok"] is False


def test_sdk_disabled_still_reports(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory()
    result = run_suite(tmp_path / "reports", "--target", sandbox.url, "-m", "health",
                       env={"OTEL_SDK_DISABLED": "true"})
    assert result.returncode == 0, result.stdout[-3000:]
    latest = tmp_path / "reports" / "latest"
    summary = json.loads((latest / "summary.json").read_text())
    assert summary["telemetry"] == {"enabled": False}
    assert not (latest / "telemetry.jsonl").exists()
    # the client made its own traceparent: the ids still correlate with the log
    ids = {line.get("synthetic_id"): line.get("trace_id") for line in sandbox.log_lines()}
    for request in summary["requests"]:
        assert ids[request["synthetic_id"]] == request["trace_id"]


def test_reports_off(tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory()
    reports = tmp_path / "reports"
    result = run_suite(reports, "--target", sandbox.url, "-m", "health",
                       env={"SYNTH_REPORTS_DIR": "off"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert not reports.exists()
    assert not (REPO / "off").exists()
