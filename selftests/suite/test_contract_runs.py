"""Verdicts production would agree with, each shown on a whole suite run:

- a target with another catalogue passes (no check needs particular scholarships), and so
  does one whose answers carry members the schemas do not name (schema drift);
- an HTTPS target passes when its CA is trusted, with --ca-bundle=FILE or REQUESTS_CA_BUNDLE,
  and fails in a sentence when it is not;
- (a secret-looking member fails: test_faults.py);
- what a check creates is removed even when the creating call is too slow.
"""

from __future__ import annotations

import json

import requests
from suite_harness import run_suite, sandbox_process

STUDENT = {"email": "student@sandbox.scholarshipai.test", "password": "sandbox-student-pass"}
SLOW_MS = 1100  # over the 1000 ms hard limit of the creating calls


def _verdict(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_other_titles_and_additive_members_pass(tmp_path):
    """One run for two verdicts: no check needs particular scholarships, and a response
    member the schemas do not name is drift, not a failure."""
    reports = tmp_path / "reports"
    with sandbox_process("add-field:field=items.*.recommended,route=/api/v1/scholarships",
                         "add-field:field=build_note,route=/health",
                         args=("--catalogue", "alternate")) as box:
        found = requests.get(box.url + "/api/v1/scholarships", params={"q": "scholarship"},
                             timeout=10).json()
        assert found["total"] == 0  # the word the checks once searched for finds nothing here
        health = requests.get(box.url + "/health", timeout=10).json()
        assert "build_note" in health  # the fault bites
        run = run_suite(box.url, reports_dir=str(reports))
    assert run.passed, run.output
    assert "schema drift (members no schema names: additive, reported, not a failure):" \
        in run.output and "GET /health: $.build_note" in run.output, run.output
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    assert summary["endpoints"]["GET /health"]["schema_drift"] == ["$.build_note"]
    assert "$.items[*].recommended" in summary["endpoints"]["GET /api/v1/scholarships"][
        "schema_drift"]
    assert summary["totals"]["schema_drift"] >= 2


def test_the_suite_passes_over_https_trusting_the_ca_bundle():
    with sandbox_process(args=("--tls",)) as box:
        trusted = run_suite(box.url, f"--ca-bundle={box.ca_file}")
        from_env = run_suite(box.url, "-k", "certificate or health_is_ok",
                             env={"REQUESTS_CA_BUNDLE": box.ca_file})
        untrusted = run_suite(box.url, "-k", "certificate or health_is_ok")
    assert trusted.passed, trusted.output
    assert "phases (median ms, fresh connections" in trusted.output  # handshakes measured
    assert trusted.output.count(" passed") and "failed" not in _verdict(trusted.output)
    assert from_env.passed and "2 passed" in _verdict(from_env.output), from_env.output
    assert untrusted.returncode == 1, untrusted.output
    assert "does not chain to a root in the" in untrusted.output
    assert "the TLS handshake failed (certificate verify failed" in untrusted.output


def test_nothing_created_survives_a_slow_save(tmp_path):
    log = tmp_path / "access.log"
    with sandbox_process(f"latency:ms={SLOW_MS},route=/api/v1/me/saved",
                         f"latency:ms={SLOW_MS},route=/api/v1/applications",
                         access_log=str(log)) as box:
        run = run_suite(box.url, "-k", "searches_saves or stale_draft or csrf")
        token = requests.post(box.url + "/api/v1/auth/login", json=STUDENT,
                              timeout=10).json()["access_token"]
        saved = requests.get(box.url + "/api/v1/me/saved", timeout=10,
                             headers={"Authorization": f"Bearer {token}"}).json()["items"]
        lines = box.log_lines()
    assert run.returncode == 1 and "over its hard limit of 1000 ms" in run.output, run.output
    assert "clean-up failed" not in run.output, run.output
    assert saved == [], f"left behind on the target: {saved}"

    def count(method: str, route: str, status: int) -> int:
        return sum(1 for entry in lines if (entry["method"], entry["route"], entry["status"])
                   == (method, route, status))

    begun = count("POST", "/api/v1/applications", 201)
    assert begun >= 1, "the slow application was never created: the fault did not bite"
    assert count("DELETE", "/api/v1/applications/{application_id}", 204) == begun
    assert count("POST", "/api/v1/me/saved", 201) == count(
        "DELETE", "/api/v1/me/saved/{scholarship_id}", 204) >= 1
