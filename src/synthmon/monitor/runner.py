"""Runs the suite once, as a child process, and reads what it wrote.

`Runner` is the seam the loop depends on: the loop's tests inject a stub that returns
canned results, the command injects `PytestRunner`.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from synthmon.monitor.reasons import pytest_said
from synthmon.monitor.results import RunResult, read_report, report_files
from synthmon.suite_process import SuiteProcess, SuiteRun

_USAGE_ERROR, _NO_TESTS = 4, 5  # pytest.ExitCode.USAGE_ERROR, NO_TESTS_COLLECTED


class Runner(Protocol):
    def run(self, node_ids: Sequence[str] | None, run_dir: Path) -> RunResult:
        """Run every check (node_ids None) or only these; never raise for a failing check."""
        ...

    def abort(self) -> None:
        """Stop the run in progress, if any; called from the SIGTERM handler."""
        ...


class PytestRunner:
    """`python -m pytest --target=URL --reports-dir=DIR [pytest args] [node ids]`, through
    the one way synthmon runs the suite (synthmon.suite_process)."""

    def __init__(
        self,
        target: str,
        pytest_args: Sequence[str] = (),
        suite_root: Path | None = None,
        timeout_s: float = 120.0,
        python: str = sys.executable,
        grace_s: float = 5.0,
        reports_root: Path | None = None,
    ) -> None:
        self.target = target
        self.pytest_args = list(pytest_args)
        self.suite_root = suite_root or Path.cwd()
        # One --reports-dir for every run, so the suite's history.sqlite accumulates there
        # (the gate and the baseline read it); None: each run reports into its own folder.
        self.reports_root = reports_root
        self.process = SuiteProcess(timeout_s=timeout_s, grace_s=grace_s, python=python)

    def spec(self, node_ids: Sequence[str] | None, run_dir: Path) -> SuiteRun:
        # Re-runs name the failing checks only; -m/-k from pytest_args still apply, which is
        # harmless since these checks were selected by them in the first place.
        return SuiteRun(target=self.target, reports_dir=self.reports_root or run_dir,
                        cwd=self.suite_root, pytest_args=self.pytest_args,
                        node_ids=list(node_ids or ()))

    def command(self, node_ids: Sequence[str] | None, run_dir: Path) -> list[str]:
        return self.spec(node_ids, run_dir).command(self.process.python)

    def preflight(self) -> str | None:
        """Check the arguments as pytest does, before the first cycle: `pytest --collect-only`
        with the same target and arguments, reporting into a folder removed after. None when
        pytest accepts them and selects at least one check; else the sentence pytest said
        (an unknown target name, a malformed URL, an unknown option or marker expression),
        which a loop would only repeat forever. A target that is down is no argument error:
        the loop watches and reports it."""
        with tempfile.TemporaryDirectory(prefix="synthmon-preflight-") as scratch:
            folder = Path(scratch)
            spec = self.spec(None, folder)
            collect = dataclasses.replace(spec, reports_dir=folder,
                                          pytest_args=[*spec.pytest_args, "--collect-only"])
            outcome = self.process.run(collect, folder / "preflight-output.txt")
            said = pytest_said(outcome.output)
        if outcome.exit_code is None:
            return outcome.error
        if outcome.exit_code == _USAGE_ERROR:
            return f"pytest refused the arguments: {said}"
        if outcome.exit_code == _NO_TESTS:
            return ("the selection (-m, -k, node ids) matches no check: the monitor would "
                    f"judge nothing ({said})")
        return None

    def run(self, node_ids: Sequence[str] | None, run_dir: Path) -> RunResult:
        """Run pytest; its output goes to run_dir/pytest-output.txt (kept: RunResult.output)."""
        spec = self.spec(node_ids, run_dir)
        reports_dir = spec.reports_dir
        if self.process.aborted():
            return RunResult(error="the monitor is stopping", reports_dir=reports_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        seen = frozenset(report_files(reports_dir)) if reports_dir.exists() else frozenset()
        started = time.time()
        outcome = self.process.run(spec, run_dir / "pytest-output.txt")
        error = outcome.error
        if self.process.aborted():
            error = "the run was abandoned: the monitor is stopping"
        report = read_report(reports_dir, self.suite_root, since=started - 1.0, seen=seen)
        if error is None and not report.checks and report.outcome != "target-unreachable":
            error = (
                f"pytest exited with {outcome.exit_code} and wrote no junit.xml or "
                f"summary.json (see {outcome.output})"
            )
        return RunResult(
            checks=report.checks,
            exit_code=outcome.exit_code,
            duration_s=outcome.duration_s,
            error=error,
            reports_dir=reports_dir,
            output=outcome.output,
            calls=report.calls,
            summary_outcome=report.outcome,
            timed_out=outcome.timed_out,
        )

    def abort(self) -> None:
        """Safe in a signal handler: it only sends SIGTERM; run() escalates and reaps."""
        self.process.abort()
