"""The evaluating half of `gate serve`, in a process of its own: the `gate --watch` engine
(suite runs against both cohorts, Prometheus, the decision function for every phase, the
plan) is CPU work in Python, and in the serving process it would hold the interpreter lock
while pollers wait. Here it only hands each finished evaluation to the server through a
queue; the server never evaluates."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthmon.gate.engine import GateEngine
from synthmon.gate.errors import describe
from synthmon.gate.model import Decision
from synthmon.gate.serve.figures import Figures, figures
from synthmon.gate.sources import HistorySource, LiveSource, Source
from synthmon.gate.watch import Evaluation, evaluations


@dataclass(frozen=True)
class EvaluatorSpec:
    """What the evaluating process needs, as plain values (it builds its own engine)."""

    policy_path: str | None
    phase: str
    window_s: float | None
    prometheus_url: str | None
    baseline_file: str | None
    ledger: str | None
    history_file: str | None
    canary_url: str | None
    control_url: str | None
    suite_dir: str | None
    every_s: float
    total_s: float
    out: str

    def engine(self) -> GateEngine:
        return GateEngine.from_options(self.policy_path, self.phase, self.window_s,
                                       self.prometheus_url, self.baseline_file, self.ledger)

    def source(self, engine: GateEngine) -> Source:
        if self.history_file:
            return HistorySource(Path(self.history_file))
        assert self.canary_url and self.control_url
        return LiveSource(engine.policy, engine.phase_conf()["scope"], self.canary_url,
                          self.control_url, self.suite_dir)


@dataclass(frozen=True)
class Published:
    """One evaluation as the server stores it."""

    decisions: dict[str, Decision]  # phase -> decision on the same window
    figures: Figures | None
    at: float
    duration_s: float


def judge_every_phase(engine: GateEngine, evaluation: Evaluation, out: Path) -> Published:
    served = evaluation.decision
    decisions = {engine.phase: served}
    window = evaluation.window
    for phase in engine.phases:
        if phase == engine.phase:
            continue
        if window is None:
            decisions[phase] = Decision.failed(phase, served.summary)
        else:
            decisions[phase] = engine.evaluate(window.canary, window.control, window.elapsed_s,
                                               window.notes, phase=phase, debug_dir=out,
                                               fresh=False)
    shown = figures(engine.policy, engine.phase, window, None,
                    engine.prometheus is not None, engine.window_s)
    return Published(decisions, shown, evaluation.at, time.time() - evaluation.at)


def _stop_when_orphaned(stop: Any, parent: int) -> None:
    """The server was killed (no clean stop came): stop too, rather than evaluate for
    nobody."""
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()
            return
        time.sleep(1.0)


def run(spec: EvaluatorSpec, results: Any, stop: Any) -> None:
    """The evaluating process: evaluations until `stop` (a multiprocessing Event) is set by
    the server, each put on `results`. Signals are the server's to act on (a pod's SIGTERM
    reaches the whole group): the server sets `stop`, the evaluation under way finishes and
    is handed over, then this process ends. (Setting an Event from a signal handler here
    could deadlock on the lock its wait holds.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_stop_when_orphaned, args=(stop, os.getppid()), daemon=True,
                     name="orphan-watch").start()
    out = Path(spec.out)
    try:
        engine = spec.engine()
        source = spec.source(engine)
    except Exception as exc:
        reason = describe(exc, out)
        results.put(("failed", reason))
        return
    for evaluation in evaluations(engine, source, spec.every_s, spec.total_s, spec.every_s,
                                  stop, out):
        try:
            results.put(("published", judge_every_phase(engine, evaluation, out)))
        except Exception as exc:  # never end the loop on one bad evaluation
            results.put(("failed", describe(exc, out)))
    results.put(("ended", ""))
