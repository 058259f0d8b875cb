"""What the rule builders read from the policy: criteria by id, the SLO, phases, endpoints.

The policy is the single source of truth (canary-policy.yaml); nothing here holds a
threshold of its own. A missing criterion or field fails with the field's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthmon.policy import Policy, PolicyError
from synthmon.rules.promql import seconds


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    title: str
    comparison: str
    threshold: float
    unit: str
    min_samples: int


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    traffic_percent: float
    duration: str


@dataclass(frozen=True, slots=True)
class RuleInputs:
    window: str
    availability: float
    latency_slo_ms: float
    budget_period: str
    criteria: dict[str, Criterion]
    phases: tuple[Phase, ...]
    critical_endpoints: tuple[str, ...]

    def criterion(self, criterion_id: str) -> Criterion:
        try:
            return self.criteria[criterion_id]
        except KeyError:
            raise PolicyError(
                f"criteria: no criterion with id {criterion_id!r}, which `synthmon rules` "
                f"turns into an alert (known: {', '.join(sorted(self.criteria)) or 'none'})"
            ) from None


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise PolicyError(f"{where}.{key}: missing (the rules need it)")
    return mapping[key]


def read_inputs(policy: Policy, window: str | None = None) -> RuleInputs:
    data = policy.data
    slo = _require(data, "slo", "policy")
    criteria: dict[str, Criterion] = {}
    for index, raw in enumerate(data.get("criteria") or []):
        where = f"criteria[{index}]"
        criteria[str(_require(raw, "id", where))] = Criterion(
            id=str(raw["id"]),
            title=str(raw.get("title", raw["id"])),
            comparison=str(_require(raw, "comparison", where)),
            threshold=float(_require(raw, "threshold", where)),
            unit=str(raw.get("unit", "ratio")),
            min_samples=int(raw.get("min_samples", 1)),
        )
    phases = tuple(
        Phase(str(name), float(p.get("traffic_percent", 0)), str(p.get("duration", "0m")))
        for name, p in (data.get("phases") or {}).items()
    )
    endpoints = (data.get("budgets") or {}).get("endpoints") or {}
    critical = tuple(sorted(k for k, v in endpoints.items() if (v or {}).get("critical")))
    chosen = str(window or _require(data, "window", "policy"))
    seconds(chosen)  # fail early on a malformed window, naming it
    return RuleInputs(
        window=chosen,
        availability=float(_require(slo, "availability", "slo")),
        latency_slo_ms=float(_require(slo, "latency_p95_ms", "slo")),
        budget_period=str(slo.get("error_budget_period", "7d")),
        criteria=criteria,
        phases=phases,
        critical_endpoints=critical,
    )
