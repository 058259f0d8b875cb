"""PromQL building blocks over the sandbox's metric families (docs/api-contract.md).

Only `scholarshipai_http_requests_total` and the latency histogram carry a `cohort` label;
every other family gets it by joining with `scholarshipai_build_info{cohort}` (one series
per scraped instance, value 1). Recorded series follow the `level:metric:operations`
naming convention of the Prometheus docs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

PREFIX = "scholarshipai"
REQUESTS = f"{PREFIX}_http_requests_total"
DURATION_BUCKET = f"{PREFIX}_http_request_duration_seconds_bucket"
BUILD_INFO = f"{PREFIX}_build_info"
AUTH_FAILURES = f"{PREFIX}_auth_failures_total"
WAF_HITS = f"{PREFIX}_waf_rule_hits_total"
PAYMENT_CAPTURES = f"{PREFIX}_payment_captures_total"
SIGNUP_STARTED = f"{PREFIX}_signup_started_total"
SIGNUP_COMPLETED = f"{PREFIX}_signup_completed_total"
TTV_BUCKET = f"{PREFIX}_time_to_value_seconds_bucket"

# The monitor's own OpenTelemetry metrics (synthmon.telemetry.metrics) as Prometheus names
# them on OTLP ingestion: dots become underscores, counters get _total, attributes become
# labels (url.template -> url_template). The sandbox has no schema metric: only the client
# validates responses.
SCHEMA_FAILURES = "synthmon_schema_failures_total"
CLIENT_REQUESTS = "http_client_request_duration_seconds_count"
CLIENT_ENDPOINT = "cohort, http_request_method, url_template"
CLIENT_CRITICAL = 'synthmon_critical="true"'

# The labels that identify one scraped process: the join key to build_info.
INSTANCE_LABELS = "instance, job"

# Windows the rules need: the SRE workbook's burn-rate pairs, plus trend windows.
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
TREND_SHORT = "30m"
TREND_LONG = "1d"

_DURATION_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration: str) -> float:
    """'15m' -> 900.0; the policy and PromQL share this duration syntax."""
    match = _DURATION_RE.match(str(duration).strip())
    if not match:
        raise ValueError(f"{duration!r} is not a duration like 30s, 15m, 2h, 1d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def with_cohort(expr: str) -> str:
    """Give a family without a cohort label the cohort of the instance that exposed it."""
    return f"({expr}) * on ({INSTANCE_LABELS}) group_left (cohort) {BUILD_INFO}"


def record_name(level: str, metric: str, operation: str) -> str:
    return f"{level}:{PREFIX}_{metric}:{operation}"


def canary_vs_control(series: str, op: str) -> str:
    """The canary's series compared with the control's, matched on everything but cohort.

    `op` is `-` for percentage-point comparisons and `/` for relative ones; any other
    labels (route, method) must agree on both sides. `group_left` keeps the left side's
    labels: one-to-one matching would drop `cohort`, and the sample-size guard that
    follows (`and on (cohort)`) would then match nothing.
    """
    return (f'{series}{{cohort="canary"}} {op} ignoring (cohort) group_left () '
            f'{series}{{cohort="control"}}')


def endpoint_selectors(endpoints: Iterable[str]) -> list[str]:
    """Label matchers for a set of "METHOD /route" endpoints, one per method.

    PromQL cannot match (method, route) pairs in one selector; grouping routes by method
    keeps the pairs exact. Raw backtick strings keep the braces of route templates literal.
    """
    by_method: dict[str, list[str]] = defaultdict(list)
    for endpoint in endpoints:
        method, _, route = endpoint.partition(" ")
        by_method[method.upper()].append(re.escape(route))
    return [
        f'method="{method}", route=~`{"|".join(sorted(routes))}`'
        for method, routes in sorted(by_method.items())
    ]


def select_endpoints(series: str, endpoints: Iterable[str], range_: str = "") -> str:
    """`series{...}` restricted to the endpoints, as `rate(...[range_])` when range_ is given;
    several selectors are joined with `or`."""
    parts = [
        f"rate({series}{{{selector}}}[{range_}])" if range_ else f"{series}{{{selector}}}"
        for selector in endpoint_selectors(endpoints)
    ]
    if not parts:
        raise ValueError("no endpoints to select (is any endpoint marked critical in the policy?)")
    return parts[0] if len(parts) == 1 else "(\n    " + "\n    or ".join(parts) + "\n  )"
