"""What appending a run to the history costs once the history is full, as a monitor's is.

A monitor running the suite every minute keeps --days of runs (the retention, 30 days by
default): 43,200 runs of about 80 samples. Every run then appends its samples and prunes
the run that aged out, in one transaction. This builds such a store (its runs and samples
written straight into the store's own tables, with small sample bodies: the prune's cost is
in the indexes, not in the bodies), then times HistoryStore.append for --appends runs, each
of which ages one run out. Beside it, the two ways of finding the runs left without
samples, timed on the same store: the one the store uses (NOT EXISTS, one index lookup per
old run) and the one it used before (NOT IN over every sample's run id).

Nothing is asserted; the figures are printed. The store lives in a temporary folder (about
500 MB at the defaults) and is removed at the end.

Run: .venv/bin/python bench/history_append.py [--days 30] [--appends 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from synthmon.history import HistoryStore
from synthmon.run_context import RunContext
from synthmon.samples import Sample

SAMPLES_PER_RUN = 80
OLD = "SELECT count(*) FROM runs WHERE started_at < ? AND run_id NOT IN " \
      "(SELECT DISTINCT run_id FROM samples)"
NEW = "SELECT count(*) FROM runs WHERE started_at < ? AND NOT EXISTS " \
      "(SELECT 1 FROM samples WHERE samples.run_id = runs.run_id)"


def _context(run_id: str, at: float) -> RunContext:
    return RunContext(run_id=run_id, started_at=at, target="http://127.0.0.1:1",
                      target_name="sandbox", environment="bench", cohort="canary",
                      region="local", device="desktop", build_id="b", git_sha="0000000")


def _sample(run_id: str, at: float, n: int) -> Sample:
    return Sample(run_id=run_id, check="tests/x.py::test_x", method="GET",
                  route=f"/api/v1/r{n % 12}", status=200, total_ms=5.0, ttfb_ms=4.0,
                  schema_ok=True, schema_error=None, budget_ms=150.0, hard_limit_ms=1000.0,
                  budget_verdict="ok", synthetic_id=f"{run_id}.x.{n}", trace_id="0" * 32,
                  span_id="0" * 16, started_at=at + n * 0.01, target="http://127.0.0.1:1",
                  cohort="canary", region="local", device="desktop", build_id="b",
                  git_sha="0000000")


_RUN = ("INSERT INTO runs (run_id, started_at, target, cohort, region, device, build_id,"
        " git_sha, environment, context) VALUES (?,?,?,?,?,?,?,?,?,?)")
_SAMPLE = ("INSERT INTO samples (run_id, started_at, cohort, endpoint, build_id, region,"
           " synthetic_id, data) VALUES (?,?,?,?,?,?,?,?)")


def _run_row(run_id: str, at: float) -> tuple[object, ...]:
    return (run_id, at, "t", "canary", "local", "desktop", "b", "0000000", "bench", "{}")


def _sample_rows(run_id: str, at: float) -> list[tuple[object, ...]]:
    return [(run_id, at + n * 0.01, "canary", f"GET /api/v1/r{n % 12}", "b", "local",
             f"{run_id}.x.{n}", "{}") for n in range(SAMPLES_PER_RUN)]


def _insert(path: Path, runs: list[tuple[str, float]]) -> None:
    """These (run id, start) runs and their samples, written straight into the store's
    tables in one transaction."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        conn.executemany(_RUN, (_run_row(run_id, at) for run_id, at in runs))
        for run_id, at in runs:
            conn.executemany(_SAMPLE, _sample_rows(run_id, at))
        conn.execute("COMMIT")


def build(path: Path, runs: int, now: float) -> None:
    """`runs` runs a minute apart, the oldest just inside the retention (a minute's margin)."""
    HistoryStore(path).create()
    _insert(path, [(f"run-{i:06d}", now - (runs - i) * 60 + 60) for i in range(runs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30.0, help="retention kept full (days)")
    parser.add_argument("--appends", type=int, default=20, help="runs appended and timed")
    args = parser.parse_args()
    runs = int(args.days * 24 * 60)
    with tempfile.TemporaryDirectory(prefix="synthmon-history-") as scratch:
        path = Path(scratch) / "history.sqlite"
        start = time.time()
        build(path, runs, start)
        print(f"store: {runs} runs, {runs * SAMPLES_PER_RUN} samples, "
              f"{path.stat().st_size / 2**20:.0f} MiB, built in {time.time() - start:.0f} s")
        store = HistoryStore(path, retention_days=args.days)
        times = []
        for k in range(args.appends):
            # the run that ages out this minute, as in a monitor's loop: one run (and its
            # samples) just older than the retention, which this append prunes
            _add_run(path, f"aged-{k:03d}", time.time() - args.days * 86400 - 60)
            run_id, at = f"new-{k:03d}", time.time()
            samples = [_sample(run_id, at, n) for n in range(SAMPLES_PER_RUN)]
            began = time.perf_counter()
            store.append(_context(run_id, at), samples)
            times.append(time.perf_counter() - began)
        _add_run(path, "aged-last", time.time() - args.days * 86400 - 60)
        cutoff = time.time() - args.days * 86400
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM samples WHERE run_id = 'aged-last'")
            lookups = {}
            for name, query in (("NOT EXISTS (now)", NEW), ("NOT IN (before)", OLD)):
                began = time.perf_counter()
                found = conn.execute(query, (cutoff,)).fetchone()[0]
                lookups[name] = (time.perf_counter() - began, found)
    times.sort()
    print(f"append with prune, {args.appends} runs: median {statistics.median(times) * 1000:.1f}"
          f" ms, max {times[-1] * 1000:.1f} ms")
    for name, (seconds, found) in lookups.items():
        print(f"finding the runs left without samples, {name}: {seconds * 1000:.1f} ms "
              f"({found} found)")


def _add_run(path: Path, run_id: str, at: float) -> None:
    _insert(path, [(run_id, at)])


if __name__ == "__main__":
    main()
