"""The health module on its own: two lines mount it on any Starlette app, and the metric
families of the contract come out of a real sandbox."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from .conftest import STUDENT, Api, Faults

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FAMILIES = [
    "scholarshipai_http_requests_total", "scholarshipai_http_request_duration_seconds_bucket",
    "scholarshipai_slo_availability_target_ratio", "scholarshipai_slo_availability_ratio",
    "scholarshipai_slo_error_budget_remaining_ratio", "scholarshipai_build_info",
    "scholarshipai_signup_started_total", "scholarshipai_signup_completed_total",
    "scholarshipai_time_to_value_seconds", "scholarshipai_auth_failures_total",
    "scholarshipai_waf_rule_hits_total", "scholarshipai_payment_captures_total",
    "scholarshipai_payment_capture_failures_total", "scholarshipai_analytics_events_total",
    "scholarshipai_abuse_signals_total", "scholarshipai_schema_version_info",
    "scholarshipai_analytics_events_excluded_total",
]


def _plain_app(fail: list[bool]) -> Starlette:
    from scholarship_sandbox.health import SLOHealth

    async def item(request):  # type: ignore[no-untyped-def]
        if fail:
            return PlainTextResponse("boom", status_code=500)
        return JSONResponse({"id": request.path_params["item_id"]})

    def database() -> None:
        if fail:
            raise ConnectionError("db down")

    app = Starlette(routes=[Route("/items/{item_id}", item)])
    # the two lines a service adds:
    health = SLOHealth(build_id="b-7", git_sha="abc1234", checks={"database": database})
    health.install(app)
    return app


def test_two_line_mount_on_a_plain_starlette_app() -> None:
    fail: list[bool] = []
    client = TestClient(_plain_app(fail))
    assert client.get("/health").json()["build_id"] == "b-7"
    assert client.get("/ready").json()["checks"]["database"]["status"] == "ok"
    for n in range(3):
        client.get(f"/items/{n}")
    client.get("/items/9", headers={"User-Agent": "ScholarshipAI-Canary/1.0"})
    client.get("/unknown/path/123")
    fail.append(True)
    client.get("/items/4?e2e=1")
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    assert ready.json()["checks"]["database"] == {"status": "fail",
                                                 "error": "ConnectionError: db down"}
    text = client.get("/metrics").text
    assert ('scholarshipai_http_requests_total{cohort="sandbox",method="GET",'
            'route="/items/{item_id}",status_class="2xx",synthetic="false"} 3.0') in text
    assert 'route="/items/{item_id}",status_class="2xx",synthetic="true"} 1.0' in text
    assert 'route="/items/{item_id}",status_class="5xx",synthetic="true"} 1.0' in text
    assert 'route="unmatched"' in text and "/items/0" not in text
    assert 'le="0.12"' in text and 'le="0.15"' in text
    availability = float(re.search(r"^scholarshipai_slo_availability_ratio (\S+)", text,
                                   re.M).group(1))  # type: ignore[union-attr]
    assert 0 < availability < 1
    budget = float(re.search(r"^scholarshipai_slo_error_budget_remaining_ratio (\S+)", text,
                             re.M).group(1))  # type: ignore[union-attr]
    assert budget == 0.0  # one 5xx in a handful of requests burns a 0.1% budget


def test_health_module_imports_nothing_from_the_sandbox() -> None:
    import scholarship_sandbox.health as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    imports = [line.strip() for line in source.splitlines()
               if line.strip().startswith(("import ", "from "))]
    assert all("scholarship_sandbox" not in line and "from . " not in line
               and "from .." not in line for line in imports), imports


def test_sandbox_exposes_every_family(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    api.get("/api/v1/me/saved", headers={"Authorization": "Bearer nope"})
    api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": "wrong-password"})
    api.post("/api/v1/checkout", json={"plan_id": "plan_plus0001",
                                       "payment_token": "tok_sandbox_visa"}, headers=headers)
    faults.set("capture-failures")
    api.post("/api/v1/checkout", json={"plan_id": "plan_plus0001",
                                       "payment_token": "tok_sandbox_visa"}, headers=headers)
    response = api.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for family in FAMILIES:
        assert f"# TYPE {family.removesuffix('_bucket').removesuffix('_total')}" in text, family
    assert 'scholarshipai_build_info{build_id="selftest-1",cohort="canary",git_sha="abcdef1"}' \
        in text
    assert "scholarshipai_slo_availability_target_ratio 0.999" in text


def test_synthetic_traffic_is_labelled_and_kept_out_of_analytics(api: Api) -> None:
    def count(pattern: str) -> float:
        text = api.get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(pattern))

    searches = 'scholarshipai_analytics_events_total{event="search"}'
    synthetic = ('scholarshipai_http_requests_total{cohort="canary",method="GET",'
                 'route="/api/v1/scholarships",status_class="2xx",synthetic="true"}')
    failed_logins = 'scholarshipai_abuse_signals_total{signal="failed_login"}'
    excluded = ('scholarshipai_analytics_events_excluded_total{event="search",'
                'reason="synthetic"}')
    before = (count(searches), count(synthetic), count(failed_logins), count(excluded))
    api.get("/api/v1/scholarships?e2e=1")
    api.get("/api/v1/scholarships", headers={"User-Agent": "ScholarshipAI-Canary/1.0"})
    api.post("/api/v1/auth/login?e2e=1", json={"email": STUDENT[0], "password": "nope-nope"})
    assert (count(searches), count(synthetic), count(failed_logins), count(excluded)) == (
        before[0], before[1] + 2, before[2], before[3] + 2)
    api.get("/api/v1/scholarships")
    api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": "nope-nope"})
    assert count(searches) == before[0] + 1 and count(failed_logins) == before[2] + 1


def test_time_to_value_is_observed_once_per_user(api: Api) -> None:
    def observations() -> float:
        text = api.get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("scholarshipai_time_to_value_seconds_count"))

    before = observations()
    email = f"synthetic+ttv-{api.first_scholarship()}-{id(api)}@sandbox.scholarshipai.test"
    api.post("/api/v1/auth/signup?e2e=1", json={"email": email, "password": "p" * 12,
                                                "role": "student"})
    headers = {"Authorization": "Bearer " + api.login((email, "p" * 12))["access_token"]}
    app = api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                   headers=headers).json()
    path = f"/api/v1/applications/{app['id']}/draft"
    api.put(path, json={"version": 0, "content": {"a": 1}}, headers=headers)
    api.put(path, json={"version": 1, "content": {"a": 2}}, headers=headers)
    assert observations() == before + 1


def test_admin_traffic_is_not_counted(api: Api, faults: Faults) -> None:
    faults.set("no-csrf")
    faults.clear()
    assert "/__admin" not in api.get("/metrics").text
