"""One complete Sample per HTTP call, seen by the sample hook on the worker that made it,
carried to the xdist controller exactly once, and matching what the target logged."""

from __future__ import annotations

import json
import re

import pytest
from suite_harness import run_suite, sandbox

from synthmon.samples import Sample

SINK = '''
import json, os
def pytest_synthmon_sample_recorded(sample, item):
    with open(os.environ["SAMPLE_SINK"], "a") as sink:
        sink.write(json.dumps(sample.to_dict()) + "\\n")
'''
HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")


@pytest.mark.slow
def test_every_call_is_one_complete_sample_on_worker_and_controller(tmp_path):
    (tmp_path / "sample_sink.py").write_text(SINK)
    sink, access_log, reports = (tmp_path / "samples.jsonl", tmp_path / "access.jsonl",
                                 tmp_path / "reports")
    with sandbox(access_log=str(access_log)) as url:
        run = run_suite(url, "-n", "2", "-p", "sample_sink", "--region", "eu-test",
                        "--device", "mobile", reports_dir=str(reports),
                        env={"SAMPLE_SINK": str(sink), "PYTHONPATH": str(tmp_path)})
    assert run.passed, run.output
    every = [Sample.from_dict(json.loads(line)) for line in sink.read_text().splitlines()]
    samples = [s for s in every if s.is_http]
    assert len(samples) > 40

    ids = [s.synthetic_id for s in every]
    # one id per call and per browser step; a page's vitals carry the id of the step that
    # opened the page
    own = [s.synthetic_id for s in every if s.kind != "vital"]
    assert len(set(own)) == len(own), "synthetic ids must be unique per call"
    # the controller's probe of the target is the suite's own call, not a check's: no sample
    assert not [i for i in ids if ".session." in i], ids
    run_id = samples[0].run_id
    for s in samples:
        assert s.run_id == run_id and s.synthetic_id.startswith(run_id + ".")
        # <run>.<check>.<seq>
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.\d+",
                            s.synthetic_id.removeprefix(run_id + ".")), s.synthetic_id
        assert HEX32.match(s.trace_id) and HEX16.match(s.span_id), s
        assert s.status is not None and s.total_ms > 0 and s.ttfb_ms is not None, s
        assert s.ttfb_ms <= s.total_ms
        assert s.expected_status is not None, s
        assert s.budget_ms > 0 and s.hard_limit_ms >= s.budget_ms
        assert (s.region, s.device, s.cohort, s.target) == ("eu-test", "mobile", "control", url)
        assert s.build_id == "sandbox-local" and s.git_sha, s  # the first call's too
        assert "{" in s.route or not re.search(r"/(sch|app|chk)_", s.route), s.route
        assert s.check.startswith("tests/"), s.check
        assert s.attempts == 1

    # the target saw the same calls with the same ids and trace context (log correlation)
    logged = {}
    for line in access_log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("synthetic_id"):
            logged[entry["synthetic_id"]] = entry
    for s in samples:
        entry = logged.get(s.synthetic_id)
        assert entry is not None, f"{s.synthetic_id} not in the target's access log"
        assert entry["trace_id"] == s.trace_id and entry["status"] == s.status
        assert entry["synthetic"] in (True, "true", 1)

    # the browser checks' steps and Web Vitals, on the device of the run, through the same
    # path; the pages' own requests carried ids of the same check, which the target logged
    browser = [s for s in every if not s.is_http]
    steps = {s.route for s in browser if s.kind == "step"}
    assert {"log_in", "save", "autosave", "reload_draft", "pay"} <= steps, steps
    pages = {s.route for s in browser if s.kind == "vital" and s.method == "LCP"}
    assert {"/search", "/scholarships/{scholarship_id}", "/applications/{application_id}/draft",
            "/pricing", "/checkout/{checkout_id}/confirmation"} <= pages, pages
    for s in browser:
        assert (s.region, s.device, s.cohort, s.run_id) == ("eu-test", "mobile", "control",
                                                            run_id)
        assert s.check.startswith("tests/browser/") and s.status == 200, s
        assert HEX32.match(s.trace_id) and HEX16.match(s.span_id), s
        assert s.unit == ("score" if s.method == "CLS" else "ms"), s
    steps_by_id = {s.synthetic_id for s in browser if s.kind == "step"}
    assert all(s.synthetic_id in steps_by_id for s in browser if s.kind == "vital")
    by_check = {s.check.split("::")[1]: s.synthetic_id.rsplit(".", 1)[0] for s in browser}
    for check, prefix in by_check.items():
        page_calls = [i for i in logged if i.startswith(prefix + ".")
                      and logged[i]["route"] == "/api/v1/auth/login"]
        assert page_calls, f"{check}: its login page's API call is not in the target's log"

    # the controller received each sample exactly once (reports read it there)
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    assert sorted(r["synthetic_id"] for r in summary["requests"]) == sorted(ids)
