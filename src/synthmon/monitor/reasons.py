"""Why a run of the suite did not simply pass: one word from a bounded set (the `reason`
label on /metrics, so a dashboard can count them) and one sentence for the log."""

from __future__ import annotations

from pathlib import Path

from synthmon.monitor.results import RunResult

OK = "ok"
CHECKS_FAILED = "checks-failed"
CHECKS_SKIPPED = "checks-skipped"
TARGET_UNREACHABLE = "target-unreachable"
TIMEOUT = "timeout"
USAGE_ERROR = "usage-error"
NO_CHECKS = "no-checks"
CRASHED = "crashed"
ABORTED = "aborted"
REASONS = (OK, CHECKS_FAILED, CHECKS_SKIPPED, TARGET_UNREACHABLE, TIMEOUT, USAGE_ERROR,
           NO_CHECKS, CRASHED, ABORTED)

# pytest's exit codes (pytest.ExitCode) for a run that judged nothing
_USAGE_ERROR, _NO_TESTS = 4, 5


def pytest_said(output: Path | None, lines: int = 3) -> str:
    """The lines of pytest's output that say what went wrong: its `ERROR:` lines (a usage
    error), else the last few lines."""
    if output is None:
        return ""
    try:
        text = output.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    said = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in said if line.startswith("ERROR:")]
    return " / ".join((errors or said)[-lines:])[:1000]


def reason_of(result: RunResult, stopping: bool = False) -> tuple[str, str]:
    """(reason, sentence) for one run."""
    if stopping and result.error:
        return ABORTED, "the run was abandoned: the monitor is stopping"
    if result.unreachable:
        call = result.unreachable_call
        if call is None:
            return TARGET_UNREACHABLE, ("the target cannot be reached (the suite's probe got "
                                        "no answer)")
        how = f"{call.error_type} " if call.error_type else ""
        return TARGET_UNREACHABLE, (
            f"the target cannot be reached: {how}on every call of the run "
            f"({len(result.calls)} calls, not one answer)")
    if result.timed_out:
        return TIMEOUT, result.error or "the run took longer than its timeout and was killed"
    if not result.checks:
        said = pytest_said(result.output)
        if result.exit_code == _USAGE_ERROR:
            return USAGE_ERROR, f"pytest refused its arguments: {said or result.error}"
        if result.exit_code == _NO_TESTS:
            return NO_CHECKS, "the selection (-m, -k, node ids) matches no check"
        return CRASHED, f"{result.error or 'the run wrote no results'}: {said}".rstrip(": ")
    failed = result.failed_checks
    if failed:
        return CHECKS_FAILED, f"{len(failed)} check(s) failed: {', '.join(failed[:5])}"
    skipped = [c for c in result.skipped_checks if result.checks[c].critical]
    if skipped:
        return CHECKS_SKIPPED, (f"{len(skipped)} critical check(s) skipped (not a pass): "
                                f"{result.checks[skipped[0]].message or skipped[0]}")
    return OK, "every check passed"
