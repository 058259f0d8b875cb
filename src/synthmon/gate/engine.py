"""One evaluation of the gate, the same for `gate`, `gate --watch` and `gate serve`: the
policy, the phase, the window, the baseline, Prometheus and the approvals ledger, turned
into a Decision from a window of samples. An evaluation that fails for any reason is a
Decision with verdict `error` and the reason, never an exception the caller must catch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthmon import durations
from synthmon.gate.approvals import approval_status, ledger_path
from synthmon.gate.baseline_input import BaselineError, load_baseline
from synthmon.gate.decide import evaluate
from synthmon.gate.errors import GateError, describe
from synthmon.gate.model import Baseline, Decision, GateInput
from synthmon.gate.prometheus import PrometheusClient
from synthmon.gate.scope import scope_problem
from synthmon.policy import Policy, PolicyError, load_policy
from synthmon.samples import Sample

_MISSING = ". Approvals missing: "
_ALL_RECORDED = ". Every approval is recorded."


@dataclass
class GateEngine:
    policy: Policy
    phase: str
    window_s: float
    baseline: Baseline | None = None
    notes: list[str] = field(default_factory=list)
    prometheus: PrometheusClient | None = None
    ledger: str | None = None

    @classmethod
    def from_options(cls, policy_path: str | None, phase: str, window: float | None,
                     prometheus_url: str | None, baseline_file: str | None,
                     ledger: str | None) -> GateEngine:
        """The engine the command line describes, or GateError saying what is wrong."""
        try:
            policy = load_policy(policy_path)
            window_s = window if window is not None else policy.window_s
        except PolicyError as exc:
            raise GateError(str(exc)) from exc
        engine = cls(policy, phase, window_s, ledger=ledger)
        engine.phase_conf(phase)  # an unknown phase or a bad scope fails before any work
        engine.baseline, engine.notes = _baseline(baseline_file)
        if prometheus_url:
            engine.prometheus = PrometheusClient(
                prometheus_url, float(policy.gate["prometheus_timeout_s"]))
        return engine

    def phase_conf(self, phase: str | None = None) -> dict[str, Any]:
        name = self.phase if phase is None else phase
        try:
            conf = self.policy.phase(name)
        except PolicyError as exc:
            raise GateError(str(exc)) from exc
        problem = scope_problem(conf["scope"])
        if problem:
            raise GateError(f"{self.policy.path}: phases.{name}.scope: {problem}")
        return conf

    @property
    def phases(self) -> list[str]:
        return [str(name) for name in self.policy.data.get("phases", {})]

    def decide(self, canary: list[Sample], control: list[Sample], elapsed_s: float,
               extra_notes: list[str] | None = None, phase: str | None = None) -> Decision:
        name = self.phase if phase is None else phase
        conf = self.phase_conf(name)
        inp = GateInput(
            canary=canary, control=control, elapsed_s=elapsed_s, phase=name,
            traffic_share=float(conf["traffic_percent"]) / 100,
            phase_duration_s=durations.parse(conf["duration"]),
            window_s=self.window_s, baseline=self.baseline, scope=conf["scope"],
            notes=self.notes + (extra_notes or []))
        decision = evaluate(self.policy, inp, self.prometheus)
        self.apply_approvals(decision)
        return decision

    def apply_approvals(self, decision: Decision) -> None:
        """Who has said go for the decision's phase (and its canary build), from the ledger
        as it is now; a go's summary ends saying who is still missing."""
        builds = decision.inputs.get("canary_builds", [])
        status = approval_status(self.ledger_file, decision.phase, self.policy.approvals,
                                 builds[0] if len(builds) == 1 else None)
        decision.approvals = status
        if decision.verdict == "go":
            base = decision.summary.split(_MISSING)[0].removesuffix(_ALL_RECORDED)
            decision.summary = base + (_MISSING + ", ".join(status["missing"])
                                       if status["missing"] else _ALL_RECORDED)

    @property
    def ledger_file(self) -> Path:
        return ledger_path(str(self.policy.path), self.ledger)

    def evaluate(self, canary: list[Sample], control: list[Sample], elapsed_s: float,
                 extra_notes: list[str] | None = None, phase: str | None = None,
                 debug_dir: Path | None = None, fresh: bool = True) -> Decision:
        """decide(), with any failure turned into a Decision with verdict `error`. `fresh`
        False: the same window judged again for another phase, so Prometheus' answers of
        the evaluation just made are reused rather than asked for again."""
        name = self.phase if phase is None else phase
        if self.prometheus is not None and fresh:
            self.prometheus.reset()
            self.prometheus.probe()
        try:
            return self.decide(canary, control, elapsed_s, extra_notes, name)
        except GateError as exc:
            return Decision.failed(name, exc.message)
        except Exception as exc:
            return Decision.failed(name, describe(exc, debug_dir))


def _baseline(path: str | None) -> tuple[Baseline | None, list[str]]:
    if not path:
        return None, ["No --baseline given: the 'vs baseline' criteria compare with the control."]
    if not Path(path).is_file():
        return None, [f"Baseline {path} does not exist: the 'vs baseline' criteria compare "
                      "with the control."]
    try:
        return load_baseline(path), []
    except BaselineError as exc:
        raise GateError(str(exc)) from exc
