"""The browser machinery's pieces without a browser: the trace's privacy rewrite, the
settings from the policy, and how steps and vitals travel as Samples into the summary, the
terminal table, the baseline and (not) the gate."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from synthmon.baseline.report import build_baseline, to_markdown
from synthmon.browser.artifacts import scrub_trace
from synthmon.browser.records import CheckInfo, browser_sample
from synthmon.browser.settings import BrowserSettings, BrowserSetupError
from synthmon.gate.decide import evaluate
from synthmon.gate.model import GateInput
from synthmon.policy import Budget, load_policy
from synthmon.privacy import register_secret
from synthmon.reports.collect import CheckOutcome, Collector
from synthmon.reports.summary import build_summary
from synthmon.reports.table import render_summary
from synthmon.run_context import RunContext

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "unit-test-password-81f3"
CONTEXT = RunContext(run_id="20261201T000000Z-abcdef", target="http://127.0.0.1:1",
                     target_name="url", cohort="control", region="local", device="mobile",
                     build_id="b1", git_sha="abcdef1", environment="sandbox",
                     started_at=time.time())
CHECK = CheckInfo("tests/browser/test_student_pages.py::test_x", critical=True)


def _jsonl(*records: dict) -> str:
    return "\n".join(json.dumps(r) for r in records) + "\n"


def _raw_trace(path: Path) -> None:
    events = _jsonl(
        {"type": "before", "method": "fill", "params": {"value": PASSWORD}},
        {"type": "screencast-frame", "file": "screencast/page@0a1b-1796110333566.jpeg"},
        {"type": "before", "method": "continue", "params": {"headers": [
            {"name": "cookie", "value": "sa_session=abc; sa_csrf=def"},
            {"name": "accept", "value": "text/html"}]}})
    network = _jsonl(
        {"type": "resource-snapshot", "snapshot": {
            "_resourceType": "fetch",
            "request": {"method": "POST", "url": "http://127.0.0.1:1/api/v1/auth/login",
                        "cookies": [{"name": "sa_csrf", "value": "def"}],
                        "headers": [{"name": "x-csrf-token", "value": "def"}],
                        "postData": {"mimeType": "application/json",
                                     "_file": "resources/body.json"}},
            "response": {"status": 200, "cookies": [], "headers": [
                {"name": "set-cookie", "value": "sa_session=abc"},
                {"name": "content-type", "value": "application/json"}],
                "content": {"size": 40, "_file": "resources/answer.json"}}}},
        {"type": "resource-snapshot", "snapshot": {
            "_resourceType": "document",
            "request": {"method": "GET", "url": "http://127.0.0.1:1/search?e2e=1",
                        "cookies": [], "headers": []},
            "response": {"status": 200, "cookies": [], "headers": [],
                         "content": {"size": 20, "_file": "resources/page.html"}}}})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trace.trace", events)
        archive.writestr("trace.network", network)
        archive.writestr("resources/body.json", json.dumps({"password": PASSWORD}))
        archive.writestr("resources/answer.json", '{"csrf_token": "def"}')
        archive.writestr("resources/page.html", f"<p>{PASSWORD} jane@example.com</p>")
        archive.writestr("screencast/page@0a1b-1796110333566.jpeg", b"\xff\xd8jpeg")


def test_the_trace_is_rewritten_under_the_privacy_rules(tmp_path: Path) -> None:
    register_secret(PASSWORD)
    raw, kept = tmp_path / "raw.zip", tmp_path / "trace.zip"
    _raw_trace(raw)
    scrub_trace(raw, kept)
    with zipfile.ZipFile(kept) as archive:
        names = set(archive.namelist())
        everything = b"".join(archive.read(n) for n in names)
        events = [json.loads(line) for line in archive.read("trace.trace").splitlines()]
        network = [json.loads(line)["snapshot"]
                   for line in archive.read("trace.network").splitlines()]
    assert PASSWORD.encode() not in everything and b"jane@example.com" not in everything
    # request bodies and API answers are gone, the page the snapshots need stays (scrubbed)
    assert names == {"trace.trace", "trace.network", "resources/page.html",
                     "screencast/page@0a1b-1796110333566.jpeg"}
    login, page = network
    assert "postData" not in login["request"] and login["request"]["cookies"] == []
    assert "_file" not in login["response"]["content"]
    assert page["response"]["content"]["_file"] == "resources/page.html"
    assert {h["name"]: h["value"] for h in login["response"]["headers"]} == {
        "set-cookie": "[redacted]", "content-type": "application/json"}
    # the trace's own references survive the email pattern; header lists are allow-listed
    assert events[1]["file"] == "screencast/page@0a1b-1796110333566.jpeg"
    assert events[0]["params"]["value"] == "[redacted]"
    assert {h["name"]: h["value"] for h in events[2]["params"]["headers"]} == {
        "cookie": "[redacted]", "accept": "text/html"}


def test_the_raw_trace_did_hold_what_the_rewrite_removes(tmp_path: Path) -> None:
    """The check above can fail: unscrubbed, the same trace carries the planted values."""
    raw = tmp_path / "raw.zip"
    _raw_trace(raw)
    with zipfile.ZipFile(raw) as archive:
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert PASSWORD.encode() in everything and b"jane@example.com" in everything


def test_settings_come_from_the_policy_and_an_unknown_device_is_one_sentence() -> None:
    settings = BrowserSettings.from_policy(load_policy(REPO / "canary-policy.yaml"),
                                           environ={"SYNTH_CHROMIUM": "/opt/chrome"})
    assert settings.executable == "/opt/chrome"
    mobile = settings.device("mobile")
    assert mobile.mobile and mobile.touch and mobile.cpu_slowdown == 2
    assert mobile.user_agent_for("ScholarshipAI-Canary/1.0", "156.0") == \
        "ScholarshipAI-Canary/1.0 (Linux; Android 14; mobile) Chrome/156.0 Mobile"
    assert mobile.network is not None
    assert mobile.network.cdp()["downloadThroughput"] == 1600 * 1000 / 8
    assert settings.device("desktop").network is None
    assert settings.step("no_such_step") == settings.steps["default"]
    assert settings.vitals["cls"] == Budget(0.1, 0.25, False)
    with pytest.raises(BrowserSetupError, match=r"--device watch: .*\(known: desktop, mobile\)"):
        settings.device("watch")


def _samples() -> list:
    step = browser_sample(CONTEXT, CHECK, kind="step", name="STEP", route="save", value=620.0,
                          unit="ms", budget=Budget(500, 3000, False), status=200,
                          synthetic_id="r.c.1", trace_id="0" * 31 + "1", span_id="0" * 15 + "1")
    cls = browser_sample(CONTEXT, CHECK, kind="vital", name="CLS",
                         route="/scholarships/{scholarship_id}", value=0.4172, unit="score",
                         budget=Budget(0.1, 0.25, False), status=200, synthetic_id="r.c.2",
                         trace_id="0" * 31 + "1", span_id="0" * 15 + "2")
    lcp = browser_sample(CONTEXT, CHECK, kind="vital", name="LCP",
                         route="/scholarships/{scholarship_id}", value=812.0, unit="ms",
                         budget=Budget(2500, 4000, False), status=None, synthetic_id="r.c.3",
                         trace_id="0" * 31 + "1", span_id="0" * 15 + "3")
    return [step, cls, lcp]


def test_steps_and_vitals_are_samples_the_summary_schema_accepts() -> None:
    step, cls, _ = _samples()
    assert (step.kind, step.endpoint, step.budget_verdict) == ("step", "STEP save", "degraded")
    assert (cls.unit, cls.total_ms, cls.budget_verdict) == ("score", 0.4172, "over_limit")
    assert cls.device == "mobile" and cls.critical
    summary = build_summary(CONTEXT, [CheckOutcome(CHECK.nodeid)], _samples(), time.time(), 1)
    schema = json.loads((REPO / "schemas" / "summary.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert [e.message for e in validator.iter_errors(summary)] == []
    summary["requests"][0]["route"] = "/not a step name"
    assert list(validator.iter_errors(summary)), "a step's route is its name"


def test_the_terminal_table_has_steps_and_a_vitals_row_per_page() -> None:
    collector = Collector()
    collector.samples.extend(_samples())
    collector.checks[CHECK.nodeid] = CheckOutcome(CHECK.nodeid)
    lines = list(render_summary(collector, CONTEXT, None))
    assert any(line.startswith("browser step") for line in lines)
    assert any(line.startswith("STEP save") and line.endswith(" !") for line in lines)
    row = next(line for line in lines if line.startswith("/scholarships/{scholarship_id}"))
    assert row.split()[1:] == ["-", "812", "0.417!", "-", "-"]


def test_the_baseline_keeps_pages_per_device_and_rates_of_calls_only() -> None:
    doc = build_baseline(_samples(), meta={}, wanted=10, critical=[])
    assert set(doc["endpoints"]) == {"STEP save @mobile", "CLS /scholarships/{scholarship_id} "
                                     "@mobile", "LCP /scholarships/{scholarship_id} @mobile"}
    assert doc["endpoints"]["CLS /scholarships/{scholarship_id} @mobile"]["unit"] == "score"
    assert all(rate["n"] == 0 for rate in doc["rates"].values())
    markdown = to_markdown(doc)
    assert "## Web Vitals per page" in markdown and "| mobile | CLS | 1 | 0.417 |" in markdown
    assert "## Browser steps" in markdown


def test_the_gate_reads_http_calls_only() -> None:
    policy = load_policy(REPO / "canary-policy.yaml")
    browser = _samples() * 400  # a vital without a page status would look like a dead call
    inp = GateInput(canary=browser, control=browser, elapsed_s=900, phase="25",
                    traffic_share=0.25, phase_duration_s=3600, window_s=900)
    decision = evaluate(policy, inp, only={"http_5xx_rate"})
    assert decision.inputs["canary_samples"] == 0
    assert decision.criteria[0].verdict == "hold"


def test_the_run_latency_verdict_reads_http_calls_only() -> None:
    from synthmon.suite.run_latency import RunLatencyRule, judge

    rule = RunLatencyRule(median_ratio_limit=1.0, min_calls=1, min_endpoint_calls=1)
    slow_steps = [_samples()[0]] * 20  # 620 ms steps over a 500 ms budget, on a critical check
    assert judge(slow_steps, rule).calls == 0
    assert judge([s.to_dict() for s in slow_steps], rule).calls == 0
    assert judge([{**slow_steps[0].to_dict(), "kind": None, "route": "/x", "method": "GET"}],
                 rule).failed, "the checker can fail: the same sample as a call is judged"
