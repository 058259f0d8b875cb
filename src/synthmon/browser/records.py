"""Browser steps and Web Vitals as Samples: the same shape every later stage reads.

A step sample is `STEP <step name>`, its total_ms the step's duration; a vital sample is
`<VITAL> <page template>` (`LCP /scholarships/{scholarship_id}`), its total_ms the vital's
value in its unit (ms, or the unitless score of CLS). Both carry the status of the page's
document, the run's tags (device included) and a synthetic id of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from synthmon.policy import Budget
from synthmon.run_context import RunContext
from synthmon.samples import Sample, SampleKind
from synthmon.suite.budgets import verdict


@dataclass(frozen=True, slots=True)
class CheckInfo:
    nodeid: str
    critical: bool


def browser_sample(context: RunContext, check: CheckInfo, *, kind: SampleKind, name: str,
                   route: str, value: float, unit: str, budget: Budget, status: int | None,
                   synthetic_id: str, trace_id: str, span_id: str, started_at: float | None = None,
                   error_type: str | None = None) -> Sample:
    return Sample(
        run_id=context.run_id, check=check.nodeid, method=name, route=route, status=status,
        total_ms=round(value, 4 if unit == "score" else 3), ttfb_ms=None, schema_ok=None,
        schema_error=None, budget_ms=budget.budget_ms, hard_limit_ms=budget.hard_limit_ms,
        budget_verdict=verdict(value, budget), synthetic_id=synthetic_id, trace_id=trace_id,
        span_id=span_id, started_at=time.time() if started_at is None else started_at,
        target=context.target, cohort=context.cohort, region=context.region,
        device=context.device, build_id=context.build_id, git_sha=context.git_sha,
        critical=check.critical, error_type=error_type, kind=kind, unit=unit)


def format_value(value: float, unit: str) -> str:
    return f"{value:.3f}" if unit == "score" else f"{value:.0f} ms"
