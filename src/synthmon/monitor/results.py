"""What one run of the suite said about each check, read from the files the run wrote.

The monitor reads the run's junit.xml (pytest's own format, written by the reports
plugin) and, when present, summary.json; it never imports the plugin.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_CHECK = "synthmon:run"  # pseudo-check: the run itself produced results
TARGET_CHECK = "synthmon:target"  # pseudo-check: the target answered at all
PSEUDO_CHECKS = (RUN_CHECK, TARGET_CHECK)


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str  # pytest node id, e.g. tests/synthetic/test_health.py::test_health
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    duration_s: float
    message: str = ""
    critical: bool = False  # marked critical (summary.json; junit.xml cannot say)
    synthetic_ids: tuple[str, ...] = ()
    failed_synthetic_ids: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """A skip is not a pass: a skipped check proves nothing about the target."""
        return self.outcome in ("passed", "xfailed")

    @property
    def skipped(self) -> bool:
        return self.outcome == "skipped"

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error", "xpassed")

    @property
    def failing_synthetic_id(self) -> str | None:
        """The id to search the logs for: the last failing call's, else the check's last."""
        ids = self.failed_synthetic_ids or self.synthetic_ids
        return ids[-1] if ids else None


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP call of the run, as summary.json lists it: enough to say whether the target
    answered at all, which call went over its budget, and to find its trace."""

    check: str
    synthetic_id: str
    trace_id: str
    answered: bool  # an HTTP status came back (any status)
    over_budget: bool
    error_type: str | None = None


@dataclass(slots=True)
class RunResult:
    checks: dict[str, CheckResult] = field(default_factory=dict)
    exit_code: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # why the run gave no usable result (timeout, crash, ...)
    reports_dir: Path | None = None
    output: Path | None = None  # everything pytest printed in this run
    calls: tuple[Call, ...] = ()
    summary_outcome: str | None = None  # summary.json's own verdict of the run, when read
    timed_out: bool = False  # killed after the run timeout

    @property
    def unreachable(self) -> bool:
        """The target never answered: calls were made and not one got an HTTP status (or
        the suite itself says so). One state for the target, not a failure per check."""
        if self.summary_outcome == "target-unreachable":
            return True
        return bool(self.calls) and not any(call.answered for call in self.calls)

    @property
    def unreachable_call(self) -> Call | None:
        return self.calls[-1] if self.unreachable and self.calls else None

    def trace_of(self, synthetic_id: str | None) -> str | None:
        return next((c.trace_id for c in self.calls if c.synthetic_id == synthetic_id), None)

    def over_budget(self, check: str) -> bool:
        return any(call.over_budget for call in self.calls if call.check == check)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.checks.values():
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return counts

    @property
    def failed_checks(self) -> list[str]:
        return sorted(c for c, r in self.checks.items() if r.failed)

    @property
    def skipped_checks(self) -> list[str]:
        return sorted(c for c, r in self.checks.items() if r.skipped)


def _node_id_from_junit(classname: str, name: str, root: Path) -> str:
    """Rebuild the pytest node id from junit's dotted classname.

    junit writes `tests.synthetic.test_health.TestReady` for
    `tests/synthetic/test_health.py::TestReady`; the longest dotted prefix that is a file
    under the suite's root is the module, the rest are classes.
    """
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        candidate = Path(*parts[:cut]).with_suffix(".py")
        if (root / candidate).is_file():
            return "::".join([candidate.as_posix(), *parts[cut:], name])
    # Unknown layout: keep something stable and readable (re-runs may then miss it).
    return "::".join([*([classname] if classname else []), name])


def parse_junit(path: Path, root: Path) -> dict[str, CheckResult]:
    tree = ET.parse(path)
    results: dict[str, CheckResult] = {}
    for case in tree.iter("testcase"):
        node_id = _node_id_from_junit(case.get("classname", ""), case.get("name", ""), root)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = child.get("message") or (child.text or "").strip()
                break
            if child.tag == "skipped":
                outcome = "skipped"
                message = child.get("message", "")
        results[node_id] = CheckResult(
            node_id, outcome, float(case.get("time") or 0.0), message.splitlines()[0][:500]
            if message else ""
        )
    return results


def _summary_checks(data: dict[str, Any]) -> dict[str, CheckResult]:
    """The checks of a summary.json as synthmon writes it (schemas/summary.schema.json)."""
    results: dict[str, CheckResult] = {}
    for entry in data["checks"]:
        message = entry["message"] or ""
        results[entry["check"]] = CheckResult(
            entry["check"], entry["outcome"], float(entry["duration_s"]),
            message.splitlines()[0][:500] if message else "", bool(entry["critical"]),
            tuple(entry["synthetic_ids"]), tuple(entry["failed_synthetic_ids"]))
    return results


def _summary_calls(data: dict[str, Any]) -> tuple[Call, ...]:
    return tuple(
        Call(check=str(r["check"]), synthetic_id=str(r["synthetic_id"]),
             trace_id=str(r["trace_id"] or ""), answered=r["status"] is not None,
             over_budget=r["budget_verdict"] != "ok", error_type=r["error_type"])
        for r in data["requests"])


@dataclass(frozen=True, slots=True)
class Report:
    """What one run wrote: its checks, its calls and its own verdict (summary.json only)."""

    checks: dict[str, CheckResult]
    calls: tuple[Call, ...] = ()
    outcome: str | None = None


def report_files(root: Path) -> set[Path]:
    """The summary.json and junit.xml files under root now (taken before a run starts)."""
    return {p for name in ("summary.json", "junit.xml") for p in root.rglob(name)}


def newest(root: Path, name: str, since: float, seen: frozenset[Path] = frozenset()) -> Path | None:
    """The newest file called `name` under root written after `since` and not in `seen`."""
    found = [
        p for p in root.rglob(name)
        if p not in seen and p.is_file() and p.stat().st_mtime >= since
    ]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def read_report(
    reports_dir: Path, suite_root: Path, since: float, seen: frozenset[Path] = frozenset()
) -> Report:
    """What the run that wrote into reports_dir after `since` said.

    `seen` are the report files that existed before the run: a run that crashed before
    writing its own must not be credited with the previous run's results. summary.json is
    preferred (node ids verbatim, markers, calls); junit.xml is the fallback every pytest can
    write. Empty when the run wrote neither.
    """
    summary = newest(reports_dir, "summary.json", since, seen)
    if summary is not None:
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
                raise ValueError("not a synthmon summary.json")
            report = Report(_summary_checks(data), _summary_calls(data), str(data["outcome"]))
        except (OSError, ValueError, KeyError, TypeError):
            report = Report({})  # unreadable, or not synthmon's: junit.xml is the fallback
        if report.checks or report.outcome == "target-unreachable":
            return report
    junit = newest(reports_dir, "junit.xml", since, seen)
    if junit is not None:
        try:
            return Report(parse_junit(junit, suite_root))
        except (OSError, ET.ParseError):
            return Report({})
    return Report({})


def read_run(
    reports_dir: Path, suite_root: Path, since: float, seen: frozenset[Path] = frozenset()
) -> dict[str, CheckResult]:
    """Per-check outcomes only (read_report has the calls too)."""
    return read_report(reports_dir, suite_root, since, seen).checks
