"""The sandbox plants an email, a password, a token and a name in every JSON body and in
response headers (fault leak-pii); none of it, nor the test accounts' credentials, may reach
reports/ or the exported telemetry."""

from __future__ import annotations

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
    exported = b"".join(body for _, body in received.raw)
    assert [n for n in needles if n.encode() in exported] == []
