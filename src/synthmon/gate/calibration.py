"""Measuring the gate itself: sandboxes started as processes, real windows of suite runs
gathered once, then the decision function replayed on many windows drawn from them without
replacement (A/A: the false-rollback rate, next to the disjoint real windows the pool cuts
into) and on the growing real window (time to verdict).

Used by selftests/gate and bench/gate_calibration.py; never by the gate command."""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from synthmon import durations
from synthmon.gate.collect import CohortRunner, SideBySide
from synthmon.gate.decide import evaluate
from synthmon.gate.model import Decision, GateInput
from synthmon.policy import Policy
from synthmon.samples import Sample
from synthmon.sandbox_process import SandboxProcess, running_sandbox


@contextmanager
def sandbox(cohort: str, faults: list[str] | None = None, timeout_s: float = 30
            ) -> Iterator[SandboxProcess]:
    """A `synthmon sandbox` of this cohort (build `cal-<cohort>`); stopped on exit."""
    with running_sandbox(None, faults=faults or (), cohort=cohort, build_id=f"cal-{cohort}",
                         access_log=os.devnull, timeout=timeout_s) as box:
        yield box


@dataclass
class Window:
    """One real gate window: the samples of each suite run, per cohort, in time order."""

    canary_runs: list[list[Sample]]
    control_runs: list[list[Sample]]
    started_at: float
    elapsed_s: float

    @classmethod
    def from_samples(cls, canary: list[Sample], control: list[Sample]) -> Window:
        """A window from samples read back (a gate run's kept samples, summary files)."""
        starts = [s.started_at for s in canary + control] or [0.0]
        ends = [s.started_at + s.total_ms / 1000 for s in canary + control] or [0.0]
        return cls(_by_run(canary), _by_run(control), min(starts), max(ends) - min(starts))


def _side_by_side(policy: Policy, canary_url: str, control_url: str, scope: str,
                  cwd: Path | None, pacing_s: float | None) -> SideBySide:
    from synthmon.gate.collect import suite_dir

    root = suite_dir(str(cwd) if cwd else None)
    pace = float(policy.gate["pacing_s"]) if pacing_s is None else pacing_s
    return SideBySide([CohortRunner(url, cohort, scope, root, pace,
                                    float(policy.gate["run_timeout_s"]),
                                    policy_path=str(policy.path))
                       for url, cohort in ((canary_url, "canary"), (control_url, "control"))])


def _window(both: SideBySide) -> Window:
    canary, control = both.runners
    return Window(_by_run(canary.samples), _by_run(control.samples), both.started_at,
                  time.time() - both.started_at)


def gather(policy: Policy, canary_url: str, control_url: str, window_s: float,
           scope: str = "", cwd: Path | None = None, pacing_s: float | None = None) -> Window:
    """Run the suite against both cohorts side by side for the window, as the gate does."""
    both = _side_by_side(policy, canary_url, control_url, scope, cwd, pacing_s)
    both.start(window_s)
    both.join()
    return _window(both)


def gather_runs(policy: Policy, canary_url: str, control_url: str, runs: int,
                ceiling_s: float, scope: str = "", cwd: Path | None = None,
                pacing_s: float | None = None) -> Window:
    """As gather(), but until each cohort has finished `runs` suite runs (a busy host runs
    fewer per minute), or `ceiling_s` has passed: whichever comes first."""
    both = _side_by_side(policy, canary_url, control_url, scope, cwd, pacing_s)
    both.start(ceiling_s)
    try:
        while both.alive and min(len(_by_run(r.since(0.0))) for r in both.runners) < runs:
            time.sleep(0.5)
    finally:
        both.stop.set()  # let the runs under way finish: they count
        both.join()
    return _window(both)


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
                    phase_duration_s=durations.parse(conf["duration"]), window_s=elapsed_s,
                    scope=conf["scope"])
    return evaluate(policy, inp)


@dataclass
class AAResult:
    """What an A/A calibration measured, with what it rests on."""

    rate: float  # rollbacks / windows
    rollbacks: int
    windows: int  # resampled windows evaluated
    distinct_windows: int  # of which distinct (the same runs drawn twice count once)
    runs_per_window: int  # per cohort
    pool_runs: tuple[int, int]  # real runs gathered: canary, control
    trips: dict[str, int]  # criterion -> windows it tripped in
    disjoint_windows: int  # windows cut from the pool without sharing a run
    disjoint_rollbacks: int

    def describe(self) -> str:
        return (f"false-rollback rate {self.rate:.2%} ({self.rollbacks}/{self.windows} "
                f"windows, {self.distinct_windows} distinct, {self.runs_per_window} runs per "
                f"cohort each, drawn without replacement from {self.pool_runs[0]} canary and "
                f"{self.pool_runs[1]} control real runs); {self.disjoint_rollbacks}/"
                f"{self.disjoint_windows} disjoint real windows rolled back"
                + (f"; tripped {self.trips}" if self.trips else ""))


def smallest_deciding_window(policy: Policy) -> int:
    """Runs per cohort of the smallest window every run-level criterion may decide on:
    the noisiest window the gate ever rolls back on, so the one to calibrate."""
    return max([c.min_runs for c in policy.criteria] + [2])


def false_rollback_rate(policy: Policy, window: Window, resamples: int, seed: int = 1,
                        phase: str = "25", runs_per_window: int | None = None) -> AAResult:
    """A/A: how often the decision says rollback on windows of healthy runs, and which
    criterion did.

    Each resampled window is `runs_per_window` runs per cohort (default: the smallest window
    the run-level latency test decides on), drawn WITHOUT replacement from that cohort's
    real runs. Never with replacement: a run drawn twice would enter the run-level test
    twice, a tie and a fake extra independent observation, which is exactly the error the
    test exists to avoid. Canary runs stay canary and control runs stay control, so a real
    difference between the two processes counts against the gate, as it would in
    production. The resampled windows share runs with each other (they are not
    independent of one another: the rate rests on the pool's real runs, reported with it);
    the pool is also cut into disjoint real windows, reported alongside as a check that
    needs no resampling at all."""
    k = runs_per_window or smallest_deciding_window(policy)
    pool_c, pool_k = window.canary_runs, window.control_runs
    if min(len(pool_c), len(pool_k)) <= k:
        raise ValueError(f"A/A calibration needs more than {k} real runs per cohort to draw "
                         f"windows of {k} from; got {len(pool_c)} canary and {len(pool_k)} "
                         "control runs: gather a longer window")
    per_run_s = window.elapsed_s / max(len(pool_c), len(pool_k))
    elapsed = max(1.0, per_run_s * k)

    def judge(c_runs: list[list[Sample]], k_runs: list[list[Sample]]) -> Decision:
        return decide(policy, phase, [s for run in c_runs for s in run],
                      [s for run in k_runs for s in run], elapsed)

    rng = random.Random(seed)
    trips: dict[str, int] = defaultdict(int)
    rollbacks = 0
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    for _ in range(resamples):
        ic = tuple(sorted(rng.sample(range(len(pool_c)), k)))
        ik = tuple(sorted(rng.sample(range(len(pool_k)), k)))
        seen.add((ic, ik))
        d = judge([pool_c[i] for i in ic], [pool_k[i] for i in ik])
        if d.verdict == "rollback":
            rollbacks += 1
            for criterion in d.tripped():
                trips[criterion] += 1
    disjoint = min(len(pool_c), len(pool_k)) // k
    disjoint_rollbacks = sum(
        judge(pool_c[i * k:(i + 1) * k], pool_k[i * k:(i + 1) * k]).verdict == "rollback"
        for i in range(disjoint))
    return AAResult(rollbacks / max(1, resamples), rollbacks, resamples, len(seen), k,
                    (len(pool_c), len(pool_k)), dict(trips), disjoint, disjoint_rollbacks)


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
