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


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str  # pytest node id, e.g. tests/synthetic/test_health.py::test_health
    outcome: str  # passed | failed | error | skipped
    duration_s: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome in ("passed", "skipped", "xfailed")

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass(slots=True)
class RunResult:
    checks: dict[str, CheckResult] = field(default_factory=dict)
    exit_code: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # why the run gave no usable result (timeout, crash, ...)
    reports_dir: Path | None = None
    output: Path | None = None  # everything pytest printed in this run

    @property
    def failed_checks(self) -> list[str]:
        return sorted(c for c, r in self.checks.items() if r.failed)


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
            message.splitlines()[0][:500] if message else "")
    return results


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


def read_run(
    reports_dir: Path, suite_root: Path, since: float, seen: frozenset[Path] = frozenset()
) -> dict[str, CheckResult]:
    """Per-check outcomes of the run that wrote into reports_dir after `since`.

    `seen` are the report files that existed before the run: a run that crashed before
    writing its own must not be credited with the previous run's results. summary.json is
    preferred (node ids verbatim); junit.xml is the fallback every pytest can write.
    Empty when the run wrote neither.
    """
    summary = newest(reports_dir, "summary.json", since, seen)
    if summary is not None:
        try:
            checks = _summary_checks(json.loads(summary.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            checks = {}  # unreadable, or not synthmon's: junit.xml is the fallback
        if checks:
            return checks
    junit = newest(reports_dir, "junit.xml", since, seen)
    if junit is not None:
        try:
            return parse_junit(junit, suite_root)
        except (OSError, ET.ParseError):
            return {}
    return {}
