"""A failing browser check leaves a screenshot, a Playwright trace and its console log under
the run's reports and in Allure; with the sandbox planting personal data in every API answer
and header (leak-pii), none of it, nor the test account's credentials or payment token that
the check typed, is in any of them: the trace's bodies, cookies and headers included."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from suite_harness import run_suite, sandbox

PLANTED = ["jane.leak@example.com", "Hunter2-leaked-password",
           "eyJhbGciOiJIUzI1NiJ9.leaked.token", "Jane Leaky Doe"]
TYPED = ["student@sandbox.scholarshipai.test", "sandbox-student-pass", "tok_sandbox_visa"]
CHECK = "student_pages-student_saves_and_drafts_an_applicati"


def _leaks(data: bytes, where: str) -> list[str]:
    return [f"{where}: {needle}" for needle in PLANTED + TYPED if needle.encode() in data]


def _grep(root: Path) -> list[str]:
    """Every file under root, and every member of every zip in it, decompressed."""
    hits = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        hits += _leaks(data, str(path.relative_to(root)))
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    hits += _leaks(archive.read(member), f"{path.name}!{member}")
    return hits


@pytest.mark.slow
def test_a_failing_browser_check_keeps_artifacts_without_secrets(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # leak-pii plants data in every API answer the pages read; dead-save-button fails the
    # check after the login, the search and the details page
    with sandbox("leak-pii", "dead-save-button") as url:
        run = run_suite(url, "-k", "saves_and_drafts_an_application_in_the_browser",
                        reports_dir=str(reports))
    assert run.returncode == 1 and "expected the save to be acknowledged" in run.output, \
        run.output
    folder = next((reports / "latest" / "browser").glob(f"{CHECK}*"))
    assert sorted(p.name for p in folder.iterdir()) == ["console.log", "screenshot.png",
                                                        "trace.zip"]
    assert (folder / "screenshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = (folder / "console.log").read_text()
    assert "--- step save on /scholarships/{scholarship_id}" in console

    with zipfile.ZipFile(folder / "trace.zip") as trace:
        names = trace.namelist()
        assert {"trace.trace", "trace.network"} <= set(names)
        assert any(n.endswith(".jpeg") for n in names), "the screencast frames are kept"
        events = [json.loads(line) for line in trace.read("trace.trace").splitlines()]
        network = [json.loads(line) for line in trace.read("trace.network").splitlines()]
        frames = [e for e in events if e.get("type") == "screencast-frame"]
        assert frames and all(e["file"] in names for e in frames), "frames name their files"
    requests = [r["snapshot"] for r in network if r.get("type") == "resource-snapshot"]
    assert any(r["request"]["url"].split("?")[0].endswith("/api/v1/auth/login")
               for r in requests), "the login call is listed"
    assert all("postData" not in r["request"] for r in requests), "request bodies dropped"
    assert all(not r["request"]["cookies"] and not r["response"]["cookies"] for r in requests)
    api_answers = [r for r in requests if r.get("_resourceType") in ("fetch", "xhr")]
    assert api_answers and all("_file" not in r["response"]["content"]
                               and "_sha1" not in r["response"]["content"]
                               and "text" not in r["response"]["content"] for r in api_answers)
    headers = {h["name"].lower(): h["value"] for r in requests for h in r["response"]["headers"]}
    assert headers["x-debug-user-token"] == "[redacted]"

    assert _grep(reports) == []
    attachments = list((reports / "latest" / "allure-results").glob("*-attachment.*"))
    assert {p.suffix for p in attachments} >= {".png", ".zip", ".txt"}, attachments
