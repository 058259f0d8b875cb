"""What the gate decides with and what it decides: inputs, a result per criterion, a decision."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from synthmon.samples import Sample

Verdict = Literal["go", "rollback", "hold", "not_applicable"]
# What a whole evaluation says. `error`: the gate could not evaluate (bad options, an
# unreadable policy, a crash); it has its own exit so that no caller reads it as a hold
# (wait and ask again) or a rollback (move traffic).
Outcome = Literal["go", "rollback", "hold", "error"]
EXIT_GO, EXIT_ROLLBACK, EXIT_HOLD, EXIT_ERROR = 0, 1, 2, 3
EXIT_CODES = {"go": EXIT_GO, "rollback": EXIT_ROLLBACK, "hold": EXIT_HOLD, "error": EXIT_ERROR}


@dataclass(frozen=True, slots=True)
class BaselineEndpoint:
    p95_ms: float
    count: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the gate needs of baseline.json: P95 per critical endpoint, and the rates the
    'vs baseline' criteria compare with when the baseline recorded them."""

    path: str
    endpoints: dict[str, BaselineEndpoint]
    rates: dict[str, tuple[int, int]] = field(default_factory=dict)  # metric -> (events, n)
    build_id: str = ""


@dataclass(slots=True)
class GateInput:
    canary: list[Sample]
    control: list[Sample]
    elapsed_s: float  # how long the samples took to gather: turns 'N more requests' into minutes
    phase: str
    traffic_share: float  # 0..1
    phase_duration_s: float
    window_s: float
    baseline: Baseline | None = None
    scope: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CriterionResult:
    id: str
    title: str
    source: str
    comparison: str
    verdict: Verdict
    reason: str
    threshold: float
    threshold_text: str
    unit: str
    canary_value: float | None = None
    reference_value: float | None = None
    reference: str = "none"  # control | baseline | none
    samples: dict[str, int] = field(default_factory=dict)
    min_samples: int = 0
    min_runs: int = 0  # independent suite runs per cohort (run-level tests only)
    bound: dict[str, Any] = field(default_factory=dict)  # lower, upper, confidence, of what
    needs: dict[str, float] = field(default_factory=dict)  # requests, minutes
    evidence: dict[str, Any] = field(default_factory=dict)
    metric: str = ""  # the policy's metric: how the value and bound read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Decision:
    verdict: Outcome
    summary: str
    phase: str
    criteria: list[CriterionResult]
    generated_at: str
    inputs: dict[str, Any] = field(default_factory=dict)
    approvals: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # reported beside the criteria, never deciding: schema drift (gate/drift.py)
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def by_id(self, criterion_id: str) -> CriterionResult:
        return next(c for c in self.criteria if c.id == criterion_id)

    def tripped(self) -> list[str]:
        return [c.id for c in self.criteria if c.verdict == "rollback"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["tripped"] = self.tripped()
        return data

    @classmethod
    def failed(cls, phase: str, reason: str, inputs: dict[str, Any] | None = None) -> Decision:
        """The decision of an evaluation that could not be made: no criteria, the reason."""
        return cls(verdict="error", summary=f"ERROR: the gate could not evaluate: {reason}",
                   phase=phase, criteria=[], inputs=dict(inputs or {}),
                   generated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
