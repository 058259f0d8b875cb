"""Measuring the gate itself: sandboxes started as processes, real windows of suite runs
gathered once, then the decision function replayed on many resampled windows (A/A: the
false-rollback rate) and on the growing real window (time to verdict).

Used by selftests/gate and bench/gate_calibration.py; never by the gate command."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from synthmon.gate.collect import CohortRunner, SideBySide
from synthmon.gate.decide import evaluate
from synthmon.gate.model import Decision, GateInput
from synthmon.policy import Policy, parse_duration
from synthmon.samples import Sample


@dataclass
class Sandbox:
    url: str
    admin_token: str
    process: subprocess.Popen

    def set_faults(self, faults: list[str]) -> None:
        response = requests.put(f"{self.url}/__admin/faults", json={"faults": faults},
                                headers={"X-Admin-Token": self.admin_token}, timeout=5)
        response.raise_for_status()


@contextmanager
def sandbox(cohort: str, faults: list[str] | None = None, timeout_s: float = 30
            ) -> Iterator[Sandbox]:
    """`synthmon sandbox --port 0` as a process; stopped (and killed if need be) on exit."""
    with tempfile.TemporaryDirectory(prefix="synthmon-cal-") as tmp:
        ready = Path(tmp) / "ready.json"
        cmd = [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1",
               "--port", "0", "--ready-file", str(ready), "--cohort", cohort,
               "--build-id", f"cal-{cohort}", "--access-log", os.devnull]
        for fault in faults or []:
            cmd += ["--fault", fault]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            deadline = time.time() + timeout_s
            while not ready.is_file():
                if proc.poll() is not None or time.time() > deadline:
                    err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                    raise RuntimeError(f"sandbox ({cohort}) did not start: {err}")
                time.sleep(0.1)
            info = json.loads(ready.read_text())
            yield Sandbox(info["url"], info["admin_token"], proc)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@dataclass
class Window:
    """One real gate window: the samples of each suite run, per cohort, in time order."""

    canary_runs: list[list[Sample]]
    control_runs: list[list[Sample]]
    started_at: float
    elapsed_s: float


def gather(policy: Policy, canary_url: str, control_url: str, window_s: float,
           scope: str = "", cwd: Path | None = None, pacing_s: float | None = None) -> Window:
    """Run the suite against both cohorts side by side for the window, as the gate does."""
    from synthmon.gate.collect import suite_dir

    root = suite_dir(str(cwd) if cwd else None)
    pace = float(policy.gate.get("pacing_s", 1.0)) if pacing_s is None else pacing_s
    runners = [CohortRunner(url, cohort, scope, root, pace,
                            float(policy.gate.get("run_timeout_s", 300)),
                            policy_path=str(policy.path))
               for url, cohort in ((canary_url, "canary"), (control_url, "control"))]
    both = SideBySide(runners)
    both.start(window_s)
    both.join()
    return Window(_by_run(runners[0].samples), _by_run(runners[1].samples), both.started_at,
                  time.time() - both.started_at)


def _by_run(samples: list[Sample]) -> list[list[Sample]]:
    runs: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        runs[s.run_id].append(s)
    return sorted(runs.values(), key=lambda run: min(s.started_at for s in run))


def decide(policy: Policy, phase: str, canary: list[Sample], control: list[Sample],
           elapsed_s: float) -> Decision:
    conf = policy.phase(phase)
    inp = GateInput(canary=canary, control=control, elapsed_s=elapsed_s, phase=phase,
                    traffic_share=float(conf["traffic_percent"]) / 100,
                    phase_duration_s=parse_duration(conf["duration"]), window_s=elapsed_s,
                    scope=conf["scope"])
    return evaluate(policy, inp)


def false_rollback_rate(policy: Policy, window: Window, resamples: int, seed: int = 1,
                        phase: str = "25") -> tuple[float, dict[str, int]]:
    """A/A: resample whole suite runs (with replacement, as many as the real window had) per
    cohort and count how often the decision says rollback, and which criterion did."""
    rng = random.Random(seed)
    k_c, k_k = len(window.canary_runs), len(window.control_runs)
    trips: dict[str, int] = defaultdict(int)
    rollbacks = 0
    for _ in range(resamples):
        canary = [s for run in rng.choices(window.canary_runs, k=k_c) for s in run]
        control = [s for run in rng.choices(window.control_runs, k=k_k) for s in run]
        d = decide(policy, phase, canary, control, window.elapsed_s)
        if d.verdict == "rollback":
            rollbacks += 1
            for criterion in d.tripped():
                trips[criterion] += 1
    return rollbacks / max(1, resamples), dict(trips)


def time_to_verdict(policy: Policy, window: Window, phase: str = "25"
                    ) -> tuple[str, float | None, Decision]:
    """Replay the real window as it grew, run by run: when did the gate stop saying hold,
    and what did it say. (None: it was still holding at the end.)"""
    last: Decision | None = None
    runs = sorted([("canary", r) for r in window.canary_runs]
                  + [("control", r) for r in window.control_runs],
                  key=lambda item: max(s.started_at for s in item[1]))
    canary: list[Sample] = []
    control: list[Sample] = []
    for cohort, run in runs:
        (canary if cohort == "canary" else control).extend(run)
        t = max(s.started_at + s.total_ms / 1000 for s in run) - window.started_at
        last = decide(policy, phase, canary, control, max(t, 1.0))
        if last.verdict != "hold":
            return last.verdict, t, last
    if last is None:
        last = decide(policy, phase, [], [], window.elapsed_s)
    return last.verdict, None, last
