"""What `synthmon history` prints for a window: per endpoint the run report's figures
(synthmon.reports.stats) plus what only a history can tell, and the table of them.

Beyond one run, the questions are "since when" and "on which build": so drift carries the
builds it was seen on and its first and last sighting in the window, and the phase medians
say how many calls measured them (one per check, over a fresh connection).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from synthmon.reports.stats import endpoint_stats
from synthmon.samples import PHASES, Sample

_ENDPOINT_WIDTH = 52
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def history_figures(samples: Sequence[Sample]) -> dict[str, dict[str, Any]]:
    """endpoint_stats (as in summary.json: schema_drift, drifted, phases_ms among them) and,
    per endpoint, drift_builds, drift_first_at and drift_last_at (unix seconds; [] and None
    when nothing drifted) and phases_measured (the calls behind phases_ms)."""
    stats = endpoint_stats(samples)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.endpoint].append(sample)
    for name, group in groups.items():
        drifted = [s for s in group if s.schema_drift]
        stats[name].update(
            drift_builds=sorted({s.build_id for s in drifted}),
            drift_first_at=min((s.started_at for s in drifted), default=None),
            drift_last_at=max((s.started_at for s in drifted), default=None),
            phases_measured=sum(1 for s in group if s.phases),
        )
    return stats


def render_table(samples: Sequence[Sample], figures: dict[str, dict[str, Any]]
                 ) -> Iterator[str]:
    """The per-endpoint table, then the drifted endpoints and the phase medians, each only
    when the window holds some."""
    runs = len({s.run_id for s in samples})
    yield f"{len(samples)} samples from {runs} run(s)"
    yield (f"{'endpoint':<{_ENDPOINT_WIDTH}} {'n':>6} {'5xx':>5} {'none':>5} {'p50 ms':>8} "
           f"{'p95 ms':>8} {'p99 ms':>8}")
    for name, row in sorted(figures.items()):
        yield (f"{name:<{_ENDPOINT_WIDTH}} {row['count']:>6} {row['server_errors']:>5} "
               f"{row['no_answer']:>5} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
               f"{row['p99_ms']:>8.1f}")
    yield from _drift_lines(figures)
    yield from _phase_lines(figures)


def _drift_lines(figures: dict[str, dict[str, Any]]) -> Iterator[str]:
    drifted = [(name, row) for name, row in sorted(figures.items()) if row["drifted"]]
    if not drifted:
        return
    yield "schema drift (members no schema names: additive, reported, not a failure):"
    for name, row in drifted:
        yield (f"  {name}: {row['drifted']} of {row['count']} calls, build(s) "
               f"{', '.join(build or '?' for build in row['drift_builds'])}, {_span(row)}")
        for path in row["schema_drift"]:
            yield f"    {path}"


def _span(row: dict[str, Any]) -> str:
    first = time.strftime(_TIME_FORMAT, time.gmtime(row["drift_first_at"]))
    last = time.strftime(_TIME_FORMAT, time.gmtime(row["drift_last_at"]))
    return f"seen {first} UTC" if first == last else f"seen {first} to {last} UTC"


def _phase_lines(figures: dict[str, dict[str, Any]]) -> Iterator[str]:
    measured = [(name, row) for name, row in sorted(figures.items()) if row["phases_ms"]]
    if not measured:
        return
    yield "phases (median ms over the calls made on a fresh connection, one per check):"
    yield (f"{'endpoint':<{_ENDPOINT_WIDTH}} {'calls':>6} "
           + " ".join(f"{phase:>8}" for phase in PHASES))
    for name, row in measured:
        yield (f"{name:<{_ENDPOINT_WIDTH}} {row['phases_measured']:>6} "
               + " ".join(f"{row['phases_ms'][phase]:>8.1f}" for phase in PHASES))

