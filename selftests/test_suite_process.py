"""The one way synthmon runs the suite as a process (synthmon.suite_process), for the gate,
the baseline and the monitor: the command it builds, a deadline that kills the whole process
group, an abort, the output kept; and no stage building a pytest command of its own."""

from __future__ import annotations

import ast
import itertools
import time
from pathlib import Path

import psutil
import pytest

from synthmon.suite_process import SuiteProcess, SuiteRun

REPO = Path(__file__).resolve().parents[1]
STAGES = ("gate", "baseline", "monitor")

CONFTEST = '''
def pytest_addoption(parser):
    for name in ("--target", "--reports-dir", "--cohort", "--policy"):
        parser.addoption(name)
'''
CHECKS = '''
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

def test_prints():
    print("hello from the suite")

def test_slow():
    if (HERE / "SLOW").exists():
        # a helper deaf to SIGTERM: only the group's SIGKILL ends it
        helper = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                   "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        (HERE / "pids").write_text(f"{os.getpid()} {helper.pid}")
        time.sleep(60)
'''
PLAIN = ["-p", "no:synthmon", "-p", "no:randomly", "-s"]


def _ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    root.mkdir()
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_checks.py").write_text(CHECKS)
    (root / "pytest.ini").write_text("[pytest]\n")
    return root


def test_the_command_writes_every_path_option_with_equals(tmp_path: Path) -> None:
    spec = SuiteRun(target="http://127.0.0.1:9", reports_dir=tmp_path / "r", cwd=tmp_path,
                    cohort="canary", policy=tmp_path / "p.yaml", marker="not payments",
                    pytest_args=["-x"], node_ids=["tests/a.py::test_b"])
    assert spec.command("python") == [
        "python", "-m", "pytest", "--target=http://127.0.0.1:9", f"--reports-dir={tmp_path}/r",
        "-q", "-p", "no:cacheprovider", "--cohort=canary", f"--policy={tmp_path}/p.yaml",
        "-m", "not payments", "-x", "tests/a.py::test_b"]


def test_a_run_keeps_its_output_and_exit_code(suite: Path, tmp_path: Path) -> None:
    process = SuiteProcess(timeout_s=60)
    spec = SuiteRun(target="http://x", reports_dir=tmp_path / "r", cwd=suite, pytest_args=PLAIN)
    outcome = process.run(spec, tmp_path / "out" / "pytest-output.txt")
    assert outcome.exit_code == 0 and outcome.error is None and outcome.broken is None
    assert "hello from the suite" in outcome.output.read_text()
    assert process.last is outcome and "passed" in outcome.tail(1)


def test_a_usage_error_is_a_broken_run(suite: Path, tmp_path: Path) -> None:
    spec = SuiteRun(target="http://x", reports_dir=tmp_path / "r", cwd=suite,
                    pytest_args=[*PLAIN, "--no-such-option"])
    outcome = SuiteProcess(timeout_s=60).run(spec, tmp_path / "out.txt")
    assert outcome.exit_code == 4 and outcome.broken == "usage error"
    assert "no-such-option" in outcome.tail()


def test_past_its_deadline_the_whole_group_is_killed(suite: Path, tmp_path: Path) -> None:
    (suite / "SLOW").touch()
    spec = SuiteRun(target="http://x", reports_dir=tmp_path / "r", cwd=suite, pytest_args=PLAIN)
    started = time.monotonic()
    outcome = SuiteProcess(timeout_s=3, grace_s=1).run(spec, tmp_path / "out.txt")
    assert time.monotonic() - started < 20
    assert outcome.error == "the run took longer than 3 s and was killed"
    assert outcome.broken == outcome.error
    for pid in map(int, (suite / "pids").read_text().split()):
        # the helper the suite started (as the embedded sandbox is) dies with it: a
        # signalled process on a busy machine may take a moment to be scheduled and end
        assert _ends_within(pid, 5.0), f"process {pid} outlived the killed run"


def test_an_aborted_process_starts_nothing_more(suite: Path, tmp_path: Path) -> None:
    process = SuiteProcess(timeout_s=60)
    process.abort()
    spec = SuiteRun(target="http://x", reports_dir=tmp_path / "r", cwd=suite, pytest_args=PLAIN)
    outcome = process.run(spec, tmp_path / "out.txt")
    assert outcome.exit_code is None and "not started" in (outcome.error or "")


def pytest_commands(files: list[Path]) -> list[str]:
    """Places that build `python -m pytest ...` themselves."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.List | ast.Tuple):
                words = [e.value for e in node.elts if isinstance(e, ast.Constant)]
                if ("-m", "pytest") in itertools.pairwise(words):
                    found.append(f"{path.name}:{node.lineno}")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_the_stages_run_the_suite_only_through_suite_process(stage: str) -> None:
    files = list((REPO / "src" / "synthmon" / stage).rglob("*.py"))
    assert files and pytest_commands(files) == []


def test_the_command_checker_can_fail(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text('cmd = [sys.executable, "-m", "pytest", "--target", url]\n')
    assert pytest_commands([planted]) == ["planted.py:1"]
