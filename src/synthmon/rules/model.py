"""What the rule builders read from the policy: criteria by id, the SLO, phases, routes.

The policy is the single source of truth (canary-policy.yaml); nothing here holds a
threshold or a query of its own. A missing criterion or query part fails with its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthmon.alerting.settings import AlertingSettings, read_alerting
from synthmon.durations import prometheus_form
from synthmon.policy import Criterion, Policy, PolicyError
from synthmon.rules.promql import CRITICAL_LATENCY, LATENCY_SLO

# A P95 target: at most this share of requests may be slower than the SLO's latency.
P95_ALLOWED_SLOW = 0.05


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
    alerting: AlertingSettings
    # The latency SLO's slow and all requests (alerting.slo_burn.latency.promql), shaped as a
    # criterion so that it is recorded like one; its threshold is the share allowed slow.
    latency_slo: Criterion
    # 'METHOD /route' -> the P95 limit of each critical endpoint (Policy.p95_limits_ms): the
    # gate judges by the same numbers.
    p95_limits_ms: dict[str, float]

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


def _latency_slo(alerting: AlertingSettings, latency_slo_ms: float) -> Criterion:
    numerator = alerting.latency_promql["numerator"]
    buckets = {float(le) for le in re.findall(r'le="([0-9.eE+-]+)"', numerator)}
    if buckets != {latency_slo_ms / 1000}:
        raise PolicyError(
            "alerting.slo_burn.latency.promql.numerator: its le bucket "
            f"({', '.join(f'{b:g}' for b in sorted(buckets)) or 'none'}) must be the SLO's "
            f"latency, le=\"{latency_slo_ms / 1000:g}\" (slo.latency_p95_ms: {latency_slo_ms:g})")
    return Criterion(
        id=LATENCY_SLO, title=f"requests slower than {latency_slo_ms:g} ms",
        source="prometheus", metric="latency_slo", comparison="absolute",
        threshold=P95_ALLOWED_SLOW, unit="ratio", min_samples=alerting.burn_min_requests,
        promql=dict(alerting.latency_promql), min_runs=0, markers=(), early_rollback=False)


def read_inputs(policy: Policy, window: str | float | None = None) -> RuleInputs:
    """`window` (a duration, or seconds) overrides the policy's rolling window."""
    data = policy.data
    # PromQL takes whole numbers of one unit: the policy's 1.5m is recorded as 90s.
    phases = tuple(
        Phase(str(name), float(p["traffic_percent"]), prometheus_form(p["duration"]))
        for name, p in data["phases"].items()
    )
    alerting = read_alerting(policy)
    critical_latency = next((c for c in policy.criteria if c.id == CRITICAL_LATENCY), None)
    return RuleInputs(
        window=prometheus_form(window if window is not None else data["window"]),
        availability=policy.slo_availability,
        latency_slo_ms=policy.latency_slo_ms,
        budget_period=str(data["slo"]["error_budget_period"]),
        criteria={c.id: c for c in policy.criteria},
        phases=phases,
        route_regex=policy.critical_route_regex(),
        alerting=alerting,
        latency_slo=_latency_slo(alerting, policy.latency_slo_ms),
        p95_limits_ms=(policy.p95_limits_ms(critical_latency.threshold)
                       if critical_latency else {}),
    )
