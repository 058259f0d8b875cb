"""Health: liveness, readiness and the metrics the SLO and the gate are computed from."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.health, pytest.mark.critical]

# The families the SLO dashboards, the rules and the gate read (docs/api-contract.md).
REQUIRED_FAMILIES = {
    "scholarshipai_http_requests_total",
    "scholarshipai_http_request_duration_seconds",
    "scholarshipai_slo_availability_target_ratio",
    "scholarshipai_slo_availability_ratio",
    "scholarshipai_slo_error_budget_remaining_ratio",
    "scholarshipai_build_info",
}
# The canary's two latency lines: the SLO (~120 ms) and the rollback trigger (150 ms).
REQUIRED_BUCKETS = {0.12, 0.15}


def test_health_is_ok(api):
    api.get("/health", expect=200, schema="health")


def test_ready_with_every_dependency_ok(api):
    api.get("/ready", expect=200, schema="ready")


def test_metrics_expose_the_slo_families(api):
    resp = api.get("/metrics", expect=200)
    resp.ensure(resp.headers.get("Content-Type", "").startswith("text/plain"),
                "the Prometheus text exposition (text/plain)")
    try:
        families = list(text_string_to_metric_families(resp.text))
    except ValueError as exc:
        resp.ensure(False, f"a parseable Prometheus exposition ({exc})")
    names = {s.name for f in families for s in f.samples} | {f.name for f in families}
    missing = sorted(REQUIRED_FAMILIES - names)
    resp.ensure(not missing, f"the SLO families, missing {', '.join(missing)}")
    buckets = {float(s.labels["le"]) for f in families for s in f.samples
               if s.name == "scholarshipai_http_request_duration_seconds_bucket"}
    absent = sorted(REQUIRED_BUCKETS - buckets)
    resp.ensure(not absent, f"latency buckets at 0.12 s and 0.15 s, missing {absent}")
    info = [s.labels for f in families for s in f.samples if s.name == "scholarshipai_build_info"]
    resp.ensure(info and all(labels.get("build_id") and labels.get("git_sha") for labels in info),
                "scholarshipai_build_info with build_id and git_sha labels")
