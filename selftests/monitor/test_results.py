import json
import time
from pathlib import Path

from synthmon.monitor import reasons
from synthmon.monitor.results import Call, RunResult, parse_junit, read_report, read_run
from synthmon.run_verdict_names import RUN_LATENCY_CHECK

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.synthetic.test_health" name="test_health" time="0.012"/>
<testcase classname="tests.synthetic.test_health.TestReady" name="test_ready[x]" time="0.5">
  <failure message="AssertionError: /ready answered 503&#10;more">trace</failure></testcase>
<testcase classname="tests.synthetic.test_health" name="test_skip" time="0">
  <skipped message="not today"/></testcase>
</testsuite></testsuites>
"""


def test_junit_classnames_become_node_ids(tmp_path: Path):
    (tmp_path / "tests/synthetic").mkdir(parents=True)
    (tmp_path / "tests/synthetic/test_health.py").write_text("")
    (tmp_path / "junit.xml").write_text(JUNIT)
    results = parse_junit(tmp_path / "junit.xml", tmp_path)
    ready = "tests/synthetic/test_health.py::TestReady::test_ready[x]"
    assert set(results) == {
        "tests/synthetic/test_health.py::test_health",
        ready,
        "tests/synthetic/test_health.py::test_skip",
    }
    assert results[ready].failed and results[ready].message == "AssertionError: /ready answered 503"
    skipped = results["tests/synthetic/test_health.py::test_skip"]
    assert skipped.skipped and not skipped.passed and not skipped.failed  # never a pass


def test_summary_json_is_preferred_and_old_files_ignored(tmp_path: Path):
    run = tmp_path / "run1"
    run.mkdir()
    (run / "junit.xml").write_text(JUNIT)
    (run / "summary.json").write_text(json.dumps(summary(
        check("tests/a.py::test_x", "failed", failed=["syn-2"]),
        check("tests/a.py::test_y", "skipped", critical=True),
        requests=[call("tests/a.py::test_x", "syn-1", 200), call("tests/a.py::test_x", "syn-2",
                                                                  500, "over_limit")])))
    got = read_run(tmp_path, tmp_path, since=0)
    assert list(got) == ["tests/a.py::test_x", "tests/a.py::test_y"]
    assert got["tests/a.py::test_x"].failed and got["tests/a.py::test_x"].failing_synthetic_id == (
        "syn-2")
    assert got["tests/a.py::test_y"].skipped and got["tests/a.py::test_y"].critical
    report = read_report(tmp_path, tmp_path, since=0)
    assert [c.trace_id for c in report.calls] == ["trace-syn-1", "trace-syn-2"]
    assert read_run(tmp_path, tmp_path, since=time.time() + 60) == {}


def test_a_summary_without_requests_is_not_synthmons(tmp_path: Path):
    (tmp_path / "summary.json").write_text(json.dumps(
        {"checks": [{"check": "tests/a.py::test_x", "outcome": "failed", "duration_s": 0.2,
                     "message": "m"}]}))
    assert read_run(tmp_path, tmp_path, since=0) == {}


def summary(*checks: dict, requests: list[dict], outcome: str = "failed") -> dict:
    return {"outcome": outcome, "checks": list(checks), "requests": requests}


def check(node: str, outcome: str, critical: bool = False, failed: list[str] | None = None
          ) -> dict:
    return {"check": node, "outcome": outcome, "duration_s": 0.2, "critical": critical,
            "message": "m", "synthetic_ids": ["syn-1", *(failed or [])],
            "failed_synthetic_ids": failed or []}


def call(node: str, synthetic_id: str, status: int | None, verdict: str = "ok",
         error_type: str | None = None) -> dict:
    return {"check": node, "synthetic_id": synthetic_id, "trace_id": f"trace-{synthetic_id}",
            "status": status, "budget_verdict": verdict, "error_type": error_type}


def test_a_run_in_which_no_call_got_an_answer_is_one_unreachable_verdict(tmp_path: Path):
    (tmp_path / "summary.json").write_text(json.dumps(summary(
        check("tests/a.py::test_x", "failed", failed=["syn-1"]),
        check("tests/a.py::test_y", "failed", failed=["syn-2"]),
        requests=[call("tests/a.py::test_x", "syn-1", None, error_type="ConnectionError"),
                  call("tests/a.py::test_y", "syn-2", None, error_type="ConnectionError")])))
    report = read_report(tmp_path, tmp_path, since=0)
    run = RunResult(checks=report.checks, calls=report.calls, summary_outcome=report.outcome)
    assert run.unreachable and run.unreachable_call is not None
    assert run.unreachable_call.synthetic_id == "syn-2"
    answered = RunResult(checks=report.checks,
                         calls=(*report.calls, Call("tests/a.py::test_y", "s", "t", True, False)))
    assert not answered.unreachable  # one answer, even a 500, is a target that is up
    assert not RunResult(checks=report.checks).unreachable  # no calls at all: nothing to say


def test_a_summary_not_in_synthmons_shape_falls_back_to_junit(tmp_path: Path):
    (tmp_path / "tests/synthetic").mkdir(parents=True)
    (tmp_path / "tests/synthetic/test_health.py").write_text("")
    (tmp_path / "junit.xml").write_text(JUNIT)
    # a guessed spelling (nodeid) is not read as if it were synthmon's own
    (tmp_path / "summary.json").write_text(json.dumps({"checks": [
        {"nodeid": "tests/a.py::test_x", "status": "failed"}]}))
    got = read_run(tmp_path, tmp_path, since=0)
    assert "tests/a.py::test_x" not in got
    assert "tests/synthetic/test_health.py::test_health" in got


REMOVED = ("Skipped: SYNTH_STUDENT_PASSWORD is set but empty, so the student test account is "
           "not available: the checks that need it are skipped (set it to the account's "
           "password)")


def test_an_incomplete_run_reads_as_its_skipped_checks_not_a_failure_or_an_outage(
        tmp_path: Path):
    """summary.json as the suite writes it when a credential was removed: outcome
    incomplete, the critical flow skipped; here beside other critical checks that ran
    enough calls for a passing run-latency verdict."""
    flow = "tests/synthetic/test_b2c.py::test_student_searches_saves_and_drafts_an_application"
    skipped = {**check(flow, "skipped", critical=True), "message": REMOVED,
               "synthetic_ids": []}
    verdict = {**check(RUN_LATENCY_CHECK, "passed", critical=True), "message": None}
    (tmp_path / "summary.json").write_text(json.dumps(summary(
        skipped, check("tests/a.py::test_health", "passed", critical=True), verdict,
        requests=[call("tests/a.py::test_health", f"syn-{i}", 200) for i in range(10)],
        outcome="incomplete")))
    report = read_report(tmp_path, tmp_path, since=0)
    run = RunResult(checks=report.checks, exit_code=0, calls=report.calls,
                    summary_outcome=report.outcome)
    assert report.outcome == "incomplete"
    assert run.skipped_checks == [flow] and run.failed_checks == []
    assert run.checks[flow].critical and not run.checks[flow].passed
    assert run.checks[RUN_LATENCY_CHECK].passed and run.checks[RUN_LATENCY_CHECK].critical
    assert not run.unreachable
    reason, why = reasons.reason_of(run)
    assert reason == reasons.CHECKS_SKIPPED and "SYNTH_STUDENT_PASSWORD" in why
    # the alerting stack's selection: the flow alone, so no call at all, and no outage
    (tmp_path / "summary.json").write_text(json.dumps(summary(
        skipped, requests=[], outcome="incomplete")))
    alone = read_report(tmp_path, tmp_path, since=0)
    run = RunResult(checks=alone.checks, exit_code=0, calls=alone.calls,
                    summary_outcome=alone.outcome)
    assert run.skipped_checks == [flow] and not run.unreachable
    assert reasons.reason_of(run)[0] == reasons.CHECKS_SKIPPED
