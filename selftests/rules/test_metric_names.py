"""The policy's PromQL (which the gate sends and the rules record) queries the metric
families, labels and route templates the sandbox really exposes (docs/api-contract.md): a
renamed family or label would make an alert and a gate criterion silently blind, so this
reads a live sandbox's /metrics after a few calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from synthmon.policy import Policy, load_policy
from synthmon.sandbox_process import running_sandbox

REPO = Path(__file__).resolve().parents[2]

HEADERS = {"User-Agent": "ScholarshipAI-Canary/1.0"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), cohort="canary") as box:
        yield box.url


@pytest.fixture(scope="module")
def samples(sandbox: str) -> dict[str, list[dict[str, str]]]:
    """Exercise a search, a detail, a signup, a failed login, a WAF probe, a checkout and a
    first draft, then read /metrics: every family the policy queries has a sample to read
    labels from."""
    get = lambda path, **kw: requests.get(f"{sandbox}{path}", headers=HEADERS,  # noqa: E731
                                          params={"e2e": "1", **kw.pop("params", {})},
                                          timeout=5, **kw)
    post = lambda path, body, **kw: requests.post(  # noqa: E731
        f"{sandbox}{path}", headers={**HEADERS, **kw.pop("headers", {})}, params={"e2e": "1"},
        json=body, timeout=5, **kw)
    items = get("/api/v1/scholarships").json()["items"]
    get(f"/api/v1/scholarships/{items[0]['id']}")
    get("/api/v1/scholarships", params={"q": "' or 1=1"})  # the WAF's sql-injection rule
    account = {"email": "metrics-names@sandbox.scholarshipai.test",
               "password": "metric-names-pass", "role": "student"}
    post("/api/v1/auth/signup", account)
    post("/api/v1/auth/login", {"email": "student@sandbox.scholarshipai.test",
                                "password": "wrong-password-123"})
    token = post("/api/v1/auth/login", {k: account[k] for k in ("email", "password")}
                 ).json()["access_token"]
    plan = get("/api/v1/pricing").json()["plans"][0]["id"]
    checkout = post("/api/v1/checkout", {"plan_id": plan, "payment_token": "tok_sandbox_visa"},
                    headers={"Authorization": f"Bearer {token}"})
    assert checkout.status_code == 201, checkout.text
    application = post("/api/v1/applications", {"scholarship_id": items[0]["id"]},
                       headers={"Authorization": f"Bearer {token}"}).json()["id"]
    draft = requests.put(f"{sandbox}/api/v1/applications/{application}/draft",
                         headers={**HEADERS, "Authorization": f"Bearer {token}"},
                         params={"e2e": "1"}, json={"version": 0, "content": {"essay": "x"}},
                         timeout=5)  # the first saved draft: time to value
    assert draft.status_code == 200, draft.text
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


def selectors(policy: Policy) -> dict[str, set[str]]:
    """family -> the labels the criteria's PromQL matches it on (cohort, route and window
    filled in as the gate and the rules fill them)."""
    found: dict[str, set[str]] = {}
    for criterion in policy.criteria:
        for part in criterion.promql:
            query = criterion.query(part, "canary", "1m", ".*")
            for family, matchers in re.findall(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", query):
                labels = {m.split("=")[0].rstrip("!~").strip() for m in matchers.split(",")}
                found.setdefault(family, set()).update(labels)
    return found


QUERIED = selectors(load_policy(REPO / "canary-policy.yaml"))
# The monitor's own metrics (OTLP, synthmon.telemetry.metrics): not the target's to expose.
MONITOR_FAMILIES = {"synthmon_schema_failures_total", "http_client_request_duration_seconds_count"}


def test_the_policy_queries_the_target_and_the_monitor_only() -> None:
    others = {f for f in QUERIED if not f.startswith("scholarshipai_")}
    assert others == MONITOR_FAMILIES


@pytest.mark.parametrize("series", sorted(f for f in QUERIED if f.startswith("scholarshipai_")))
def test_every_family_the_policy_queries_is_exposed(samples, series: str) -> None:
    assert _declared(samples, series), f"the sandbox exposes no {series}"


@pytest.mark.parametrize("series", sorted(f for f in QUERIED if f.startswith("scholarshipai_")))
def test_every_label_the_policy_matches_on_is_exposed(samples, series: str) -> None:
    # cohort: the scrape config's target label gives every family one.
    exposed = samples.get(series, [])
    assert exposed, f"no sample of {series} after the fixture's calls"
    labels = set().union(*(set(s) for s in exposed)) | {"cohort"}
    assert QUERIED[series] <= labels, (series, sorted(QUERIED[series] - labels))


def test_labels_the_rules_compare_on(samples) -> None:
    requests_ = samples["scholarshipai_http_requests_total"]
    assert all({"cohort", "method", "route", "status_class"} <= set(s) for s in requests_)
    buckets = {s["le"] for s in samples["scholarshipai_http_request_duration_seconds_bucket"]}
    assert {"0.12", "0.15"} <= buckets, "the 120 ms and 150 ms thresholds need their buckets"
    assert all(s.get("cohort") == "canary" for s in samples["scholarshipai_build_info"])
    assert any(s.get("role") == "student" for s in samples["scholarshipai_signup_started_total"])
    assert all("reason" in s for s in samples["scholarshipai_auth_failures_total"])


def test_route_labels_are_the_policys_endpoint_templates(samples, policy: Policy) -> None:
    seen = {f"{s['method']} {s['route']}" for s in samples["scholarshipai_http_requests_total"]}
    critical = set(policy.critical_endpoints())
    for endpoint in ("GET /api/v1/scholarships", "GET /api/v1/scholarships/{scholarship_id}",
                     "POST /api/v1/auth/signup", "POST /api/v1/auth/login"):
        assert endpoint in critical and endpoint in seen, (endpoint, sorted(seen))
