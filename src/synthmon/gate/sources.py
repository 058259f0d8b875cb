"""Where each evaluation's window of samples comes from: the suite run live against both
cohorts (paced, side by side, for as long as the watch lasts), or the history store."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from synthmon.gate.collect import CohortRunner, CollectError, SideBySide, read_history, suite_dir
from synthmon.gate.errors import GateError
from synthmon.policy import Policy
from synthmon.samples import Sample


@dataclass
class Window:
    """The samples one evaluation judges."""

    canary: list[Sample]
    control: list[Sample]
    elapsed_s: float  # how long they took to gather
    notes: list[str]


class Source(Protocol):
    def start(self, duration_s: float) -> None: ...
    def window(self, now: float, window_s: float) -> Window: ...
    @property
    def alive(self) -> bool: ...
    def stop(self) -> None: ...


class LiveSource:
    """The suite against canary and control, side by side, until stopped or the end."""

    def __init__(self, policy: Policy, scope: str, canary_url: str, control_url: str,
                 suite: str | None = None):
        try:
            cwd = suite_dir(suite)
        except CollectError as exc:
            raise GateError(str(exc)) from exc
        gate = policy.gate
        self.runners = [CohortRunner(url, cohort, scope, cwd, float(gate["pacing_s"]),
                                     float(gate["run_timeout_s"]),
                                     policy_path=str(policy.path))
                        for url, cohort in ((canary_url, "canary"), (control_url, "control"))]
        self.both = SideBySide(self.runners)

    def start(self, duration_s: float) -> None:
        self.both.start(duration_s)

    def join(self) -> None:
        self.both.join()

    @property
    def started_at(self) -> float:
        return self.both.started_at

    @property
    def alive(self) -> bool:
        return self.both.alive

    def window(self, now: float, window_s: float) -> Window:
        since = max(self.both.started_at, now - window_s)
        notes = [f for r in self.runners for f in r.failures[-3:]]
        canary, control = (r.since(since) for r in self.runners)
        return Window(canary, control, max(now - since, 1.0), notes)

    def stop(self) -> None:
        self.both.cancel()

    def keep_samples(self, out: Path) -> None:
        """The samples the decisions were made on, beside them (in summary.json's shape):
        the evidence can be re-read, and a decision replayed offline with --canary-summary
        out/canary.summary.json --control-summary out/control.summary.json."""
        out.mkdir(parents=True, exist_ok=True)
        for runner in self.runners:
            path = out / f"{runner.cohort}.summary.json"
            tmp = path.with_suffix(".tmp")
            data = {"cohort": runner.cohort, "target": runner.url, "runs": runner.runs,
                    "requests": [s.to_dict() for s in runner.since(0.0)]}
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(path)


class HistorySource:
    """The window read back from the history store at each evaluation."""

    def __init__(self, path: Path):
        self.path = path
        self._stopped = threading.Event()

    def start(self, duration_s: float) -> None:
        self._stopped.clear()

    @property
    def alive(self) -> bool:
        return not self._stopped.is_set()

    def window(self, now: float, window_s: float) -> Window:
        try:
            canary = read_history(self.path, now - window_s, now, "canary")
            control = read_history(self.path, now - window_s, now, "control")
        except Exception as exc:  # the store is another process's file: any failure is said
            raise GateError(f"cannot read the history store {self.path}: {exc}") from exc
        return Window(canary, control, window_s, [])

    def stop(self) -> None:
        self._stopped.set()


def wait_until(moment: float, stop: threading.Event, source: Source) -> bool:
    """Sleep until `moment`, waking early when stopped or when the source has ended;
    True when it is time to evaluate, False when stopped."""
    while not stop.is_set():
        left = moment - time.time()
        if left <= 0 or not source.alive:
            return True
        stop.wait(min(left, 0.5))
    return False
