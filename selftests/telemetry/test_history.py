"""The SQLite history store: queries, several writers at once, a writer killed with -9,
retention, and `synthmon history`."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from synthmon.history import HistoryStore
from synthmon.history.command import history_command

from .test_units import CTX, sample


def _ctx(run_id: str, cohort: str = "canary", build: str = "b-42", at: float | None = None):
    return dataclasses.replace(CTX, run_id=run_id, cohort=cohort, build_id=build,
                               started_at=at if at is not None else time.time())


def _samples(run_id: str, cohort: str, build: str, at: float, n: int = 5,
             route: str = "/api/v1/scholarships"):
    return [sample(i, run_id=run_id, cohort=cohort, build_id=build, started_at=at + i,
                   route=route, synthetic_id=f"{run_id}.x.{i}") for i in range(1, n + 1)]


def test_append_and_query_by_window_cohort_endpoint_build_run(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite")
    now = time.time()
    for run_id, cohort, build, at in (("r1", "canary", "b-new", now - 600),
                                      ("r2", "control", "b-old", now - 60)):
        store.append(_ctx(run_id, cohort, build, at), _samples(run_id, cohort, build, at))
    store.append(_ctx("r3", "control", "b-old", now - 30),
                 _samples("r3", "control", "b-old", now - 30, route="/health"))
    assert len(store.samples()) == 15
    assert {s.run_id for s in store.samples(since=now - 120)} == {"r2", "r3"}
    assert {s.run_id for s in store.samples(until=now - 120)} == {"r1"}
    assert {s.run_id for s in store.samples(cohort="control")} == {"r2", "r3"}
    assert {s.run_id for s in store.samples(endpoint="GET /health")} == {"r3"}
    assert {s.run_id for s in store.samples(build_id="b-new")} == {"r1"}
    assert {s.run_id for s in store.samples(run_ids=["r1", "r3"])} == {"r1", "r3"}
    assert store.samples(run_ids=[]) == []
    got = store.samples(run_ids=["r1"])
    assert got == _samples("r1", "canary", "b-new", now - 600)  # round-trips whole Samples
    assert [r.run_id for r in store.runs()] == ["r1", "r2", "r3"]
    # appending a run again replaces it, never double counts
    store.append(_ctx("r1", "canary", "b-new", now - 600),
                 _samples("r1", "canary", "b-new", now - 600, n=2))
    assert len(store.samples(run_ids=["r1"])) == 2
    with sqlite3.connect(tmp_path / "h.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_retention_prunes_old_samples(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite", retention_days=1)
    old = time.time() - 3 * 86400
    store.append(_ctx("old", at=old), _samples("old", "canary", "b", old))
    store.append(_ctx("new"), _samples("new", "canary", "b", time.time()))
    assert {s.run_id for s in store.samples()} == {"new"}
    assert [r.run_id for r in store.runs()] == ["new"]


def _writer(path: str, who: int, runs: int) -> None:
    store = HistoryStore(path)
    for n in range(runs):
        run_id = f"w{who}-{n}"
        store.append(_ctx(run_id), _samples(run_id, "canary", "b", time.time(), n=20))


def test_several_writers_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "h.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, who, 5)) for who in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(90)
        assert p.exitcode == 0
    store = HistoryStore(path)
    assert len(store.runs()) == 15
    assert len(store.samples()) == 15 * 20


_LOOP = """
import signal, sys, time
signal.alarm(120)  # a bounded life: an interrupted selftest run must not leave it writing
# selftests/ too: conftest.py imports the shared helpers as `support.*`, as pytest sees them
sys.path[:0] = [{tests!r}, {tests!r} + "/selftests"]
from selftests.telemetry.test_history import _writer
_writer({path!r}, 9, 100000)
"""


def test_a_writer_killed_with_sigkill_leaves_a_consistent_store(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    repo = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-c", _LOOP.format(tests=repo, path=str(path))],
                            cwd=repo)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # let it commit some runs, then kill mid-stream
            if path.exists() and len(HistoryStore(path).runs()) >= 5:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = HistoryStore(path)
    runs = store.runs()
    assert len(runs) >= 5
    # every committed run is whole: 20 samples, never a torn half
    counts: dict[str, int] = {}
    for s in store.samples():
        counts[s.run_id] = counts.get(s.run_id, 0) + 1
    assert set(counts.values()) == {20}
    assert set(counts) == {r.run_id for r in runs}
    store.append(_ctx("after"), _samples("after", "canary", "b", time.time()))  # still writable


def test_history_command(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    now = time.time()
    HistoryStore(db).append(_ctx("r1", at=now), _samples("r1", "canary", "b-42", now - 5))
    runner = CliRunner()
    result = runner.invoke(history_command, ["--db", str(db), "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert "GET /api/v1/scholarships" in result.output and "5 samples from 1 run" in result.output
    result = runner.invoke(history_command, ["--db", str(db), "--since", "1h", "--json"])
    assert json.loads(result.output)["GET /api/v1/scholarships"]["count"] == 5
    result = runner.invoke(history_command, ["--db", str(db), "--cohort", "control", "--samples"])
    assert result.output == ""
    result = runner.invoke(history_command, ["--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code != 0 and "no history store" in result.output
    result = runner.invoke(history_command, ["--db", str(db), "--since", "yesterday-ish"])
    assert result.exit_code != 0 and "is neither a duration" in result.output
