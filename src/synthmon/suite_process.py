"""Running the synthetic suite as a child process, exactly as QA and CI run it.

The gate, the baseline and the monitor run pytest this way and read what it wrote; none
of them imports the plugin. One run: `python -m pytest --target=URL --reports-dir=DIR ...`
in its own process group (a kill reaches the sandbox it may start too), with a deadline:
past it the group gets SIGTERM, then SIGKILL after a grace period. Its output goes to a
file the caller names, which is kept after the run, so why a run failed stays readable.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# pytest's exit codes that mean "the run did not happen", not "a check failed".
BROKEN_RUN = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no checks collected"}


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """One invocation of the suite."""

    target: str
    reports_dir: Path
    cwd: Path  # where the suite's pytest.ini and tests/ are
    cohort: str | None = None
    policy: str | os.PathLike[str] | None = None
    marker: str | None = None  # a pytest -m expression
    pytest_args: Sequence[str] = ()
    node_ids: Sequence[str] = ()  # only these checks (re-runs)

    def command(self, python: str = sys.executable) -> list[str]:
        # `--opt=value`, never `--opt value`: pytest guesses its rootdir from the bare words
        # of the command line before the plugin's options are known, and a path there would
        # move it away from the suite's pytest.ini (then testpaths stop applying).
        cmd = [python, "-m", "pytest", f"--target={self.target}",
               f"--reports-dir={self.reports_dir}", "-q", "-p", "no:cacheprovider"]
        if self.cohort:
            cmd.append(f"--cohort={self.cohort}")
        if self.policy:
            cmd.append(f"--policy={self.policy}")
        if self.marker:
            cmd += ["-m", self.marker]
        return cmd + list(self.pytest_args) + list(self.node_ids)


@dataclass(slots=True)
class SuiteOutcome:
    """How one run ended; `output` holds everything pytest printed."""

    exit_code: int | None  # None: it never started
    output: Path
    duration_s: float
    error: str | None = None  # it could not start, passed its deadline, or was abandoned
    timed_out: bool = False  # killed for passing its deadline

    @property
    def broken(self) -> str | None:
        """Why the run produced no verdicts of its own (pytest's own failures), else None."""
        if self.error is not None:
            return self.error
        return BROKEN_RUN.get(self.exit_code) if self.exit_code is not None else None

    def tail(self, lines: int = 15) -> str:
        """The last lines pytest printed (empty when the file is gone)."""
        try:
            text = self.output.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class SuiteProcess:
    """Runs the suite, one run at a time; `abort()` is safe in a signal handler."""

    timeout_s: float
    grace_s: float = 5.0
    python: str = sys.executable
    last: SuiteOutcome | None = None  # the last run's outcome, its output file included
    # No lock: abort() runs in a signal handler on the thread that may hold it. Plain
    # attribute writes are atomic under the GIL, which is all this needs.
    _child: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _aborted: bool = field(default=False, repr=False)

    def aborted(self) -> bool:
        """A method, not a property: abort() may flip it from a signal handler at any time."""
        return self._aborted

    def run(self, spec: SuiteRun, output: Path) -> SuiteOutcome:
        """Run the suite once; its output is appended to `output` (the folder is made)."""
        started = time.time()
        if self.aborted():
            return self._done(SuiteOutcome(None, output, 0.0, "the run was not started: "
                                                                "stopping"))
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("ab") as log:
            try:
                child = subprocess.Popen(
                    spec.command(self.python), cwd=spec.cwd, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            except OSError as exc:
                return self._done(SuiteOutcome(None, output, 0.0,
                                               f"could not start pytest: {exc}"))
            self._child = child
            try:
                exit_code, error = self._wait(child, started)
            finally:
                self._child = None
        timed_out = error is not None  # the deadline is the only error _wait reports
        if self.aborted():  # abort() ran meanwhile, maybe in a signal handler
            error, timed_out = "the run was abandoned: stopping", False
        return self._done(SuiteOutcome(exit_code, output, time.time() - started, error,
                                       timed_out))

    def _done(self, outcome: SuiteOutcome) -> SuiteOutcome:
        self.last = outcome
        return outcome

    def _wait(self, child: subprocess.Popen[bytes], started: float
              ) -> tuple[int | None, str | None]:
        """Wait for the child; past the deadline or on abort, SIGTERM its group, then
        SIGKILL after the grace period."""
        error: str | None = None
        kill_at: float | None = None
        while True:
            try:
                code = child.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
            else:
                if kill_at is not None:
                    # The suite is gone; what it started may not be (a helper that ignores
                    # SIGTERM, or one the signal has not reached yet): none of it may outlive
                    # a run that was stopped.
                    _signal_group(child.pid, signal.SIGKILL)
                return code, error
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
        """Stop the run in progress and any later one: SIGTERM now, run() escalates."""
        self._aborted = True
        child = self._child
        if child is not None:
            _signal_group(child.pid, signal.SIGTERM)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
