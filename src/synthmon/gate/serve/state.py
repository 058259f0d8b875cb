"""What the server serves: the latest evaluation, stored as one immutable Snapshot that the
evaluation loop replaces whole. A request reads the current reference and never waits for
an evaluation, nor takes a lock an evaluation holds."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synthmon.gate.model import Decision
from synthmon.gate.serve.document import verdict_document
from synthmon.gate.serve.figures import Figures


@dataclass(frozen=True)
class Snapshot:
    number: int  # 0: no evaluation yet
    evaluated_at: float
    served_phase: str
    decisions: dict[str, Decision]  # phase -> its decision on the same window
    documents: dict[str, bytes]  # phase -> the verdict JSON, serialised once
    figures: Figures | None = None
    page: bytes = b""


@dataclass(frozen=True)
class TimelineEntry:
    at: float
    verdict: str
    tripped: tuple[str, ...]
    held: int


@dataclass
class ServeState:
    served_phase: str
    phases: list[str]
    stale_after_s: float
    started_at: float = field(default_factory=time.time)
    errors: int = 0  # evaluations that could not be made (verdict error)
    evaluations_by_verdict: dict[str, int] = field(default_factory=dict)
    last_duration_s: float = 0.0
    timeline: deque[TimelineEntry] = field(default_factory=lambda: deque(maxlen=2000))
    snapshot: Snapshot | None = None
    render_page: Callable[[ServeState, Snapshot], bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.snapshot = self._empty()

    def _empty(self) -> Snapshot:
        decisions = {p: Decision(verdict="hold", summary=(
            "HOLD: no evaluation yet; the first comes one interval after the start"),
            phase=p, criteria=[], generated_at=_iso(self.started_at)) for p in self.phases}
        return Snapshot(0, self.started_at, self.served_phase, decisions,
                        {p: _serialise(d, self.served_phase, 0, self.started_at)
                         for p, d in decisions.items()})

    def publish(self, decisions: dict[str, Decision], figures: Figures | None,
                duration_s: float, at: float | None = None) -> Snapshot:
        """Store one evaluation (every phase's decision on one window) as the current one."""
        at = time.time() if at is None else at
        with self._lock:
            number = (self.snapshot.number if self.snapshot else 0) + 1
            served = decisions[self.served_phase]
            self.evaluations_by_verdict[served.verdict] = (
                self.evaluations_by_verdict.get(served.verdict, 0) + 1)
            if served.verdict == "error":
                self.errors += 1
            self.last_duration_s = duration_s
            self.timeline.append(TimelineEntry(
                at, served.verdict, tuple(served.tripped()),
                sum(1 for c in served.criteria if c.verdict == "hold")))
            snapshot = Snapshot(number, at, self.served_phase, decisions,
                                {p: _serialise(d, self.served_phase, number, at)
                                 for p, d in decisions.items()}, figures)
            if self.render_page is not None:
                snapshot = _with_page(snapshot, self.render_page(self, snapshot))
            self.snapshot = snapshot
            return snapshot

    def current(self) -> Snapshot:
        snapshot = self.snapshot
        assert snapshot is not None
        return snapshot

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.current().evaluated_at

    def stale(self, now: float | None = None) -> bool:
        """True when the loop has not published for longer than it should (it stopped, or
        an evaluation hangs): the last verdict is then no longer the gate's word."""
        return self.age_s(now) > self.stale_after_s

    def document(self, phase: str, now: float | None = None) -> bytes:
        """The verdict JSON of `phase`; once stale, a verdict `error` saying how old."""
        snapshot = self.current()
        if not self.stale(now):
            return snapshot.documents[phase]
        age = self.age_s(now)
        stale = Decision.failed(phase, f"the last evaluation is {age:.0f} s old (more than "
                                       f"{self.stale_after_s:.0f} s): the gate's evaluation "
                                       "loop is not running")
        return _serialise(stale, self.served_phase, snapshot.number, snapshot.evaluated_at)

    def decision(self, phase: str, now: float | None = None) -> Decision:
        snapshot = self.current()
        if self.stale(now):
            return Decision.failed(phase, f"the last evaluation is {self.age_s(now):.0f} s old")
        return snapshot.decisions[phase]

    def refresh(self, change: Callable[[Decision], None]) -> None:
        """Apply `change` to every decision of the current snapshot and re-serialise it
        (an approval recorded between two evaluations shows at once)."""
        with self._lock:
            old = self.current()
            for decision in old.decisions.values():
                change(decision)
            snapshot = Snapshot(old.number, old.evaluated_at, old.served_phase, old.decisions,
                                {p: _serialise(d, self.served_phase, old.number,
                                               old.evaluated_at)
                                 for p, d in old.decisions.items()}, old.figures)
            if self.render_page is not None and old.number:
                snapshot = _with_page(snapshot, self.render_page(self, snapshot))
            self.snapshot = snapshot


def _with_page(snapshot: Snapshot, page: bytes) -> Snapshot:
    return Snapshot(snapshot.number, snapshot.evaluated_at, snapshot.served_phase,
                    snapshot.decisions, snapshot.documents, snapshot.figures, page)


def _serialise(decision: Decision, served: str, number: int, at: float) -> bytes:
    doc: dict[str, Any] = verdict_document(decision, served, number, at)
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
