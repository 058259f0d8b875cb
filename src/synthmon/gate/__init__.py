"""The release gate: canary vs control (and baseline, and Prometheus) -> go, rollback or hold.

Public surface: `evaluate` (the decision function), the models, and the two commands,
`gate_command` and `approve_command`, which the CLI imports lazily."""

from synthmon.gate.decide import evaluate
from synthmon.gate.model import Baseline, CriterionResult, Decision, GateInput

__all__ = ["Baseline", "CriterionResult", "Decision", "GateInput", "evaluate"]
