"""The evaluation loop of `gate serve`: the `gate --watch` engine in a thread. Each
evaluation judges the window for the served phase, then the same window for every other
phase (for ?phase=, Prometheus asked once), and is published, written, recorded and, when
the verdict changed, notified. Nothing it meets stops it: a failure is an evaluation with
verdict `error`, and the next one is made on time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from synthmon.gate.engine import GateEngine
from synthmon.gate.errors import describe
from synthmon.gate.model import Decision
from synthmon.gate.plan import Traffic
from synthmon.gate.recording import Recorder
from synthmon.gate.report import write_decision
from synthmon.gate.serve.figures import figures
from synthmon.gate.serve.state import ServeState
from synthmon.gate.sources import Source
from synthmon.gate.watch import Evaluation, evaluations


class EvaluationLoop(threading.Thread):
    def __init__(self, engine: GateEngine, source: Source, state: ServeState, every_s: float,
                 total_s: float, out: Path, recorder: Recorder,
                 on_change: Callable[[Decision, Decision | None], None] | None = None,
                 traffic: Traffic | None = None):
        super().__init__(name="gate-evaluations", daemon=True)
        self.engine, self.source, self.state = engine, source, state
        self.every_s, self.total_s, self.out = every_s, total_s, out
        self.recorder, self.on_change, self.traffic = recorder, on_change, traffic
        self.stop_event = threading.Event()
        self.last: Decision | None = None
        self.log: list[str] = []  # what went wrong outside an evaluation (for the log)

    def run(self) -> None:
        for evaluation in evaluations(self.engine, self.source, self.every_s, self.total_s,
                                      self.every_s, self.stop_event, self.out):
            try:
                self.publish(evaluation)
            except Exception as exc:  # never let the loop die: the server would serve stale
                reason = describe(exc, self.out)
                self.log.append(reason)
                self.state.publish({p: Decision.failed(p, reason) for p in self.state.phases},
                                   None, 0.0)

    def publish(self, evaluation: Evaluation) -> None:
        served = evaluation.decision
        decisions = {self.state.served_phase: served}
        window = evaluation.window
        for phase in self.state.phases:
            if phase == self.state.served_phase:
                continue
            if window is None:
                decisions[phase] = Decision.failed(phase, served.summary)
            else:
                decisions[phase] = self.engine.evaluate(
                    window.canary, window.control, window.elapsed_s, window.notes,
                    phase=phase, debug_dir=self.out, fresh=False)
        shown = figures(self.engine.policy, self.state.served_phase, window, self.traffic,
                        self.engine.prometheus is not None, self.engine.window_s)
        self.state.publish(decisions, shown, time.time() - evaluation.at, evaluation.at)
        try:
            write_decision(served, self.out)
        except OSError as exc:
            self.log.append(f"decision not written to {self.out}: {exc}")
        self.recorder.record(served)
        if self.on_change is not None and (self.last is None
                                           or self.last.verdict != served.verdict):
            self.on_change(served, self.last)
        self.last = served

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop after the evaluation under way (the suite runs are aborted)."""
        self.stop_event.set()
        self.join(timeout_s)
