"""A scripted Runner: the loop's tests drive it without pytest or a target."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthmon.monitor.results import CheckResult, RunResult

CHECKS = ("tests/synthetic/test_health.py::test_health", "tests/synthetic/test_b2c.py::test_search")


@dataclass
class Call:
    node_ids: list[str] | None
    reports_dir: Path


@dataclass
class StubRunner:
    """failing(call_index, check) -> bool decides each check's outcome."""

    failing: Callable[[int, str], bool] = lambda i, c: False
    checks: Sequence[str] = CHECKS
    raise_on: set[int] = field(default_factory=set)  # call indexes that raise
    empty_on: set[int] = field(default_factory=set)  # call indexes that produce no results
    calls: list[Call] = field(default_factory=list)
    aborted: int = 0
    duration_s: float = 0.01
    keep_calls: bool = True  # the memory test turns it off: the stub must not grow either
    count: int = 0

    def run(self, node_ids: Sequence[str] | None, reports_dir: Path) -> RunResult:
        index = self.count
        self.count += 1
        if self.keep_calls:
            self.calls.append(Call(list(node_ids) if node_ids is not None else None, reports_dir))
        reports_dir.mkdir(parents=True, exist_ok=True)
        if index in self.raise_on:
            raise RuntimeError("boom inside the run")
        if index in self.empty_on:
            return RunResult(exit_code=3, error="pytest crashed", duration_s=self.duration_s)
        selected = node_ids if node_ids is not None else self.checks
        checks = {}
        for check in selected:
            bad = self.failing(index, check)
            checks[check] = CheckResult(
                check, "failed" if bad else "passed", 0.05, "AssertionError: 503" if bad else ""
            )
        return RunResult(checks=checks, exit_code=1 if any(
            r.failed for r in checks.values()) else 0, duration_s=self.duration_s)

    def abort(self) -> None:
        self.aborted += 1
