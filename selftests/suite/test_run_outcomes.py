"""How a run ends when things go wrong, in the terminal and in the files the later stages read
(summary.json, junit.xml, the history store):

- a target that is down when the run starts is one abort, one sentence, `target-unreachable`;
- a URL that cannot be a target is refused before anything runs, in one sentence;
- an interrupted run (SIGINT at several moments, SIGTERM, pytest-timeout) is `interrupted`:
  the checks that finished are kept, the one that was running is not counted as passed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from suite_harness import REPO, closed_port_url, run_suite, sandbox, suite_env

from synthmon.history import HistoryStore

pytestmark = pytest.mark.slow

# Writes a line as each check starts and as it finishes, so the test knows how far the run got.
PROGRESS = '''
import os

def _line(text):
    with open(os.environ["PROGRESS_SINK"], "a") as sink:
        sink.write(text + "\\n")

def pytest_runtest_logstart(nodeid):
    _line("started " + nodeid)

def pytest_runtest_logfinish(nodeid):
    _line("finished " + nodeid)
'''


def _summary(reports: Path) -> dict:
    return json.loads((reports / "latest" / "summary.json").read_text())


def _outcomes(reports: Path) -> dict[str, str]:
    return HistoryStore(reports / "history.sqlite").outcomes()


# -- the target down at the start, malformed URLs ---------------------------------------------

def test_a_target_down_at_the_start_is_one_abort(tmp_path):
    reports = tmp_path / "reports"
    url = closed_port_url()
    run = run_suite(url, reports_dir=str(reports))
    assert run.returncode == 1, run.output
    assert run.output.count(f"the target {url} is down") == 1, run.output
    assert "connection refused" in run.output
    assert "was not sent" not in run.output and "Traceback" not in run.output
    assert run.seconds < 30
    summary = _summary(reports)
    assert summary["outcome"] == "target-unreachable", summary["outcome"]
    assert f"the target {url} is down" in summary["reason"]
    assert summary["checks"] == [] and summary["totals"]["passed"] == 0
    # the probe's unanswered call is the run's evidence for the gate and the monitor
    assert [r["status"] for r in summary["requests"]] == [None]
    assert _outcomes(reports) == {summary["run_id"]: "target-unreachable"}


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:99999", "port 99999"),
    ("http://", "no host"),
    ("http://exa mple.test", "the host has spaces"),
    ("ftp://example.test", "neither an http(s) URL"),
])
def test_a_url_that_cannot_be_a_target_is_refused_before_anything_runs(tmp_path, url, why):
    reports = tmp_path / "reports"
    run = run_suite(url, reports_dir=str(reports))
    assert run.returncode == 4, run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and why in errors[0], run.output
    assert "Traceback" not in run.output and "collected" not in run.output
    assert not reports.exists()


def test_a_wrong_build_is_one_abort(tmp_path):
    reports = tmp_path / "reports"
    with sandbox() as url:
        run = run_suite(url, "--expect-build", "build-that-is-not-there",
                        reports_dir=str(reports))
    assert run.returncode == 1, run.output
    assert run.output.count("but --expect-build is 'build-that-is-not-there'") == 1, run.output
    summary = _summary(reports)
    assert summary["outcome"] == "wrong-build" and summary["requests"] == []
    assert _outcomes(reports) == {summary["run_id"]: "wrong-build"}


# -- interrupted runs ---------------------------------------------------------------------------

def _interrupt(tmp_path: Path, url: str, sig: int, after_checks: int,
               *extra: str) -> tuple[Path, list[str], str, int]:
    """Run the suite, send `sig` once `after_checks` checks finished (0: as soon as the first
    check started), and return (reports, finished checks, output, exit code)."""
    reports = tmp_path / "reports"
    (tmp_path / "progress_sink.py").write_text(PROGRESS)
    progress = tmp_path / "progress.txt"
    env = suite_env({"PROGRESS_SINK": str(progress), "PYTHONPATH": str(tmp_path)})
    suite = subprocess.Popen(
        [sys.executable, "-m", "pytest", f"--target={url}", "-p", "no:cacheprovider", "-q",
         "-p", "progress_sink", f"--reports-dir={reports}", *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # a background job inherits SIGINT ignored; a terminal's Ctrl-C is SIGINT's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            lines = progress.read_text().splitlines() if progress.exists() else []
            if lines and sum(line.startswith("finished ") for line in lines) >= after_checks:
                break
            if suite.poll() is not None:
                break
            time.sleep(0.02)
        if sig:
            suite.send_signal(sig)
        out, _ = suite.communicate(timeout=60)
    finally:
        if suite.poll() is None:
            suite.kill()
            suite.wait()
    lines = progress.read_text().splitlines() if progress.exists() else []
    finished = [line.removeprefix("finished ") for line in lines if line.startswith("finished ")]
    return reports, finished, out.decode(errors="replace"), suite.returncode


def _assert_marked_interrupted(reports: Path, finished: list[str], reason: str) -> None:
    summary = _summary(reports)
    assert summary["outcome"] == "interrupted", summary["outcome"]
    assert reason in summary["reason"], summary["reason"]
    by_check = {c["check"]: c for c in summary["checks"]}
    # what finished is kept as it ended; what was running is no pass
    assert set(finished) <= set(by_check), (finished, list(by_check))
    unfinished = [c for c in by_check.values() if c["check"] not in finished]
    assert all(c["outcome"] == "interrupted" for c in unfinished), unfinished
    assert summary["totals"]["passed"] == sum(
        1 for c in by_check.values() if c["outcome"] == "passed")
    assert summary["totals"]["passed"] <= len(finished)
    tree = ET.parse(reports / "latest" / "junit.xml")
    assert all(case.get("name") for case in tree.iter("testcase"))
    props = {p.get("name"): p.get("value") for p in tree.iter("property")}
    assert props.get("synthmon.outcome") == "interrupted", props
    for case in tree.iter("testcase"):
        if f"{case.get('classname')}.{case.get('name')}" in {
                c["check"].replace("/", ".").replace(".py::", ".") for c in unfinished}:
            assert case.find("error") is not None, ET.tostring(case)
    assert _outcomes(reports) == {summary["run_id"]: "interrupted"}


@pytest.mark.parametrize("after_checks", [0, 3, 20], ids=["first-check", "early", "late"])
def test_sigint_marks_the_run_interrupted(tmp_path, after_checks):
    with sandbox("latency:ms=60") as url:
        reports, finished, out, code = _interrupt(tmp_path, url, signal.SIGINT, after_checks)
    assert code == 2, out[-3000:]
    _assert_marked_interrupted(reports, finished, "KeyboardInterrupt")


def test_sigterm_marks_the_run_interrupted(tmp_path):
    with sandbox("latency:ms=60") as url:
        reports, finished, out, code = _interrupt(tmp_path, url, signal.SIGTERM, 3)
    assert code == 2, out[-3000:]
    _assert_marked_interrupted(reports, finished, "SIGTERM")


def test_a_pytest_timeout_marks_the_run_interrupted(tmp_path):
    with sandbox("latency:ms=3000,route=/api/v1/pricing") as url:
        reports, finished, out, code = _interrupt(tmp_path, url, 0, 0, "-o", "timeout=1")
    assert code == 2, out[-3000:]
    assert "ran longer than its 1 s timeout" in out, out[-3000:]
    _assert_marked_interrupted(reports, finished, "ran longer than its 1 s timeout")
