"""What the rule builders read from the policy: criteria by id, the SLO, phases, routes.

The policy is the single source of truth (canary-policy.yaml); nothing here holds a
threshold or a query of its own. A missing criterion or query part fails with its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthmon.durations import prometheus_form
from synthmon.policy import Criterion, Policy, PolicyError


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
    # What `{route}` stands for in the criteria's PromQL, as the gate fills it.
    route_regex: str

    def criterion(self, criterion_id: str, *parts: str) -> Criterion:
        """The criterion, which must have these PromQL parts (numerator, value, ...)."""
        try:
            found = self.criteria[criterion_id]
        except KeyError:
            raise PolicyError(
                f"criteria: no criterion with id {criterion_id!r}, which `synthmon rules` "
                f"turns into an alert (known: {', '.join(sorted(self.criteria)) or 'none'})"
            ) from None
        for part in parts:
            if part not in found.promql:
                raise PolicyError(
                    f"criteria ({criterion_id}).promql.{part}: missing; `synthmon rules` "
                    "records the criterion's PromQL and its alert compares this part")
        return found


def read_inputs(policy: Policy, window: str | float | None = None) -> RuleInputs:
    """`window` (a duration, or seconds) overrides the policy's rolling window."""
    data = policy.data
    # PromQL takes whole numbers of one unit: the policy's 1.5m is recorded as 90s.
    phases = tuple(
        Phase(str(name), float(p["traffic_percent"]), prometheus_form(p["duration"]))
        for name, p in data["phases"].items()
    )
    return RuleInputs(
        window=prometheus_form(window if window is not None else data["window"]),
        availability=policy.slo_availability,
        latency_slo_ms=policy.latency_slo_ms,
        budget_period=str(data["slo"]["error_budget_period"]),
        criteria={c.id: c for c in policy.criteria},
        phases=phases,
        route_regex=policy.critical_route_regex(),
    )
