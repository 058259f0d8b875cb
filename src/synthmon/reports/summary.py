"""summary.json: the run's machine-readable verdict, read by the gate and the baseline.

Its shape is documented by schemas/summary.schema.json (validated in a selftest). Every
string that could carry text from the target is scrubbed before it is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from synthmon.outcomes import CheckOutcome
from synthmon.privacy import scrub_text
from synthmon.reports.stats import endpoint_stats
from synthmon.run_context import RunContext
from synthmon.samples import Sample

SUMMARY_VERSION = 1


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def scrubbed_sample(sample: Sample) -> dict[str, Any]:
    data = sample.to_dict()
    for key in ("schema_error", "error_type", "check", "target"):
        if isinstance(data.get(key), str):
            data[key] = scrub_text(data[key])
    return data


def build_summary(ctx: RunContext, checks: Iterable[CheckOutcome], samples: list[Sample],
                  finished_at: float, exit_status: int,
                  telemetry: dict[str, Any] | None = None,
                  run_latency: dict[str, Any] | None = None, *, outcome: str | None = None,
                  reason: str | None = None) -> dict[str, Any]:
    """`outcome`: how the run ended when its checks do not say it (target-unreachable,
    wrong-build, interrupted), or that nothing failed but critical checks were skipped
    (incomplete), with the `reason` in one sentence; else passed or failed by the exit
    status."""
    check_list = [c.to_dict() for c in checks]
    counts: dict[str, int] = {}
    for check in check_list:
        counts[check["outcome"]] = counts.get(check["outcome"], 0) + 1
    return {
        "version": SUMMARY_VERSION,
        "run_id": ctx.run_id,
        "target": scrub_text(ctx.target),
        "target_name": ctx.target_name,
        "environment": ctx.environment,
        "cohort": ctx.cohort,
        "region": ctx.region,
        "device": ctx.device,
        "build_id": ctx.build_id,
        "git_sha": ctx.git_sha,
        "started_at": _iso(ctx.started_at),
        "finished_at": _iso(finished_at),
        "started_at_unix": ctx.started_at,
        "finished_at_unix": finished_at,
        "duration_s": round(max(0.0, finished_at - ctx.started_at), 3),
        "exit_status": int(exit_status),
        "outcome": outcome or ("passed" if int(exit_status) == 0 else "failed"),
        "reason": scrub_text(reason),
        "totals": {
            "checks": len(check_list),
            "passed": counts.get("passed", 0),
            "failed": counts.get("failed", 0),
            "error": counts.get("error", 0),
            "skipped": counts.get("skipped", 0),
            "skipped_critical": sum(1 for c in check_list
                                    if c["critical"] and c["outcome"] == "skipped"),
            "xfailed": counts.get("xfailed", 0),
            "xpassed": counts.get("xpassed", 0),
            "interrupted": counts.get("interrupted", 0),
            "flaky": sum(1 for c in check_list if c["flaky"]),
            "requests": len(samples),
            "server_errors": sum(1 for s in samples if s.is_server_error),
            "no_answer": sum(1 for s in samples if s.is_incomplete),
            "schema_failures": sum(1 for s in samples if s.schema_ok is False),
            "over_budget": sum(1 for s in samples if s.budget_verdict != "ok"),
            "schema_drift": sum(1 for s in samples if s.schema_drift),
            "error_types": dict(Counter(s.error_type for s in samples if s.error_type)),
        },
        "checks": check_list,
        "requests": [scrubbed_sample(s) for s in samples],
        "endpoints": endpoint_stats(samples),
        "telemetry": telemetry or {},
        "run_latency": run_latency,
    }


def write_json_atomic(path: Path, data: Any) -> None:
    """Write then rename, so a reader (the gate) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")
    os.replace(tmp, path)


def point_latest(reports_dir: Path, run_dir: Path, started_at: float) -> bool:
    """reports/latest -> the newest finished run: this one, unless a run that started later
    has finished already (runs sharing a reports folder finish in any order). Decided and
    replaced under a lock, the link swapped atomically (a relative link, so the tree moves).
    True when latest now points here."""
    link = reports_dir / "latest"
    with _locked(reports_dir / ".latest.lock"):
        current = _start_of(link)
        if current is not None and current > (started_at, run_dir.name):
            return False
        tmp = reports_dir / f".latest.{os.getpid()}.tmp"
        try:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(run_dir.name, target_is_directory=True)
            os.replace(tmp, link)
        except OSError:
            # A filesystem without symlinks: leave a pointer file the tools can read instead.
            write_text_atomic(reports_dir / "LATEST", run_dir.name + "\n")
        return True


def _start_of(link: Path) -> tuple[float, str] | None:
    """(started_at, run id) of the run `latest` points to now, None when there is none."""
    try:
        name = os.readlink(link) if link.is_symlink() else \
            (link.parent / "LATEST").read_text().strip()
        summary = json.loads((link.parent / name / "summary.json").read_text())
        return float(summary["started_at_unix"]), Path(name).name
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every run writing to this reports folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
