"""SQLite storage safe under concurrent requests.

One connection per thread (handlers run in a thread pool), WAL so readers never wait for
the writer, busy_timeout so writers queue instead of failing, and explicit
`BEGIN IMMEDIATE` around every multi-statement write so nothing is ever half-written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS providers (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  role TEXT NOT NULL, display_name TEXT, provider_id TEXT, created_at TEXT NOT NULL,
  created_ts REAL NOT NULL, first_value_at TEXT, quota INTEGER, seeded INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS scholarships (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, provider_id TEXT NOT NULL, amount_value REAL NOT NULL,
  currency TEXT NOT NULL, deadline TEXT NOT NULL, tags TEXT NOT NULL, description TEXT NOT NULL,
  eligibility TEXT NOT NULL, created_at TEXT NOT NULL, search_text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scholarships_provider ON scholarships(provider_id);
CREATE TABLE IF NOT EXISTS saved (
  user_id TEXT NOT NULL, scholarship_id TEXT NOT NULL, saved_at TEXT NOT NULL,
  PRIMARY KEY (user_id, scholarship_id));
CREATE INDEX IF NOT EXISTS saved_scholarship ON saved(scholarship_id);
CREATE TABLE IF NOT EXISTS applications (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, scholarship_id TEXT NOT NULL,
  status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_scholarship ON applications(scholarship_id);
CREATE TABLE IF NOT EXISTS drafts (
  application_id TEXT PRIMARY KEY, version INTEGER NOT NULL, content TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS token_families (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash TEXT PRIMARY KEY, family_id TEXT NOT NULL, user_id TEXT NOT NULL,
  spent INTEGER NOT NULL DEFAULT 0, expires_ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, price_value REAL NOT NULL, currency TEXT NOT NULL,
  interval TEXT NOT NULL, features TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkouts (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, plan_id TEXT NOT NULL, amount_value REAL NOT NULL,
  currency TEXT NOT NULL, status TEXT NOT NULL, nonce_hash TEXT NOT NULL,
  expires_ts REAL NOT NULL, expires_at TEXT NOT NULL, nonce_used INTEGER NOT NULL DEFAULT 0,
  validated_at TEXT);
"""


class Storage:
    def __init__(self, path: str | None = None) -> None:
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="scholarship-sandbox-")
            path = os.path.join(self._tempdir.name, "sandbox.sqlite")
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.connection().executescript(SCHEMA)  # executescript manages its own commit

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: autocommit; transactions are explicit (write()).
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction; rolled back on any exception."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.connection().execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.connection().execute(sql, params).fetchall())

    def ping(self) -> None:
        """The readiness probe: a real query against the real file."""
        row = self.one("SELECT count(*) AS n FROM scholarships")
        if row is None or row["n"] <= 0:
            raise RuntimeError("the scholarships table is empty")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        if self._tempdir is not None:
            self._tempdir.cleanup()
