"""Gathering baseline samples: run the synthetic suite against the target, paced, until
every critical endpoint has N samples (or the run budget is spent), and read back the
samples each run wrote to its summary.json.

The suite runs as a process (synthmon.suite_process), exactly as QA and CI run it; nothing
here imports the plugin. It is the ordinary synthetic
traffic repeated, one run after another with a pause between: never a load test.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthmon.samples import Sample
from synthmon.suite_process import SuiteProcess, SuiteRun


class CollectError(RuntimeError):
    """A suite run could not produce samples; the message says why."""


@dataclass
class RunRecord:
    run_id: str
    exit_status: int
    requests: int
    summary: dict[str, Any]


@dataclass
class Collection:
    samples: list[Sample] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    stopped_because: str = ""

    def counts(self) -> Counter[str]:
        return Counter(s.endpoint for s in self.samples)


@dataclass(frozen=True)
class Plan:
    target: str
    samples: int  # wanted per critical endpoint
    critical: frozenset[str]
    reports_dir: Path
    project_dir: Path  # where pytest.ini (the suite's testpaths) lives
    pace_s: float = 2.0
    max_runs: int = 50
    max_duration_s: float = 900.0
    run_timeout_s: float = 300.0
    cohort: str = "control"
    marker: str | None = None
    policy: Path | None = None
    extra_args: tuple[str, ...] = ()


def suite_run(plan: Plan, run_dir: Path) -> SuiteRun:
    return SuiteRun(target=plan.target, reports_dir=run_dir, cwd=plan.project_dir,
                    cohort=plan.cohort, policy=plan.policy, marker=plan.marker,
                    pytest_args=plan.extra_args)


def _read_summaries(run_dir: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(run_dir.glob("*/summary.json")):
        if path.parent.is_symlink():  # reports/latest points at a run already listed
            continue
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise CollectError(f"{path}: the suite wrote an unreadable summary ({exc})") from exc
    return found


def run_suite_once(plan: Plan, index: int) -> RunRecord:
    run_dir = plan.reports_dir / f"run-{index:03d}"
    outcome = SuiteProcess(timeout_s=plan.run_timeout_s).run(
        suite_run(plan, run_dir), run_dir / "pytest-output.txt")
    if outcome.error is not None:
        raise CollectError(f"suite run {index} against {plan.target}: {outcome.error}")
    summaries = _read_summaries(run_dir)
    if outcome.broken or not summaries:
        reason = outcome.broken or "it wrote no summary.json"
        raise CollectError(f"suite run {index} against {plan.target} failed ({reason}, exit "
                           f"{outcome.exit_code}):\n{outcome.tail()}")
    summary = summaries[-1]
    return RunRecord(run_id=str(summary["run_id"]), exit_status=outcome.exit_code or 0,
                     requests=len(summary["requests"]), summary=summary)


def collect(plan: Plan, log: Callable[[str], None] = lambda _: None,
            sleep: Callable[[float], None] = time.sleep) -> Collection:
    """Run the suite until each critical endpoint has plan.samples samples, within the
    run and time budgets; the last run's shortfall is reported, not hidden."""
    result = Collection()
    started = time.monotonic()
    while True:
        index = len(result.runs) + 1
        record = run_suite_once(plan, index)
        result.runs.append(record)
        result.samples += [Sample.from_dict(d) for d in record.summary["requests"]]
        counts = result.counts()
        # A critical endpoint the suite never calls will not appear by running it again:
        # it is reported as missing, and only the exercised ones are waited for.
        short = [e for e in plan.critical if 0 < counts[e] < plan.samples]
        missing = [e for e in plan.critical if counts[e] == 0]
        log(f"run {index}: {record.requests} requests (exit {record.exit_status}); "
            f"{len(short)} critical endpoints short of {plan.samples}, {len(missing)} unseen")
        if not short:
            result.stopped_because = (
                f"every exercised critical endpoint has {plan.samples} samples"
                + (f"; {len(missing)} critical endpoints were never called" if missing else ""))
            return result
        if index >= plan.max_runs:
            result.stopped_because = f"stopped at the run budget (--max-runs {plan.max_runs})"
            return result
        if time.monotonic() - started + plan.pace_s > plan.max_duration_s:
            result.stopped_because = (f"stopped at the time budget (--max-duration "
                                      f"{plan.max_duration_s:g} s)")
            return result
        sleep(plan.pace_s)
