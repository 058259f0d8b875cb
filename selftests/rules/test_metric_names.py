"""The rules query the metric families, labels and route templates the sandbox really
exposes (docs/api-contract.md): a renamed family or label would make an alert silently
never fire, so this reads a live sandbox's /metrics after a few calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.sandbox_process import running_sandbox

from synthmon.policy import Policy
from synthmon.rules import promql as q

HEADERS = {"User-Agent": "ScholarshipAI-Canary/1.0"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), cohort="canary") as box:
        yield box.url


@pytest.fixture(scope="module")
def samples(sandbox: str) -> dict[str, list[dict[str, str]]]:
    """Exercise a search, a detail, a signup and a failed login, then read /metrics."""
    get = lambda path, **kw: requests.get(f"{sandbox}{path}", headers=HEADERS,  # noqa: E731
                                          params={"e2e": "1"}, timeout=5, **kw)
    items = get("/api/v1/scholarships").json()["items"]
    get(f"/api/v1/scholarships/{items[0]['id']}")
    post = lambda path, body: requests.post(f"{sandbox}{path}", headers=HEADERS,  # noqa: E731
                                            params={"e2e": "1"}, json=body, timeout=5)
    post("/api/v1/auth/signup", {"email": "metrics-names@sandbox.scholarshipai.test",
                                 "password": "metric-names-pass", "role": "student"})
    post("/api/v1/auth/login", {"email": "student@sandbox.scholarshipai.test",
                                "password": "wrong-password-123"})
    text = get("/metrics").text
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, []).append(dict(s.labels))
        found.setdefault(f"# {family.name}", [])
    return found


def _declared(samples: dict[str, list[dict[str, str]]], series: str) -> bool:
    base = series.removesuffix("_total").removesuffix("_bucket").removesuffix("_count")
    return f"# {base}" in samples


@pytest.mark.parametrize("series", [
    q.REQUESTS, q.DURATION_BUCKET, q.BUILD_INFO, q.AUTH_FAILURES, q.WAF_HITS,
    q.PAYMENT_CAPTURES, q.SIGNUP_STARTED, q.SIGNUP_COMPLETED, q.TTV_BUCKET,
])
def test_every_family_the_rules_read_is_exposed(samples, series: str) -> None:
    assert _declared(samples, series), f"the sandbox exposes no {series}"


def test_labels_the_rules_match_on(samples) -> None:
    requests_ = samples[q.REQUESTS]
    assert all({"cohort", "method", "route", "status_class"} <= set(s) for s in requests_)
    buckets = {s["le"] for s in samples[q.DURATION_BUCKET]}
    assert {"0.12", "0.15"} <= buckets, "the 120 ms and 150 ms thresholds need their buckets"
    assert all(s.get("cohort") == "canary" for s in samples[q.BUILD_INFO])
    assert any(s.get("role") == "student" for s in samples[q.SIGNUP_STARTED])
    assert all("reason" in s for s in samples[q.AUTH_FAILURES])


def test_route_labels_are_the_policys_endpoint_templates(samples, policy: Policy) -> None:
    seen = {f"{s['method']} {s['route']}" for s in samples[q.REQUESTS]}
    critical = set(policy.critical_endpoints())
    for endpoint in ("GET /api/v1/scholarships", "GET /api/v1/scholarships/{scholarship_id}",
                     "POST /api/v1/auth/signup", "POST /api/v1/auth/login"):
        assert endpoint in critical and endpoint in seen, (endpoint, sorted(seen))
