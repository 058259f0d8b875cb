"""The verdict as `GET /api/v1/verdict` serves it: a stable, documented shape
(schemas/gate-verdict.schema.json) built from a Decision, for Argo Rollouts' web provider,
Flagger's webhooks, dashboards and scripts. Numbers that are not finite are null (the
reason says why); everything else is as decision.json has it."""

from __future__ import annotations

import math
from typing import Any

from synthmon.gate.model import CriterionResult, Decision

DOCUMENT_VERSION = 1
SCHEMA_FILE = "gate-verdict.schema.json"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _clean(value: Any) -> Any:
    """Non-finite floats -> None, recursively, so the JSON is strict."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def criterion_document(r: CriterionResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "source": r.source,
        "verdict": r.verdict,
        "reason": r.reason,
        "value": _number(r.canary_value),
        "unit": r.unit,
        "reference": {"kind": r.reference, "value": _number(r.reference_value)},
        "threshold": {"value": _number(r.threshold), "text": r.threshold_text,
                      "comparison": r.comparison},
        "bound": _clean(r.bound),
        "n": dict(r.samples),
        "minimum": {"samples": r.min_samples, "runs": r.min_runs},
        "needed": _clean(r.needs),
        "evidence": _clean(r.evidence),
    }


def verdict_document(decision: Decision, served_phase: str, evaluation: int,
                     evaluated_at: float) -> dict[str, Any]:
    inputs = decision.inputs
    approvals = decision.approvals or {}
    return {
        "version": DOCUMENT_VERSION,
        "verdict": decision.verdict,
        "phase": decision.phase,
        "served_phase": served_phase,
        "summary": decision.summary,
        "evaluated_at": decision.generated_at,
        "evaluated_at_unix": round(evaluated_at, 3),
        "evaluation": evaluation,
        "exit_code": decision.exit_code,
        "window": {
            "seconds": _number(inputs.get("window_s")),
            "gathered_s": _number(inputs.get("elapsed_s")),
            "scope": inputs.get("scope", ""),
            "traffic_share": _number(inputs.get("traffic_share")),
            "canary_samples": inputs.get("canary_samples", 0),
            "control_samples": inputs.get("control_samples", 0),
        },
        "builds": {"canary": list(inputs.get("canary_builds", [])),
                   "control": list(inputs.get("control_builds", []))},
        "tripped": decision.tripped(),
        "criteria": [criterion_document(r) for r in decision.criteria],
        "approvals": {
            "required": list(approvals.get("required", [])),
            "recorded": [{"role": role, **_clean(entry)}
                         for role, entry in approvals.get("given", {}).items()],
            "missing": list(approvals.get("missing", [])),
        },
        "notes": list(decision.notes),
    }
