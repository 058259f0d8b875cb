"""The serving half's side of the evaluation loop: the evaluating process (evaluator.py) is
started and stopped from here, and each evaluation it hands over is published (the
snapshot the HTTP side serves), written to --out, recorded in the history store and, when
the served verdict changed, notified. Nothing it receives stops it: a failed evaluation is
published as verdict `error`, and the next one comes on time."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from synthmon.gate.model import Decision
from synthmon.gate.recording import Recorder
from synthmon.gate.report import write_decision
from synthmon.gate.serve import evaluator
from synthmon.gate.serve.evaluator import EvaluatorSpec, Published
from synthmon.gate.serve.state import ServeState


class EvaluationLoop(threading.Thread):
    def __init__(self, spec: EvaluatorSpec, state: ServeState, out: Path, recorder: Recorder,
                 on_change: Callable[[Decision, Decision | None], None] | None = None):
        super().__init__(name="gate-evaluations", daemon=True)
        self.spec, self.state, self.out = spec, state, out
        self.recorder, self.on_change = recorder, on_change
        # spawn, not fork: the server has threads by now, and a fork copies their locks.
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.stop_event = context.Event()
        self.process = context.Process(target=evaluator.run, name="gate-evaluator",
                                       args=(spec, self.results, self.stop_event), daemon=True)
        self.last: Decision | None = None
        self.problems: list[str] = []

    def start(self) -> None:
        self.process.start()
        super().start()

    def evaluating(self) -> bool:
        return self.process.is_alive()

    def run(self) -> None:
        while True:
            try:
                kind, payload = self.results.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive():
                    return
                continue
            if kind == "ended":
                return
            if kind == "failed":
                self.problems.append(payload)
                self.publish(Published({p: Decision.failed(p, payload)
                                        for p in self.state.phases}, None, 0.0, 0.0))
            else:
                self.publish(payload)

    def publish(self, published: Published) -> None:
        served = published.decisions[self.state.served_phase]
        self.state.publish(published.decisions, published.figures, published.duration_s,
                           published.at or None)
        try:
            write_decision(served, self.out)
        except OSError as exc:
            self.problems.append(f"decision not written to {self.out}: {exc}")
        self.recorder.record(served)
        if self.on_change is not None and (self.last is None
                                           or self.last.verdict != served.verdict):
            self.on_change(served, self.last)
        self.last = served

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop after the evaluation under way, which is still received and stored."""
        self.stop_event.set()
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)
        self.join(timeout_s)
