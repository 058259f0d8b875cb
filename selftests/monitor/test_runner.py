"""PytestRunner and the command against a tiny stand-in suite (no target, no plugin).

The stand-in suite has its own conftest that accepts --target/--reports-dir and writes
junit.xml, so these tests exercise the real subprocess, junit parsing, node-id re-runs and
SIGTERM handling without depending on the synthetic suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from synthmon.monitor.runner import PytestRunner

CONFTEST = '''
import os
import pytest

def pytest_addoption(parser):
    for option in ("--target", "--reports-dir", "--region", "--cohort"):  # what the monitor passes
        parser.addoption(option)

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.option.xmlpath = os.path.join(config.getoption("--reports-dir"), "junit.xml")
'''
CHECKS = '''
import os
import time
from pathlib import Path

HERE = Path(__file__).parent

def test_ok():
    pass

def test_flag():
    assert not (HERE / "FAULT").exists(), "the fault flag is set"

def test_slow():
    if (HERE / "SLOW").exists():
        (HERE / "child.pid").write_text(str(os.getpid()))
        time.sleep(60)
'''
PLAIN = ["-p", "no:synthmon", "-p", "no:randomly"]


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    root.mkdir()
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_checks.py").write_text(CHECKS)
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def test_runs_everything_then_only_the_failing_check(suite: Path, tmp_path: Path):
    (suite / "FAULT").touch()
    runner = PytestRunner("http://127.0.0.1:9", PLAIN, suite_root=suite, timeout_s=60)
    first = runner.run(None, tmp_path / "r1")
    assert first.error is None, first.error
    assert first.failed_checks == ["test_checks.py::test_flag"]
    assert "the fault flag is set" in first.checks["test_checks.py::test_flag"].message
    second = runner.run(first.failed_checks, tmp_path / "r2")
    assert list(second.checks) == ["test_checks.py::test_flag"]  # nothing else re-ran
    assert "--target=http://127.0.0.1:9" in runner.command(None, tmp_path)


def test_a_run_that_writes_nothing_is_an_error_not_an_exception(suite: Path, tmp_path: Path):
    runner = PytestRunner("http://127.0.0.1:9", [*PLAIN, "--no-such-option"], suite_root=suite)
    result = runner.run(None, tmp_path / "r")
    assert result.checks == {} and "wrote no junit.xml" in result.error


def test_a_run_past_its_timeout_is_killed(suite: Path, tmp_path: Path):
    (suite / "SLOW").touch()
    runner = PytestRunner("http://x", PLAIN, suite_root=suite, timeout_s=3, grace_s=1)
    started = time.monotonic()
    result = runner.run(None, tmp_path / "r")
    assert time.monotonic() - started < 15
    assert "longer than 3 s" in result.error
    assert not psutil.pid_exists(int((suite / "child.pid").read_text()))


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_sigterm_abandons_the_run_kills_the_child_and_exits_cleanly(suite: Path, tmp_path: Path):
    (suite / "SLOW").touch()
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthmon.cli", "monitor", "--target", "http://127.0.0.1:9",
         "--interval", "60", "--ready-file", str(ready), "--reports-dir", str(tmp_path / "runs"),
         *PLAIN],
        cwd=suite, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(suite / "child.pid", 60)
        child = int((suite / "child.pid").read_text())
        assert json.loads(ready.read_text())["pid"] == proc.pid
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert proc.returncode == 0, err
    assert "monitor_stopping" in names and names[-1] == "monitor_stopped"
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
    run = next(e for e in events if e["event"] == "run_finished")
    assert "abandoned" in run["error"]
    assert os.path.exists(tmp_path / "runs" / "monitor-state.json")


def test_a_crashed_run_is_not_credited_with_the_previous_runs_report(suite: Path, tmp_path):
    root = tmp_path / "reports"
    good = PytestRunner("http://x", PLAIN, suite_root=suite, reports_root=root)
    assert good.run(None, tmp_path / "r1").checks  # writes root/junit.xml
    crashed = PytestRunner("http://x", [*PLAIN, "--no-such-option"], suite_root=suite,
                           reports_root=root)
    result = crashed.run(None, tmp_path / "r2")
    assert result.checks == {} and "wrote no junit.xml" in result.error
