"""Every evaluation kept: each decision of `gate`, `gate --watch` and `gate serve` goes into
the history store beside the samples, with its criteria (`synthmon history decisions`).
A store that cannot be written costs the record, never the decision: it is said once."""

from __future__ import annotations

import os
from pathlib import Path

import click

from synthmon.gate.model import Decision
from synthmon.gate.report import decision_data
from synthmon.history import HistoryError, HistoryStore


def store_path(explicit: str | None, history_file: str | None = None) -> Path:
    """--db, else the store the window is read from, else the suite's default store."""
    if explicit:
        return Path(explicit)
    if history_file:
        return Path(history_file)
    return Path(os.environ.get("SYNTH_REPORTS_DIR") or "reports") / "history.sqlite"


class Recorder:
    def __init__(self, path: Path | None, origin: str):
        self.store = HistoryStore(path) if path is not None else None
        self.origin = origin
        self.failed = False

    def record(self, decision: Decision) -> None:
        if self.store is None:
            return
        try:
            self.store.append_decision(decision_data(decision), self.origin)
        except (HistoryError, OSError) as exc:
            if not self.failed:
                click.echo(f"synthmon gate: the decision is not recorded in the history "
                           f"store: {exc}", err=True)
            self.failed = True
