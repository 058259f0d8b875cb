"""The evaluation loop of `gate --watch` and `gate serve`: every interval, the rolling
window of the source judged by the engine, until the watch ends, the source ends, or the
caller stops it. Each evaluation is yielded as it is made; a failed one is a Decision with
verdict `error`, and the loop goes on (the next one may succeed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synthmon.gate.engine import GateEngine
from synthmon.gate.errors import GateError
from synthmon.gate.model import Decision
from synthmon.gate.sources import Source, Window, wait_until


def judge(engine: GateEngine, source: Source, now: float, debug_dir: Path | None = None,
          phase: str | None = None) -> tuple[Decision, Window | None]:
    """One evaluation of the source's current window."""
    try:
        window = source.window(now, engine.window_s)
    except GateError as exc:
        return Decision.failed(phase or engine.phase, exc.message), None
    decision = engine.evaluate(window.canary, window.control, window.elapsed_s, window.notes,
                               phase=phase, debug_dir=debug_dir)
    return decision, window


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    at: float  # unix time the evaluation started
    since_start_s: float  # how far into the watch
    window: Window | None  # what it judged (None: the source could not say)


def evaluations(engine: GateEngine, source: Source, every_s: float, total_s: float,
                first_after_s: float, stop: threading.Event | None = None,
                debug_dir: Path | None = None) -> Iterator[Evaluation]:
    """Each evaluation as it is made. The source is started here and always stopped when
    the loop ends, however it ends."""
    stop = stop or threading.Event()
    source.start(total_s)
    started = time.time()
    deadline = started + total_s
    next_at = started + first_after_s
    try:
        while wait_until(next_at, stop, source):
            now = time.time()
            decision, window = judge(engine, source, now, debug_dir)
            yield Evaluation(decision, now, now - started, window)
            if stop.is_set() or not source.alive or time.time() + every_s > deadline:
                return
            next_at = now + every_s
    finally:
        source.stop()
