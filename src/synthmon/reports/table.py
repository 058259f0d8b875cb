"""The one end-of-run summary in the pytest output: the run, its checks, per endpoint the
calls and percentiles, per browser step the same, per page its Web Vitals, the calls, steps
and vitals over budget, the flaky checks and the failed calls' ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthmon.reports.collect import Collector
from synthmon.reports.stats import endpoint_stats
from synthmon.run_context import RunContext
from synthmon.samples import Sample, phase_medians

_MAX_ROWS = 25
_MAX_DEGRADED = 10
_VITALS = ("TTFB", "LCP", "CLS", "TBT", "INP")


def _drift_lines(stats: dict[str, dict[str, Any]]) -> Iterator[str]:
    drifted = {name: row for name, row in stats.items() if row["schema_drift"]}
    if not drifted:
        return
    yield "schema drift (members no schema names: additive, reported, not a failure):"
    for name, row in sorted(drifted.items()):
        paths = row["schema_drift"]
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        yield f"  {name}: {', '.join(paths[:5])}{more} ({row['drifted']} of {row['count']} answers)"


def _phase_line(samples: list[Sample]) -> Iterator[str]:
    medians = phase_medians(samples)
    if medians is not None:
        measured = sum(1 for s in samples if s.phases)
        yield ("phases (median ms, fresh connections, " + f"{measured} calls): "
               + ", ".join(f"{phase} {ms:.1f}" for phase, ms in medians.items()))


def render_summary(collector: Collector, context: RunContext,
                   run_dir: Path | None) -> Iterator[str]:
    if not collector.checks:
        if run_dir is not None:
            yield f"reports: {run_dir}"
        return
    stats = endpoint_stats(collector.samples)
    counts = collector.counts()
    degraded = collector.degraded()
    flaky = [c for c in collector.checks.values() if c.flaky]
    yield ""
    yield "synthmon run summary " + "-" * 58
    yield (f"run {context.run_id}: {len(collector.samples)} calls to {context.target}, build "
           f"{context.build_id or '?'}, {len(degraded)} over budget (degraded), "
           f"{len(flaky)} flaky")
    outcome = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n)
    skipped_critical = len(collector.skipped_critical())
    # a skipped critical check is no pass: said on the line a reader scans for failures
    unproven = f" ({skipped_critical} of them critical: not proven)" if skipped_critical else ""
    yield f"checks: {outcome or 'none'}{unproven}; requests: {len(collector.samples)}"
    calls = {name: row for name, row in stats.items() if row["kind"] == "http"}
    steps = {name: row for name, row in stats.items() if row["kind"] == "step"}
    vitals = {name: row for name, row in stats.items() if row["kind"] == "vital"}
    if calls:
        yield (f"{'endpoint':<45} {'n':>4} {'5xx':>4} {'none':>4} {'p50':>7} {'p95':>7} "
               f"{'p99':>7} {'budget':>7}")
        rows = sorted(calls.items(), key=lambda kv: -kv[1]["p95_ms"])
        for name, row in rows[:_MAX_ROWS]:
            flag = " !" if row["over_budget"] else ""
            yield (f"{name[:45]:<45} {row['count']:>4} {row['server_errors']:>4} "
                   f"{row['no_answer']:>4} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
                   f"{row['p99_ms']:>7.1f} {row['budget_ms']:>7.0f}{flag}")
        if len(rows) > _MAX_ROWS:
            yield f"... {len(rows) - _MAX_ROWS} more endpoints in summary.json"
        yield "(ms; 5xx: answered with a 5xx; none: no complete answer; '!': over budget)"
        yield from _drift_lines(calls)
        yield from _phase_line(collector.samples)
    if steps:
        yield from _steps(steps)
    if vitals:
        yield from _vitals(vitals)
    for sample in degraded[:_MAX_DEGRADED]:
        yield (f"  degraded: {sample.endpoint} {_value(sample.total_ms, sample)} > "
               f"{_value(sample.budget_ms, sample)} [{sample.synthetic_id}]")
    for check in flaky:
        yield f"  flaky: {check.nodeid}: {check.flaky_reason}"
    yield from _ids_to_search(collector)
    if run_dir is not None:
        yield f"reports: {run_dir}"


def _ids_to_search(collector: Collector) -> Iterator[str]:
    """Per failed check and per check in error (counted apart: a failure is the target's,
    an error the set-up's), every synthetic id to look for in the target's logs: those of
    the calls that went wrong, else all the check's calls."""
    failed = [c for c in collector.checks.values() if c.outcome == "failed"]
    errors = [c for c in collector.checks.values() if c.outcome == "error"]
    if not failed and not errors:
        return
    yield (f"synthetic ids to search for: {len(failed)} failed, {len(errors)} "
           f"error{'s' if len(errors) != 1 else ''}")
    for kind, checks in (("failed", failed), ("error", errors)):
        for check in checks:
            ids = check.failed_synthetic_ids or check.synthetic_ids
            yield f"  {kind} {check.nodeid}: " + (", ".join(ids) if ids else "(no calls made)")


def _value(value: float, sample: Sample) -> str:
    return f"{value:.3f}" if sample.unit == "score" else f"{value:.0f} ms"


def _steps(stats: dict[str, dict[str, Any]]) -> Iterator[str]:
    yield f"{'browser step':<45} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'budget':>7}"
    rows = sorted(stats.items(), key=lambda kv: -kv[1]["p95_ms"])
    for name, row in rows[:_MAX_ROWS]:
        flag = " !" if row["over_budget"] else ""
        yield (f"{name[:45]:<45} {row['count']:>4} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
               f"{row['p99_ms']:>7.1f} {row['budget_ms']:>7.0f}{flag}")
    if len(rows) > _MAX_ROWS:
        yield f"... {len(rows) - _MAX_ROWS} more steps in summary.json"


def _vitals(stats: dict[str, dict[str, Any]]) -> Iterator[str]:
    """One row per page, one column per vital: its P95 over the page's visits."""
    pages: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in stats.values():
        pages.setdefault(entry["route"], {})[entry["method"]] = entry
    yield f"{'Web Vitals (p95; ms, CLS unitless) of page':<45} " + " ".join(
        f"{v:>7}" for v in _VITALS)
    for page in sorted(pages)[:_MAX_ROWS]:
        cells = []
        for vital in _VITALS:
            row = pages[page].get(vital)
            if row is None:
                cells.append(f"{'-':>7}")
                continue
            value = f"{row['p95_ms']:.3f}" if row["unit"] == "score" else f"{row['p95_ms']:.0f}"
            cells.append(f"{value + ('!' if row['over_budget'] else ''):>7}")
        yield f"{page[:45]:<45} " + " ".join(cells)
    if len(pages) > _MAX_ROWS:
        yield f"... {len(pages) - _MAX_ROWS} more pages in summary.json"
