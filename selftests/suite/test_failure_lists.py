"""What a run with failures says at the end: a set-up error names the check it belongs to
(even when a shared fixture failed first for another check), and the synthetic ids to search
for are counted and listed apart for failures and errors, every one of them."""

from __future__ import annotations

import json
import re

import pytest
from suite_harness import run_suite, sandbox

pytestmark = pytest.mark.slow

STUDENT_CHECKS = ("student_is_denied_the_provider_dashboard or searches_saves or "
                  "checkout_with_the_sandbox_token or pricing or health_is_ok")


def test_setup_errors_and_failures_are_named_counted_and_listed(tmp_path):
    reports = tmp_path / "reports"
    with sandbox("error:status=500,route=/health") as url:
        run = run_suite(url, "-k", STUDENT_CHECKS, reports_dir=str(reports),
                        env={"SYNTH_STUDENT_PASSWORD": "definitely-wrong-password"})
    assert run.returncode == 1, run.output
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    errors = [c for c in summary["checks"] if c["outcome"] == "error"]
    failed = [c for c in summary["checks"] if c["outcome"] == "failed"]
    assert len(errors) >= 2 and failed, summary["checks"]

    # each "ERROR at setup of X" goes on with X's own name
    sections = re.findall(r"_+ ERROR at setup of (\S+) _+\n(.*?)(?=\n_{3,} |\n={3,} )",
                          run.output, re.S)
    assert len(sections) == len(errors), run.output
    first = None
    for name, body in sections:
        nodeid = next(c["check"] for c in errors if c["check"].endswith("::" + name))
        if first is None:
            first = nodeid
            assert "set SYNTH_STUDENT_EMAIL and SYNTH_STUDENT_PASSWORD" in body, body
        else:
            assert body.lstrip().startswith(
                f"{nodeid}: set-up failed in a fixture it shares with {first}"), body

    # the ids to search for: failures and errors counted apart, all ids listed
    assert (f"synthetic ids to search for: {len(failed)} failed, {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''}") in run.output, run.output
    for check in failed + errors:
        ids = check["failed_synthetic_ids"] or check["synthetic_ids"]
        kind = "failed" if check in failed else "error"
        line = next(line for line in run.output.splitlines()
                    if line.strip().startswith(f"{kind} {check['check']}:"))
        assert all(i in line for i in ids), (line, ids)
