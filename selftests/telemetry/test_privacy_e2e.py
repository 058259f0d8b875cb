"""The sandbox plants an email, a password, a token and a name in every JSON body and in
response headers (fault leak-pii); none of it, nor the test accounts' credentials, may reach
reports/ (the Allure attachments included) or the exported telemetry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_suite

pytestmark = pytest.mark.slow

PLANTED = ["jane.leak@example.com", "Hunter2-leaked-password",
           "eyJhbGciOiJIUzI1NiJ9.leaked.token", "Jane Leaky Doe"]
# what the suite itself sends: the seeded accounts (docs/api-contract.md) and payment token
OWN_SECRETS = ["student@sandbox.scholarshipai.test", "sandbox-student-pass",
               "provider@sandbox.scholarshipai.test", "sandbox-provider-pass",
               "sandbox-quota-pass", "tok_sandbox_visa"]


def _grep(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                hits.append(f"{path.relative_to(root)}: {needle}")
    return hits


def test_planted_pii_never_leaves_the_process(tmp_path: Path, sandbox_factory,
                                              otlp_receiver) -> None:
    endpoint, received = otlp_receiver
    sandbox = sandbox_factory("leak-pii")
    reports = tmp_path / "reports"
    result = run_suite(reports, "--target", sandbox.url,
                       env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    # the planted field breaks strict schemas: the run fails, and must still leak nothing
    assert (reports / "latest" / "summary.json").is_file(), result.stdout[-3000:]
    assert received.raw, "nothing was exported"
    assert "debug_user" in (reports / "latest" / "summary.json").read_text()  # the fault bit

    needles = PLANTED + OWN_SECRETS
    assert _grep(reports, needles) == []

    # the Allure steps attach the scrubbed request and response of every call: there, with
    # shapes instead of bodies and the secret-bearing headers named but emptied
    results = reports / "latest" / "allure-results"
    attachments = [json.loads(p.read_text()) for p in results.glob("*-attachment.json")]
    requests = [a for a in attachments if "method" in a and "url" in a]
    responses = [a for a in attachments if "budget_verdict" in a and "method" not in a
                 and "kind" not in a]  # a browser step's or vital's attachment: no response
    assert requests and len(responses) == len(requests), len(attachments)
    assert _grep(results, needles) == []
    assert all(r["body_shape"] and "body" not in r for r in requests + responses)
    logins = [r for r in requests if r["route"] == "/api/v1/auth/login"]
    assert any(r["body_shape"].startswith("sha256:") for r in logins)  # a hash, no password
    assert all(r["body_shape"].startswith(("sha256:", "opaque:")) for r in logins)
    leaked_headers = [r["headers"] for r in responses if "X-Debug-User-Token" in r["headers"]
                      or "x-debug-user-token" in r["headers"]]
    assert leaked_headers, "the fault's headers should be named in the response attachments"
    assert all(v == "[redacted]" for h in leaked_headers for k, v in h.items()
               if k.lower().startswith("x-debug-user"))
    assert all("token" not in r["url"] and "password" not in r["url"] for r in requests)
    exported = b"".join(body for _, body in received.raw)
    assert [n for n in needles if n.encode() in exported] == []
