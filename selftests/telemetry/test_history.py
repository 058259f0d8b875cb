"""The SQLite history store: queries, several writers at once, a writer killed with -9,
retention, and `synthmon history` (its drift and phases too, after a real run)."""

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

import pytest
from click.testing import CliRunner

from synthmon.history import HistoryStore
from synthmon.history.command import history_command

from .conftest import run_suite
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
    # a run that began before the cutoff keeps its row while some of its samples are kept
    edge = time.time() - 86400 - 2
    store.append(_ctx("edge", at=edge), _samples("edge", "canary", "b", edge, n=5))
    assert {s.run_id for s in store.samples()} == {"new", "edge"}
    assert {r.run_id for r in store.runs()} == {"new", "edge"}


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


PHASES_MS = {"dns": 0.5, "connect": 1.0, "tls": 6.0, "ttfb": 9.0, "transfer": 2.0}


def test_history_shows_drift_by_endpoint_with_its_builds_and_the_phase_medians(
        tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    now = time.time()
    store = HistoryStore(db)
    for run_id, build, at, drift in (("r1", "b-old", now - 600, ()),
                                     ("r2", "b-new", now - 60, ("$.items[*].recommended",)),
                                     ("r3", "b-new", now - 30, ("$.build_note",))):
        calls = _samples(run_id, "canary", build, at, n=4)
        calls[1] = dataclasses.replace(calls[1], schema_drift=drift)
        calls[0] = dataclasses.replace(
            calls[0], phases={k: v * int(run_id[1]) for k, v in PHASES_MS.items()})
        calls.append(dataclasses.replace(calls[3], route="/health", synthetic_id=run_id + ".h"))
        store.append(_ctx(run_id, build=build, at=at), calls)
    runner = CliRunner()
    figures = json.loads(runner.invoke(history_command, ["--db", str(db), "--since", "1h",
                                                         "--json"]).output)
    search = figures["GET /api/v1/scholarships"]
    assert search["drifted"] == 2 and search["count"] == 12
    assert search["schema_drift"] == ["$.build_note", "$.items[*].recommended"]
    assert search["drift_builds"] == ["b-new"]
    assert search["drift_first_at"] == pytest.approx(now - 58)  # run r2's second call
    assert search["drift_last_at"] == pytest.approx(now - 28)
    assert search["phases_measured"] == 3
    assert search["phases_ms"] == {k: v * 2 for k, v in PHASES_MS.items()}  # the median run
    assert figures["GET /health"]["drifted"] == 0 and figures["GET /health"]["phases_ms"] is None
    table = runner.invoke(history_command, ["--db", str(db), "--since", "1h"]).output
    lines = table.splitlines()
    start = lines.index("schema drift (members no schema names: additive, reported, not a "
                        "failure):")
    assert lines[start + 1].startswith("  GET /api/v1/scholarships: 2 of 12 calls, build(s) "
                                       "b-new, seen ")
    assert lines[start + 2:start + 4] == ["    $.build_note", "    $.items[*].recommended"]
    assert "GET /health:" not in table  # it never drifted
    header = lines.index("phases (median ms over the calls made on a fresh connection, one "
                         "per check):")
    assert lines[header + 1].split() == ["endpoint", "calls", "dns", "connect", "tls", "ttfb",
                                         "transfer"]
    assert lines[header + 2].split() == ["GET", "/api/v1/scholarships", "3", "1.0", "2.0",
                                         "12.0", "18.0", "4.0"]
    assert len(lines) == header + 3  # /health measured no phases: no row
    # the window decides: before the new build came, nothing drifted
    older = runner.invoke(history_command, ["--db", str(db), "--since", "1h", "--until",
                                            str(now - 100)]).output
    assert "5 samples from 1 run" in older and "schema drift" not in older, older
    assert "phases" in older


def test_a_history_without_drift_or_phases_shows_nothing_extra(tmp_path: Path) -> None:
    """Samples stored before either was recorded (their JSON lacks the members) read as
    samples without them: the table is what it always was, --json says none."""
    db = tmp_path / "h.sqlite"
    now = time.time()
    HistoryStore(db).append(_ctx("r1", at=now), _samples("r1", "canary", "b-42", now - 5))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE samples SET data = json_remove(data, '$.schema_drift', "
                     "'$.phases')")
        assert "phases" not in conn.execute("SELECT data FROM samples").fetchone()[0]
    runner = CliRunner()
    result = runner.invoke(history_command, ["--db", str(db), "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 3  # the count line, the header, one endpoint
    assert "drift" not in result.output and "phases" not in result.output
    figures = json.loads(runner.invoke(history_command, ["--db", str(db), "--since", "1h",
                                                         "--json"]).output)
    row = figures["GET /api/v1/scholarships"]
    assert (row["drifted"], row["schema_drift"], row["drift_builds"]) == (0, [], [])
    assert (row["drift_first_at"], row["phases_ms"], row["phases_measured"]) == (None, None, 0)


def test_a_run_with_an_added_member_shows_in_history_with_its_phases(
        tmp_path: Path, sandbox_factory) -> None:
    sandbox = sandbox_factory("add-field:field=build_note,route=/health")
    reports = tmp_path / "reports"
    run = run_suite(reports, "--target", sandbox.url, "-k", "health_is_ok")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    db = str(reports / "history.sqlite")
    runner = CliRunner()
    table = runner.invoke(history_command, ["--db", db, "--endpoint", "GET /health"]).output
    assert "  GET /health: 1 of 1 calls, build(s) sandbox-local, seen " in table, table
    assert "\n    $.build_note\n" in table, table
    phases = table.splitlines()[-1].split()
    assert phases[:3] == ["GET", "/health", "1"], table
    assert float(phases[-2]) > 0  # the first call of the check went over a fresh connection
    figures = json.loads(runner.invoke(history_command, ["--db", db, "--json"]).output)
    assert figures["GET /health"]["schema_drift"] == ["$.build_note"]
    assert set(figures["GET /health"]["phases_ms"]) == {"dns", "connect", "tls", "ttfb",
                                                       "transfer"}
