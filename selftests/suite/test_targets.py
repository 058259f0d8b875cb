"""Targets that misbehave: each a clear failure within the timeout, never a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest
import yaml
from suite_harness import (
    REPO,
    canned_server,
    closed_port_url,
    hanging_server,
    latest_summary,
    run_suite,
    sandbox,
)

from synthmon.history import HistoryStore

pytestmark = pytest.mark.slow


def test_unreachable_target_fails_fast_naming_the_cause():
    run = run_suite(closed_port_url(), "-m", "health")
    assert run.returncode == 1, run.output
    assert "got no answer after 3 attempt(s): connection refused" in run.output
    # the probe finds the target down: one abort, no check waits out its own timeouts
    assert "target-unreachable" in run.output and "was not sent" not in run.output, run.output
    assert run.seconds < 30


def test_hanging_target_times_out_once_and_ends_the_run(tmp_path):
    policy = yaml.safe_load((REPO / "canary-policy.yaml").read_text())
    policy["client"].update(read_timeout_s=1.0, retries=1)
    short = tmp_path / "canary-policy.yaml"
    short.write_text(yaml.safe_dump(policy))
    with hanging_server() as url:
        run = run_suite(url, "-m", "health", f"--policy={short}")
    assert run.returncode == 1, run.output
    assert "read timed out after 1 s" in run.output, run.output
    assert "target-unreachable" in run.output and " failed" not in run.output, run.output
    assert run.seconds < 30  # two 1 s reads plus backoff, not 3 checks x 3 attempts x 5 s


def test_non_json_body_fails_the_schema_check():
    with canned_server(200, "text/plain", b"ok") as url:
        run = run_suite(url, "-k", "health_is_ok")
    assert run.returncode == 1, run.output
    assert ("GET /health answered 200 but the body breaks schema health at $: expected "
            "Content-Type application/json, got text/plain") in run.output, run.output


def test_html_error_page_is_named_as_such():
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    with canned_server(502, "text/html", page) as url:
        run = run_suite(url, "-k", "health_is_ok")
    assert run.returncode == 1, run.output
    assert "GET /health expected 200, got 502 (text/html page titled '502 Bad Gateway')" \
        in run.output, run.output


def test_wrong_build_stops_the_run():
    with sandbox() as url:
        wrong = run_suite(url, "--expect-build", "build-that-is-not-there", "-m", "health")
        right = run_suite(url, "--expect-build", "sandbox-local", "-m", "health")
    assert wrong.returncode != 0, wrong.output
    assert ("reports build 'sandbox-local', but --expect-build is 'build-that-is-not-there'"
            in wrong.output), wrong.output
    assert "passed" not in wrong.output.splitlines()[-1], wrong.output
    assert right.returncode == 0, right.output


def test_wrong_credentials_name_the_variable():
    with sandbox() as url:
        run = run_suite(url, "-k", "denied_the_provider",
                        env={"SYNTH_STUDENT_PASSWORD": "definitely-wrong-password"})
    assert run.returncode == 1, run.output
    assert "set SYNTH_STUDENT_EMAIL and SYNTH_STUDENT_PASSWORD" in run.output, run.output
    assert "definitely-wrong-password" not in run.output


CREDENTIAL_SCOPE = ("-k", "denied_the_provider or health_is_ok")  # two critical checks
DENIED = "tests/synthetic/test_auth.py::test_student_is_denied_the_provider_dashboard"


def test_a_removed_credential_skips_the_checks_that_need_it_naming_the_variable(tmp_path):
    """An empty variable is a removed secret: skipped (and so reported), never passed; the
    run is incomplete, not passed, wherever it is read (summary.json, junit.xml, history)."""
    with sandbox() as url:
        run = run_suite(url, "-rs", *CREDENTIAL_SCOPE,
                        env={"SYNTH_STUDENT_PASSWORD": ""}, reports_dir=str(tmp_path))
    assert run.returncode == 0, run.output  # nothing failed: the skip is the monitor's to judge
    assert "SYNTH_STUDENT_PASSWORD is set but empty" in run.output, run.output
    summary = latest_summary(tmp_path)
    outcomes = {c["check"].rsplit("::", 1)[1]: c["outcome"] for c in summary["checks"]}
    assert outcomes == {"test_student_is_denied_the_provider_dashboard": "skipped",
                        "test_health_is_ok": "passed"}, outcomes
    assert summary["totals"]["skipped"] == 1 and summary["totals"]["passed"] == 1
    # a skipped critical check is no success: the run says so, naming the check and why
    assert summary["outcome"] == "incomplete", summary["outcome"]
    assert summary["totals"]["skipped_critical"] == 1
    assert summary["reason"].startswith("1 critical check(s) skipped"), summary["reason"]
    assert DENIED in summary["reason"] and "SYNTH_STUDENT_PASSWORD" in summary["reason"]
    assert f"synthmon: run {summary['run_id']} incomplete: 1 critical check(s)" in run.output
    assert "1 skipped (1 of them critical: not proven)" in run.output, run.output
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(tmp_path / "latest" / "junit.xml").iter("property")}
    assert properties.get("synthmon.outcome") == "incomplete", properties
    assert HistoryStore(tmp_path / "history.sqlite").outcomes() == {
        summary["run_id"]: "incomplete"}


def test_a_clean_run_of_the_same_checks_is_passed(tmp_path):
    with sandbox() as url:
        run = run_suite(url, *CREDENTIAL_SCOPE, reports_dir=str(tmp_path))
    assert run.passed, run.output
    summary = latest_summary(tmp_path)
    assert (summary["outcome"], summary["reason"]) == ("passed", None)
    assert summary["totals"]["skipped_critical"] == 0 and summary["totals"]["passed"] == 2
    assert "not proven" not in run.output and " incomplete" not in run.output


def test_a_check_that_passes_only_after_a_retry_is_reported_flaky():
    """Every other /health answers 503: the check passes on its retry and says so."""
    state = {"n": 0}
    body = json.dumps({"status": "ok", "build_id": "b1", "git_sha": "abcdef1",
                       "uptime_seconds": 1, "cohort": "control"}).encode()

    def answer() -> tuple[int, str, bytes]:
        state["n"] += 1
        if state["n"] % 2:
            return 503, "application/problem+json", json.dumps({
                "type": "https://docs.scholarshipai.example/problems/unavailable",
                "title": "Unavailable", "status": 503, "detail": "try again",
                "request_id": "req_0000000000000000"}).encode()
        return 200, "application/json", body

    with canned_server(200, "application/json", body, answer=answer) as url:
        run = run_suite(url, "-k", "health_is_ok")
    assert run.returncode == 0, run.output
    assert "1 flaky" in run.output, run.output
    assert "answered 200 only after 2 attempts" in run.output, run.output


def test_ctrl_c_stops_the_embedded_sandbox():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTH_"))}
    env["SANDBOX_FAULTS"] = "latency:ms=400"  # slow enough to interrupt mid-run
    suite = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--reports-dir={REPO / 'reports' / '.selftest-ctrl-c'}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # A background job (CI runners, `cmd &`) inherits SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler: give the suite the terminal's default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        sandbox_process = None
        deadline = time.monotonic() + 60
        while sandbox_process is None and time.monotonic() < deadline:
            for child in psutil.Process(suite.pid).children(recursive=True):
                try:
                    if "sandbox" in child.cmdline():
                        sandbox_process = child
                except psutil.Error:
                    continue
            time.sleep(0.05)
        assert sandbox_process is not None, "the embedded sandbox never started"
        time.sleep(1.0)  # let a few checks run
        suite.send_signal(signal.SIGINT)
        out, _ = suite.communicate(timeout=30)
        assert b"KeyboardInterrupt" in out or b"Interrupted" in out, out.decode()
        psutil.wait_procs([sandbox_process], timeout=10)
        assert not sandbox_process.is_running(), "the sandbox outlived the interrupted run"
    finally:
        if suite.poll() is None:
            suite.kill()
            suite.wait()
        import shutil

        shutil.rmtree(Path(REPO / "reports" / ".selftest-ctrl-c"), ignore_errors=True)
