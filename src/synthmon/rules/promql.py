"""PromQL building blocks of the rules: recorded-series names, windows, comparisons.

Every criterion's query comes from the policy (rendered by synthmon.promql_templates, as
the gate renders it); what is written here is how the rules compare the recorded series.
Recorded series follow the `level:metric:operations` naming convention of the Prometheus
docs: the level names the labels a series keeps, the metric the criterion.
"""

from __future__ import annotations

from synthmon import durations
from synthmon.policy import Criterion
from synthmon.promql_templates import output_labels

# The trend windows (the burn-rate windows come from the policy's alerting.slo_burn).
TREND_SHORT = "30m"
TREND_LONG = "1d"

# The criteria whose queries the trend tickets follow over TREND_SHORT and TREND_LONG, and
# the one whose bad and total events are the availability SLO's (burn rates, phase budget).
TRENDED = ("http_5xx_rate", "http_4xx_non_user_rate", "schema_failure_rate",
           "latency_p95_critical")
# The criterion whose threshold is a P95 per critical endpoint (larger budgets win).
CRITICAL_LATENCY = "latency_p95_critical"
ERROR_BUDGET = "error_budget_burn"
# The latency SLO's recorded series carry this name (it is no rollback criterion).
LATENCY_SLO = "latency_slo"

# The parts of a criterion's PromQL that are recorded as they are; `ratio` is recorded from
# the numerator and denominator.
PARTS = ("numerator", "denominator", "value", "count")
RATIO = "ratio"


def canonical(window: str) -> str:
    """One name per length (60m and 1h are both 1h): a window is recorded once."""
    return durations.prometheus_form(durations.parse(window))


def by_length(windows: set[str]) -> list[str]:
    """Canonical and shortest first."""
    return sorted({canonical(w) for w in windows}, key=durations.parse)


def labels_of(criterion: Criterion, part: str) -> tuple[str, ...]:
    """The labels besides `cohort` that a recorded part of the criterion keeps (a ratio keeps
    its numerator's)."""
    source = "numerator" if part == RATIO else part
    return output_labels(criterion.promql[source])


def record_name(criterion: Criterion, part: str, window: str) -> str:
    level = "_".join(("cohort", *labels_of(criterion, part)))
    return f"{level}:synthmon_{criterion.id}:{part}{canonical(window)}"


def limit_name(criterion: Criterion) -> str:
    """The recorded per-endpoint limit of a criterion (a constant per method and route)."""
    return f"method_route:synthmon_{criterion.id}:limit_ms"


def match_on(criterion: Criterion, part: str) -> str:
    """`on (cohort, ...)`: the labels a sample-size guard joins an alert's series on."""
    return f"on ({', '.join(('cohort', *labels_of(criterion, part)))})"


def canary_vs_control(series: str, op: str) -> str:
    """The canary's series compared with the control's, matched on everything but cohort.

    `op` is `-` for percentage-point comparisons and `/` for relative ones; any other
    labels (route, method) must agree on both sides. `group_left` keeps the left side's
    labels: one-to-one matching would drop `cohort`, and the sample-size guard that
    follows (`and on (cohort)`) would then match nothing.
    """
    return (f'{series}{{cohort="canary"}} {op} ignoring (cohort) group_left () '
            f'{series}{{cohort="control"}}')
