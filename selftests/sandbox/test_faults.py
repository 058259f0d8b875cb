"""Each fault kind of docs/faults.md, switched on through the admin route, has its effect
(and the same request behaves when it is off)."""

from __future__ import annotations

import base64
import json
import time

import requests

from .conftest import PROVIDER, QUOTA, STUDENT, Api, Faults, Running, assert_problem


def metric(api: Api, name: str, **labels: str) -> float:
    total = 0.0
    for line in api.get("/metrics").text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_latency_slows_only_matching_routes(api: Api, faults: Faults) -> None:
    faults.set("latency:ms=300,route=/api/v1/pricing")
    start = time.perf_counter()
    assert api.get("/api/v1/pricing").status_code == 200
    assert time.perf_counter() - start >= 0.3
    start = time.perf_counter()
    api.get("/health")
    assert time.perf_counter() - start < 0.3


def test_error_answers_problem_5xx_at_a_rate(api: Api, faults: Faults) -> None:
    before = metric(api, "scholarshipai_http_requests_total", route="/api/v1/pricing",
                    status_class="5xx")
    faults.set("error:status=503,route=/api/v1/pricing")
    assert_problem(api.get("/api/v1/pricing"), 503, "unavailable")
    assert metric(api, "scholarshipai_http_requests_total", route="/api/v1/pricing",
                  status_class="5xx") == before + 1
    faults.set("error:rate=0.5,route=/api/v1/pricing")
    statuses = {api.get("/api/v1/pricing").status_code for _ in range(40)}
    assert statuses == {200, 500}
    faults.clear()
    assert api.get("/api/v1/pricing").status_code == 200


def test_drop_field(api: Api, faults: Faults) -> None:
    faults.set("drop-field:field=plans.*.price")
    plans = api.get("/api/v1/pricing").json()["plans"]
    assert plans and all("price" not in plan for plan in plans)


def test_retype_field(api: Api, faults: Faults) -> None:
    faults.set("retype-field:field=items.*.amount.value,to=string,route=/api/v1/scholarships")
    body = api.get("/api/v1/scholarships").json()
    assert all(isinstance(item["amount"]["value"], str) for item in body["items"])
    faults.set("retype-field:field=total,to=null")
    assert api.get("/api/v1/scholarships").json()["total"] is None


def test_strip_headers(api: Api, faults: Faults) -> None:
    faults.set("strip-headers")
    response = api.get("/health")
    assert "strict-transport-security" not in response.headers
    assert "content-security-policy" not in response.headers
    faults.set("strip-headers:headers=X-Frame-Options")
    response = api.get("/health")
    assert "x-frame-options" not in response.headers
    assert "strict-transport-security" in response.headers


def test_slow_body_delays_after_the_headers(api: Api, faults: Faults) -> None:
    faults.set("slow-body:ms=400,route=/api/v1/pricing")
    start = time.perf_counter()
    response = requests.get(api.url + "/api/v1/pricing", stream=True, timeout=10)
    headers_at = time.perf_counter() - start
    response.content  # noqa: B018 - read the body
    body_at = time.perf_counter() - start
    assert response.status_code == 200 and response.json()["plans"]
    assert headers_at < 0.3 and body_at - headers_at >= 0.35


def test_no_rbac(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    assert api.get("/api/v1/provider/dashboard", headers=headers).status_code == 403
    faults.set("no-rbac")
    assert api.get("/api/v1/provider/dashboard", headers=headers).status_code == 200


def test_no_csrf(sandbox: Running, faults: Faults) -> None:
    browser = Api(sandbox.url)
    browser.login(STUDENT, session="cookie")
    body = {"scholarship_id": browser.first_scholarship()}
    assert browser.post("/api/v1/me/saved", json=body).status_code == 403
    faults.set("no-csrf")
    assert browser.post("/api/v1/me/saved", json=body).status_code in (200, 201)


def test_no_validation_lets_bad_input_reach_the_handler(api: Api, faults: Faults) -> None:
    bad = {"email": 42, "password": None}
    assert api.post("/api/v1/auth/login", json=bad).status_code == 422
    faults.set("no-validation")
    assert_problem(api.post("/api/v1/auth/login", json=bad), 500, "internal-error")


def test_no_rate_limit(api: Api, faults: Faults) -> None:
    headers = api.bearer(QUOTA)
    statuses = [api.get("/api/v1/me/saved", headers=headers).status_code for _ in range(4)]
    assert 429 in statuses
    faults.set("no-rate-limit")
    assert [api.get("/api/v1/me/saved", headers=headers).status_code
            for _ in range(5)] == [200] * 5


def _checkout(api: Api, headers: dict[str, str]) -> dict[str, str]:
    response = api.post("/api/v1/checkout", json={"plan_id": "plan_plus0001",
                                                  "payment_token": "tok_sandbox_visa"},
                        headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_nonce_reuse(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    faults.set("nonce-reuse")
    checkout = _checkout(api, headers)
    path = f"/api/v1/checkout/{checkout['checkout_id']}/validate"
    for _ in range(2):
        assert api.post(path, json={"nonce": checkout["nonce"]}, headers=headers).status_code \
            == 200


def test_lose_draft_writes(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    app = api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                   headers=headers).json()
    path = f"/api/v1/applications/{app['id']}/draft"
    faults.set("lose-draft-writes")
    saved = api.put(path, json={"version": 0, "content": {"essay": "lost"}}, headers=headers)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    read_back = api.get(path, headers=headers).json()
    assert read_back["version"] == 0 and read_back["content"] == {}


def test_not_ready(api: Api, faults: Faults) -> None:
    faults.set("not-ready")
    body = assert_problem(api.get("/ready"), 503, "not-ready")
    assert body["checks"]["database"]["status"] == "fail" and body["checks"]["database"]["error"]
    assert api.get("/health").status_code == 200  # liveness is not readiness


def test_auth_errors(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    faults.set("auth-errors")
    assert_problem(api.get("/api/v1/me/saved", headers=headers), 401, "invalid-token")
    assert api.get("/api/v1/pricing").status_code == 200  # public routes unaffected


def test_signup_failures_drop_completion(api: Api, faults: Faults) -> None:
    started = metric(api, "scholarshipai_signup_started_total", role="student")
    completed = metric(api, "scholarshipai_signup_completed_total", role="student")
    faults.set("signup-failures")
    response = api.post("/api/v1/auth/signup", json={
        "email": f"synthetic+fault-{time.time_ns()}@sandbox.scholarshipai.test",
        "password": "p" * 12, "role": "student"})
    assert_problem(response, 503, "unavailable")
    assert metric(api, "scholarshipai_signup_started_total", role="student") == started + 1
    assert metric(api, "scholarshipai_signup_completed_total", role="student") == completed


def test_capture_failures(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    before = metric(api, "scholarshipai_payment_capture_failures_total")
    faults.set("capture-failures")
    assert_problem(api.post("/api/v1/checkout", json={"plan_id": "plan_plus0001",
                                                      "payment_token": "tok_sandbox_visa"},
                            headers=headers), 402, "payment-declined")
    assert metric(api, "scholarshipai_payment_capture_failures_total") == before + 1


def test_refresh_reuse(api: Api, faults: Faults) -> None:
    tokens = api.login(PROVIDER)
    faults.set("refresh-reuse")
    for _ in range(2):
        assert api.post("/api/v1/auth/refresh",
                        json={"refresh_token": tokens["refresh_token"]}).status_code == 200


def test_server_header(api: Api, faults: Faults) -> None:
    faults.set("server-header")
    response = api.get("/health")
    assert response.headers["server"].startswith("uvicorn/")
    assert "x-powered-by" in response.headers


def test_server_header_with_a_bare_name(api: Api, faults: Faults) -> None:
    faults.set("server-header:value=nginx")
    response = api.get("/health")
    assert response.headers["server"] == "nginx"
    assert "x-powered-by" not in response.headers


def test_add_field_adds_a_member_where_the_path_leads(api: Api, faults: Faults) -> None:
    faults.set("add-field:field=items.*.recommended,route=/api/v1/scholarships")
    items = api.get("/api/v1/scholarships").json()["items"]
    assert items and all(item["recommended"] == "added by the add-field fault" for item in items)
    faults.set("add-field:field=password_hash,value=$2b$12$abc,route=/health")
    assert api.get("/health").json()["password_hash"] == "$2b$12$abc"
    assert "password_hash" not in api.get("/api/v1/pricing").json()
    faults.set("add-field:field=status,value=changed,route=/health")
    assert api.get("/health").json()["status"] == "ok"  # adds, never overwrites


def test_alter_echo_changes_the_correlation_ids(api: Api, faults: Faults) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    sent = {"X-Synthetic-Id": "selftest.echo.1", "traceparent": traceparent}
    echoed = api.get("/health", headers=sent).headers
    assert (echoed["x-synthetic-id"], echoed["traceparent"]) == ("selftest.echo.1", traceparent)
    faults.set("alter-echo")
    altered = api.get("/health", headers=sent).headers
    assert altered["x-synthetic-id"] == altered["x-request-id"]
    assert altered["traceparent"].split("-")[1] == traceparent.split("-")[1]
    assert altered["traceparent"] != traceparent


def test_analytics_synthetic_counts_synthetic_traffic(api: Api, faults: Faults) -> None:
    counted = 'scholarshipai_analytics_events_total{event="search"}'
    excluded = ('scholarshipai_analytics_events_excluded_total{event="search",'
                'reason="synthetic"}')

    def counts() -> tuple[float, float]:
        text = api.get("/metrics").text
        return tuple(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                         if line.startswith(name)) for name in (counted, excluded))  # type: ignore[return-value]

    before = counts()
    api.get("/api/v1/scholarships?e2e=1")
    assert counts() == (before[0], before[1] + 1)
    faults.set("analytics-synthetic")
    api.get("/api/v1/scholarships?e2e=1")
    assert counts() == (before[0] + 1, before[1] + 1)


def test_certificate_faults_are_refused_at_run_time(sandbox: Running) -> None:
    answer = requests.put(sandbox.url + "/__admin/faults", json={"faults": ["cert-wrong-host"]},
                          headers={"X-Admin-Token": sandbox.admin_token}, timeout=10)
    assert answer.status_code == 422 and "at start" in answer.json()["detail"]


def test_cors_wildcard(api: Api, faults: Faults) -> None:
    faults.set("cors-wildcard")
    response = api.get("/health", headers={"Origin": "https://evil.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_leak_pii(api: Api, faults: Faults) -> None:
    faults.set("leak-pii")
    response = api.get("/api/v1/pricing")
    assert "@example.com" in response.json()["debug_user"]["email"]
    assert "@example.com" in response.headers["x-debug-user-email"]


def test_faults_are_off_by_default(sandbox: Running, faults: Faults) -> None:
    response = requests.get(sandbox.url + "/__admin/faults",
                            headers={"X-Admin-Token": sandbox.admin_token}, timeout=10)
    assert response.json() == {"faults": []}


def test_strip_cache_control_on_auth_answers(api: Api, faults: Faults) -> None:
    login = {"email": STUDENT[0], "password": STUDENT[1]}
    assert "no-store" in api.post("/api/v1/auth/login", json=login).headers["cache-control"]
    faults.set("strip-headers:headers=Cache-Control,route=/api/v1/auth/*")
    for response in (api.post("/api/v1/auth/login", json=login),
                     api.post("/api/v1/auth/login", json={**login, "password": "wrong-pass-1"})):
        assert response.status_code in (200, 401)
        assert "cache-control" not in response.headers
        assert "x-frame-options" in response.headers  # only the named header goes


def test_no_auth_serves_anonymous_calls_as_the_seeded_student(api: Api, faults: Faults) -> None:
    assert_problem(api.get("/api/v1/me/saved"), 401, "unauthenticated")
    faults.set("no-auth")
    response = api.get("/api/v1/me/saved")
    assert response.status_code == 200 and "items" in response.json()
    # a token that is present is still checked
    assert_problem(api.get("/api/v1/me/saved", headers={"Authorization": "Bearer x.y.z"}),
                   401, "invalid-token")


def _expired_token(api: Api) -> str:
    token = str(api.login(STUDENT, ttl_seconds=1)["access_token"])
    time.sleep(2.05)  # exp is in whole seconds: past it for sure
    return token


def test_no_token_expiry_accepts_an_expired_token(api: Api, faults: Faults) -> None:
    headers = {"Authorization": "Bearer " + _expired_token(api)}
    assert_problem(api.get("/api/v1/me/saved", headers=headers), 401, "token-expired")
    faults.set("no-token-expiry")
    assert api.get("/api/v1/me/saved", headers=headers).status_code == 200


def _forged(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode())
    return ".".join((header, forged.rstrip(b"=").decode(), signature))


def test_no_signature_check_accepts_an_edited_token(api: Api, faults: Faults) -> None:
    token = str(api.login(STUDENT)["access_token"])
    headers = {"Authorization": "Bearer " + _forged(token, role="provider")}
    assert_problem(api.get("/api/v1/me/saved", headers=headers), 401, "invalid-token")
    faults.set("no-signature-check")
    assert api.get("/api/v1/me/saved", headers=headers).status_code == 200
    # the edited role is believed: a student token turned provider passes the role check
    # (and then finds no provider profile) instead of being refused
    assert_problem(api.get("/api/v1/provider/dashboard", headers=headers), 404, "not-found")
    # expiry is still checked: the fault turns off the signature only
    expired = {"Authorization": "Bearer " + _forged(token, exp=1)}
    assert_problem(api.get("/api/v1/me/saved", headers=expired), 401, "token-expired")


def test_no_version_check_lets_a_stale_write_win(api: Api, faults: Faults) -> None:
    headers = api.bearer(STUDENT)
    app = api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                   headers=headers).json()
    path = f"/api/v1/applications/{app['id']}/draft"
    assert api.put(path, json={"version": 0, "content": {"a": 1}}, headers=headers).json()[
        "version"] == 1
    assert_problem(api.put(path, json={"version": 0, "content": {"a": 2}}, headers=headers),
                   409, "version-conflict")
    faults.set("no-version-check")
    stale = api.put(path, json={"version": 0, "content": {"a": 3}}, headers=headers)
    assert stale.status_code == 200 and stale.json()["version"] == 2
    read_back = api.get(path, headers=headers).json()
    assert read_back == {**read_back, "version": 2, "content": {"a": 3}}


def test_no_body_limit_lets_an_oversized_body_reach_the_handler(api: Api,
                                                                  faults: Faults) -> None:
    big = {"email": "a@b.test", "password": "x" * 12, "role": "student",
           "display_name": "y" * (65 * 1024)}
    assert_problem(api.post("/api/v1/auth/signup", json=big), 413, "payload-too-large")
    faults.set("no-body-limit")
    # the handler's own validation refuses the 65 KiB display name: no 413 any more
    assert_problem(api.post("/api/v1/auth/signup", json=big), 422, "validation-error")


def test_no_content_type_check_lets_a_form_body_through(api: Api, faults: Faults) -> None:
    form = {"data": "email=a%40b.test&password=x",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    assert_problem(api.post("/api/v1/auth/login", **form), 415, "unsupported-media-type")
    faults.set("no-content-type-check")
    assert_problem(api.post("/api/v1/auth/login", **form), 422, "validation-error")


def test_no_validation_breaks_on_malformed_json(api: Api, faults: Faults) -> None:
    truncated = {"data": b'{"email": "x@y.z", "password": ',
                 "headers": {"Content-Type": "application/json"}}
    assert_problem(api.post("/api/v1/auth/login", **truncated), 400, "malformed-json")
    faults.set("no-validation")
    assert_problem(api.post("/api/v1/auth/login", **truncated), 500, "internal-error")


def test_provider_writes_answers_writes_on_the_dashboard(api: Api, faults: Faults) -> None:
    headers = api.bearer(PROVIDER)
    dashboard = "/api/v1/provider/dashboard"
    assert_problem(api.post(dashboard, json={}, headers=headers), 405, "method-not-allowed")
    faults.set("provider-writes")
    for method in ("POST", "PUT", "DELETE"):
        response = api.request(method, dashboard, json={}, headers=headers)
        assert response.status_code == 200 and "totals" in response.json(), method
    assert_problem(api.post("/api/v1/pricing", json={}), 405, "method-not-allowed")


def test_drop_metric_removes_one_family(api: Api, faults: Faults) -> None:
    family = "scholarshipai_build_info"
    assert family in api.get("/metrics").text
    faults.set(f"drop-metric:family={family}")
    text = api.get("/metrics").text
    assert family not in text
    assert "scholarshipai_http_requests_total{" in text  # the rest is untouched
    faults.set("drop-metric:family=scholarshipai_http_request_duration_seconds")
    text = api.get("/metrics").text
    assert "scholarshipai_http_request_duration_seconds" not in text
    assert "scholarshipai_build_info{" in text
