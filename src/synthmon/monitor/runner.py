"""Runs the suite once, as a child process, and reads what it wrote.

`Runner` is the seam the loop depends on: the loop's tests inject a stub that returns
canned results, the command injects `PytestRunner`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from synthmon.monitor.results import RunResult, read_run, report_files


class Runner(Protocol):
    def run(self, node_ids: Sequence[str] | None, run_dir: Path) -> RunResult:
        """Run every check (node_ids None) or only these; never raise for a failing check."""
        ...

    def abort(self) -> None:
        """Stop the run in progress, if any; called from the SIGTERM handler."""
        ...


class PytestRunner:
    """`python -m pytest --target=URL --reports-dir=DIR [pytest args] [node ids]`."""

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
        self.timeout_s = timeout_s
        self.python = python
        self.grace_s = grace_s
        # One --reports-dir for every run, so the suite's history.sqlite accumulates there
        # (the gate and the baseline read it); None: each run reports into its own folder.
        self.reports_root = reports_root
        # No lock: abort() runs in a signal handler on the thread that may hold it.
        # Plain attribute writes are atomic under the GIL, which is all this needs.
        self._child: subprocess.Popen[bytes] | None = None
        self._aborted = False

    def command(self, node_ids: Sequence[str] | None, run_dir: Path) -> list[str]:
        reports_dir = self.reports_root or run_dir
        # "--opt=value": a separate value that looks like a path would be taken by pytest's
        # early parse for a test path and change the rootdir and the conftests it loads.
        cmd = [self.python, "-m", "pytest", f"--target={self.target}"]
        cmd += [f"--reports-dir={reports_dir}", "-p", "no:cacheprovider", "-q"]
        cmd += self.pytest_args
        if node_ids:
            # Re-runs name the failing checks only; -m/-k from pytest_args still apply,
            # which is harmless since these checks were selected by them in the first place.
            cmd += list(node_ids)
        return cmd

    def run(self, node_ids: Sequence[str] | None, run_dir: Path) -> RunResult:
        """Run pytest; its output goes to run_dir/pytest-output.txt."""
        reports_dir = self.reports_root or run_dir
        if self._aborted:
            return RunResult(error="the monitor is stopping", reports_dir=reports_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        cmd = self.command(node_ids, run_dir)
        seen = frozenset(report_files(reports_dir)) if reports_dir.exists() else frozenset()
        started = time.time()
        log_path = run_dir / "pytest-output.txt"
        with log_path.open("ab") as log:
            try:
                child = subprocess.Popen(
                    cmd,
                    cwd=self.suite_root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # Its own process group, so a kill also reaches the sandbox it may start.
                    start_new_session=True,
                )
            except OSError as exc:
                return RunResult(error=f"could not start pytest: {exc}", reports_dir=reports_dir)
            self._child = child
            try:
                exit_code, error = self._wait(child, started)
            finally:
                self._child = None
        if self._aborted:
            error = "the run was abandoned: the monitor is stopping"
        checks = read_run(reports_dir, self.suite_root, since=started - 1.0, seen=seen)
        if error is None and not checks:
            error = (
                f"pytest exited with {exit_code} and wrote no junit.xml or summary.json "
                f"(see {log_path})"
            )
        return RunResult(
            checks=checks,
            exit_code=exit_code,
            duration_s=time.time() - started,
            error=error,
            reports_dir=reports_dir,
        )

    def _wait(
        self, child: subprocess.Popen[bytes], started: float
    ) -> tuple[int | None, str | None]:
        """Wait for the child; on timeout or abort, SIGTERM its group, then SIGKILL."""
        error: str | None = None
        kill_at: float | None = None
        while True:
            try:
                return child.wait(timeout=0.2), error
            except subprocess.TimeoutExpired:
                pass
            now = time.time()
            if kill_at is None and self._aborted:
                kill_at = now + self.grace_s  # abort() already sent SIGTERM
            if kill_at is None and now - started > self.timeout_s:
                error = f"the run took longer than {self.timeout_s:g} s and was killed"
                _signal_group(child.pid, signal.SIGTERM)
                kill_at = now + self.grace_s
            if kill_at is not None and now > kill_at:
                _signal_group(child.pid, signal.SIGKILL)

    def abort(self) -> None:
        """Safe in a signal handler: it only sends SIGTERM; run() escalates and reaps."""
        self._aborted = True
        child = self._child
        if child is not None:
            _signal_group(child.pid, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
