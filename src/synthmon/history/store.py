"""The run history: every run's samples in one embedded SQLite file (reports/history.sqlite).

Rolling windows for the gate and the baseline are read from here. Why SQLite and this shape:

- WAL journal, so readers (the gate) never block the writer and a run killed with -9
  mid-write leaves the file consistent: a transaction is either all there or not at all.
- Several writers (parallel CI jobs on one runner, the monitor loop next to a hand run) are
  serialised by SQLite's own lock; `busy_timeout` makes a writer wait instead of failing.
- One row per sample with the columns the queries filter on, plus the whole Sample as JSON so
  a field added to Sample later round-trips without a migration.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from synthmon.run_context import RunContext
from synthmon.samples import Sample

DEFAULT_RETENTION_DAYS = 30.0
_BUSY_TIMEOUT_MS = 10_000
_SCHEMA_VERSION = 3  # 2: the gate's decisions; 3: how each run ended (runs.outcome)

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    started_at  REAL NOT NULL,
    target      TEXT NOT NULL,
    cohort      TEXT NOT NULL,
    region      TEXT NOT NULL,
    device      TEXT NOT NULL,
    build_id    TEXT NOT NULL,
    git_sha     TEXT NOT NULL,
    environment TEXT NOT NULL,
    context     TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT 'unknown'
);
CREATE TABLE IF NOT EXISTS samples (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    started_at  REAL NOT NULL,
    cohort      TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    build_id    TEXT NOT NULL,
    region      TEXT NOT NULL,
    synthetic_id TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_time ON samples (started_at);
CREATE INDEX IF NOT EXISTS samples_cohort_time ON samples (cohort, started_at);
CREATE INDEX IF NOT EXISTS samples_run ON samples (run_id);
CREATE TABLE IF NOT EXISTS decisions (
    id           INTEGER PRIMARY KEY,
    evaluated_at REAL NOT NULL,
    phase        TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    origin       TEXT NOT NULL,
    canary_build TEXT NOT NULL,
    summary      TEXT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (evaluated_at);
CREATE TABLE IF NOT EXISTS decision_criteria (
    decision_id  INTEGER NOT NULL,
    criterion_id TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    value        REAL,
    reference    REAL,
    threshold    REAL,
    reason       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_criteria_decision ON decision_criteria (decision_id);
"""


class HistoryError(RuntimeError):
    """The history store cannot be opened or written; the message says which file and why."""


class HistoryStore:
    """Append runs' samples and read them back by window, cohort, endpoint, build and run.

    Each call opens its own short-lived connection: safe across threads and processes, and
    nothing is held open between a run's end and the next run.
    """

    def __init__(self, path: str | Path, retention_days: float | None = DEFAULT_RETENTION_DAYS):
        self.path = Path(path)
        self.retention_days = retention_days

    # -- connection -------------------------------------------------------------------

    def _connect(self, create: bool = False) -> sqlite3.Connection:
        """A connection to the store. `create`: a missing or empty file becomes a new store
        (what the writers after a run do); otherwise the file must already be one. A file
        that is something else is refused untouched, never given a schema."""
        if not create and not self.path.is_file():
            raise HistoryError(f"no history store at {self.path}: run the suite first (pytest)")
        try:
            if create and not self.path.exists():
                self._create_whole()
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            version, tables = self._identify(conn, create)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL with WAL: a power cut may lose the last commit, never corrupt the file;
            # a killed process loses nothing that was committed.
            conn.execute("PRAGMA synchronous=NORMAL")
            if version < _SCHEMA_VERSION or not tables:
                conn.executescript(_DDL)
                _add_column(conn, "runs", "outcome", "TEXT NOT NULL DEFAULT 'unknown'")
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            return conn
        except HistoryError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            if "not a database" in str(exc):
                raise HistoryError(f"{self.path} is not a synthmon history store (not an "
                                   "SQLite database): pass the store the suite writes, "
                                   "reports/history.sqlite") from exc
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc

    def _create_whole(self) -> None:
        """A new store appears whole or not at all: its schema is written in a file beside
        it and linked into place, so a reader polling for it never meets an empty file
        (which it would refuse). Of two writers creating it at once, one link wins."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            with closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_DDL)
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, self.path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"),
                             tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _identify(self, conn: sqlite3.Connection, create: bool) -> tuple[int, set[str]]:
        """The store's schema version and tables, read before anything is written; a
        HistoryError for a file that is not (yet) a synthmon store."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and version == 0:
            if create:
                return version, tables  # new (or still empty): it becomes a store
            raise HistoryError(f"{self.path} is empty, not a synthmon history store: pass "
                               "the store the suite writes, reports/history.sqlite")
        if not {"runs", "samples"} <= tables:
            raise HistoryError(
                f"{self.path} is not a synthmon history store (an SQLite database with "
                f"tables {', '.join(sorted(tables)) or 'none'}): pass the store the suite "
                "writes, reports/history.sqlite")
        return version, tables

    # -- writing ----------------------------------------------------------------------

    def append(self, run_context: RunContext, samples: Iterable[Sample],
               outcome: str = "unknown") -> int:
        """Store one run's samples, and how it ended (passed, failed, incomplete,
        target-unreachable, wrong-build, interrupted), in a single transaction; returns how
        many were written.

        Appending the same run twice replaces its samples (a retried upload must not double
        count). Samples older than the retention are pruned in the same transaction.
        """
        rows = [
            (s.run_id or run_context.run_id, s.started_at, s.cohort, s.endpoint, s.build_id,
             s.region, s.synthetic_id, json.dumps(s.to_dict(), sort_keys=True))
            for s in samples
        ]
        ctx = run_context
        with closing(self._connect(create=True)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT OR REPLACE INTO runs (run_id, started_at, target, cohort, region,"
                    " device, build_id, git_sha, environment, context, outcome)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (ctx.run_id, ctx.started_at, ctx.target, ctx.cohort, ctx.region, ctx.device,
                     ctx.build_id, ctx.git_sha, ctx.environment,
                     json.dumps(ctx.to_dict(), sort_keys=True), outcome),
                )
                conn.execute("DELETE FROM samples WHERE run_id = ?", (ctx.run_id,))
                conn.executemany(
                    "INSERT INTO samples (run_id, started_at, cohort, endpoint, build_id, region,"
                    " synthetic_id, data) VALUES (?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._prune(conn)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise HistoryError(f"cannot write to the history store {self.path}: {exc}") from exc
        return len(rows)

    def append_decision(self, decision: dict[str, Any], origin: str,
                        evaluated_at: float | None = None) -> int:
        """Keep one gate evaluation (decision.json's shape) and a row per criterion, in one
        transaction; `origin` says which command made it (gate, watch, serve)."""
        at = time.time() if evaluated_at is None else evaluated_at
        builds = decision.get("inputs", {}).get("canary_builds") or [""]
        with closing(self._connect(create=True)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                cursor = conn.execute(
                    "INSERT INTO decisions (evaluated_at, phase, verdict, origin, canary_build,"
                    " summary, data) VALUES (?,?,?,?,?,?,?)",
                    (at, str(decision["phase"]), decision["verdict"], origin,
                     ",".join(builds), decision.get("summary", ""),
                     json.dumps(decision, sort_keys=True)))
                decision_id = int(cursor.lastrowid or 0)
                conn.executemany(
                    "INSERT INTO decision_criteria VALUES (?,?,?,?,?,?,?)",
                    [(decision_id, c["id"], c["verdict"], _number(c.get("canary_value")),
                      _number(c.get("reference_value")), _number(c.get("threshold")),
                      c.get("reason", "")) for c in decision.get("criteria", [])])
                self._prune(conn)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise HistoryError(f"cannot write to the history store {self.path}: {exc}") from exc
        return decision_id

    def decisions(self, since: float | None = None, until: float | None = None,
                  phase: str | None = None) -> list[dict[str, Any]]:
        """The gate's evaluations in the window, oldest first: evaluated_at, origin and the
        decision as it was written (criteria included)."""
        clauses: list[str] = []
        args: list[float | str] = []
        if since is not None:
            clauses.append("evaluated_at >= ?")
            args.append(float(since))
        if until is not None:
            clauses.append("evaluated_at < ?")
            args.append(float(until))
        if phase is not None:
            clauses.append("phase = ?")
            args.append(phase)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            try:
                rows = conn.execute(f"SELECT evaluated_at, origin, data FROM decisions {where} "
                                    "ORDER BY evaluated_at, id", args).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot read the history store {self.path}: {exc}") from exc
        return [{"evaluated_at": at, "origin": origin, "decision": json.loads(data)}
                for at, origin, data in rows]

    def _prune(self, conn: sqlite3.Connection) -> None:
        if self.retention_days is None or self.retention_days <= 0:
            return
        cutoff = time.time() - self.retention_days * 86400
        conn.execute("DELETE FROM samples WHERE started_at < ?", (cutoff,))
        # NOT EXISTS looks up each old run in the samples_run index; NOT IN (SELECT DISTINCT
        # run_id FROM samples) read the whole index on every append: 0.2 s a run once a
        # monitor had run every minute for the 30 days kept (bench/history_append.py)
        conn.execute("DELETE FROM runs WHERE started_at < ? AND NOT EXISTS "
                     "(SELECT 1 FROM samples WHERE samples.run_id = runs.run_id)", (cutoff,))
        conn.execute("DELETE FROM decision_criteria WHERE decision_id IN "
                     "(SELECT id FROM decisions WHERE evaluated_at < ?)", (cutoff,))
        conn.execute("DELETE FROM decisions WHERE evaluated_at < ?", (cutoff,))

    def create(self) -> None:
        """Make the file an empty store now (a missing or empty file; anything else is
        refused as `append` refuses it)."""
        with closing(self._connect(create=True)):
            pass

    def prune(self) -> None:
        """Drop what is older than the retention, outside of an append."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            self._prune(conn)
            conn.execute("COMMIT")

    # -- reading ----------------------------------------------------------------------

    def samples(
        self,
        since: float | None = None,
        until: float | None = None,
        cohort: str | None = None,
        endpoint: str | None = None,
        build_id: str | None = None,
        run_ids: Sequence[str] | None = None,
        region: str | None = None,
    ) -> list[Sample]:
        """Samples whose start lies in [since, until), oldest first, filtered by the rest.

        `endpoint` is "METHOD /route/template" (Sample.endpoint).
        """
        where, args = _where(since=since, until=until, cohort=cohort, endpoint=endpoint,
                             build_id=build_id, run_ids=run_ids, region=region)
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            try:
                rows = conn.execute(
                    f"SELECT data FROM samples {where} ORDER BY started_at, id", args
                ).fetchall()
            except sqlite3.Error as exc:
                raise HistoryError(f"cannot read the history store {self.path}: {exc}") from exc
        return [Sample.from_dict(json.loads(row[0])) for row in rows]

    def runs(self, since: float | None = None, until: float | None = None,
             cohort: str | None = None, build_id: str | None = None) -> list[RunContext]:
        """The runs recorded in the window, oldest first."""
        where, args = _where(since=since, until=until, cohort=cohort, build_id=build_id)
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT context FROM runs {where} ORDER BY started_at", args).fetchall()
        return [RunContext.from_dict(json.loads(row[0])) for row in rows]

    def outcomes(self, since: float | None = None,
                 until: float | None = None) -> dict[str, str]:
        """run id -> how the run ended (passed, failed, incomplete, target-unreachable,
        wrong-build, interrupted; unknown for runs kept before the store recorded it)."""
        where, args = _where(since=since, until=until)
        if not self.path.exists():
            return {}
        with closing(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT run_id, outcome FROM runs {where} ORDER BY started_at", args).fetchall()
        return {run_id: outcome for run_id, outcome in rows}


def _add_column(conn: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    """ALTER TABLE ADD COLUMN for a store made by an older synthmon; two processes opening
    it at once may both try, and the second finds the column there."""
    present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    if column in present:
        return
    try:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


def _number(value: Any) -> float | None:
    """A criterion's number as SQLite keeps it: JSON's 'inf' strings and None are NULL."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _where(**filters: Any) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for name, value in filters.items():
        if value is None:
            continue
        if name == "since":
            clauses.append("started_at >= ?")
            args.append(float(value))
        elif name == "until":
            clauses.append("started_at < ?")
            args.append(float(value))
        elif name == "run_ids":
            ids = list(value)
            if not ids:
                return "WHERE 0", []
            clauses.append(f"run_id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        else:
            clauses.append(f"{name} = ?")
            args.append(value)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args
