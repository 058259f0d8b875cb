"""The history store: every run's samples in SQLite, queried by `synthmon history`."""

from synthmon.history.store import DEFAULT_RETENTION_DAYS, HistoryError, HistoryStore

__all__ = ["DEFAULT_RETENTION_DAYS", "HistoryError", "HistoryStore"]
