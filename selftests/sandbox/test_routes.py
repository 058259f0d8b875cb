"""Every route of docs/api-contract.md with its real behaviour, over HTTP."""

from __future__ import annotations

import re
import time
import uuid

import requests

from .conftest import PROVIDER, QUOTA, STUDENT, Api, Running, assert_problem

ID = re.compile(r"^[a-z]+_[0-9A-Za-z]{8,32}$")
SECURITY = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_health_reports_build_and_uptime(api: Api) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert (body["build_id"], body["git_sha"], body["cohort"]) == ("selftest-1", "abcdef1",
                                                                  "canary")
    assert body["uptime_seconds"] >= 0


def test_ready_queries_the_database(api: Api) -> None:
    body = api.get("/ready").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0


def test_every_response_has_security_headers_and_no_server_header(api: Api) -> None:
    for method, path in [("GET", "/health"), ("GET", "/api/v1/scholarships"),
                         ("GET", "/nope"), ("DELETE", "/api/v1/pricing"),
                         ("POST", "/api/v1/auth/login")]:
        response = api.request(method, path)
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (method, path, name)
        assert "server" not in response.headers and "x-powered-by" not in response.headers
        assert ID.match(response.headers["x-request-id"])


def test_auth_responses_are_not_stored(api: Api) -> None:
    ok = api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": STUDENT[1]})
    bad = api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": "wrong-one"})
    assert ok.headers["cache-control"] == "no-store"
    assert bad.headers["cache-control"] == "no-store"
    assert_problem(bad, 401, "invalid-credentials")


def test_synthetic_id_and_traceparent_are_echoed_and_logged(api: Api, sandbox: Running) -> None:
    synthetic_id = "syn-" + uuid.uuid4().hex
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    response = api.get("/api/v1/scholarships?e2e=1",
                       headers={"X-Synthetic-Id": synthetic_id, "traceparent": traceparent})
    assert response.headers["x-synthetic-id"] == synthetic_id
    assert response.headers["traceparent"] == traceparent
    deadline = time.monotonic() + 5
    while synthetic_id not in sandbox.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    import json

    lines = [json.loads(line) for line in sandbox.access_log.read_text().splitlines()]
    line = next(entry for entry in lines if entry["synthetic_id"] == synthetic_id)
    assert line["route"] == "/api/v1/scholarships" and line["status"] == 200
    assert line["synthetic"] is True and line["method"] == "GET"
    assert line["trace_id"] == traceparent.split("-")[1]
    assert line["span_id"] == traceparent.split("-")[2]
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["duration_ms"] >= 0


def test_access_log_holds_no_pii(api: Api, sandbox: Running) -> None:
    tokens = api.login(STUDENT)
    api.get("/api/v1/me/saved", headers={"Authorization": "Bearer " + tokens["access_token"]})
    api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": "wrong-password"})
    text = sandbox.access_log.read_text()
    for secret in (STUDENT[0], STUDENT[1], "wrong-password", tokens["access_token"],
                   tokens["refresh_token"], "@sandbox.scholarshipai.test"):
        assert secret not in text


def test_search_paginates_over_at_least_200_seeded_scholarships(api: Api) -> None:
    first = api.get("/api/v1/scholarships", params={"per_page": 50}).json()
    assert first["total"] >= 200 and len(first["items"]) == 50
    second = api.get("/api/v1/scholarships", params={"per_page": 50, "page": 2}).json()
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
    item = first["items"][0]
    assert ID.match(item["id"]) and item["amount"]["currency"] in {"USD", "EUR", "GBP", "CAD",
                                                                   "INR"}
    narrowed = api.get("/api/v1/scholarships", params={"q": "nursing", "e2e": "1"}).json()
    assert 0 < narrowed["total"] < first["total"]


def test_details_and_unknown_id(api: Api) -> None:
    scholarship_id = api.first_scholarship()
    body = api.get(f"/api/v1/scholarships/{scholarship_id}").json()
    assert body["id"] == scholarship_id and body["eligibility"]["levels"]
    assert_problem(api.get("/api/v1/scholarships/sch_doesnotexist"), 404, "not-found")


def test_save_list_remove(api: Api) -> None:
    headers = api.bearer(STUDENT)
    scholarship_id = api.get("/api/v1/scholarships", params={"page": 3}).json()["items"][0]["id"]
    api.delete(f"/api/v1/me/saved/{scholarship_id}", headers=headers)
    created = api.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                       headers=headers)
    assert created.status_code == 201
    again = api.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                     headers=headers)
    assert again.status_code == 200 and again.json() == created.json()
    listed = api.get("/api/v1/me/saved", headers=headers).json()["items"]
    assert scholarship_id in [item["scholarship_id"] for item in listed]
    assert api.delete(f"/api/v1/me/saved/{scholarship_id}", headers=headers).status_code == 204
    assert_problem(api.delete(f"/api/v1/me/saved/{scholarship_id}", headers=headers), 404,
                   "not-found")
    assert_problem(api.post("/api/v1/me/saved", json={"scholarship_id": "sch_00000000"},
                            headers=headers), 404, "not-found")


def test_application_draft_autosave_with_optimistic_concurrency(api: Api) -> None:
    headers = api.bearer(STUDENT)
    created = api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                       headers=headers)
    assert created.status_code == 201
    app = created.json()
    assert app["status"] == "draft" and app["draft"]["version"] == 0
    assert app["draft"]["content"] == {}
    path = f"/api/v1/applications/{app['id']}/draft"
    content = {"essay": "Ünïcode ✓ " * 10, "answers": [1, 2.5, None, True], "nested": {"a": {}}}
    saved = api.put(path, json={"version": 0, "content": content}, headers=headers)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    stale = api.put(path, json={"version": 0, "content": {"x": 1}}, headers=headers)
    assert assert_problem(stale, 409, "version-conflict")["current_version"] == 1
    read_back = api.get(path, headers=headers).json()
    assert read_back["content"] == content and read_back["version"] == 1
    assert api.get(f"/api/v1/applications/{app['id']}", headers=headers).json()["draft"][
        "version"] == 1
    email = f"synthetic+{uuid.uuid4().hex[:8]}@sandbox.scholarshipai.test"
    api.post("/api/v1/auth/signup", json={"email": email, "password": "p" * 12,
                                          "role": "student"})
    other = api.bearer((email, "p" * 12))  # another student: the application is invisible
    assert_problem(api.get(path, headers=other), 404, "not-found")
    assert api.delete(f"/api/v1/applications/{app['id']}", headers=headers).status_code == 204
    assert api.get(f"/api/v1/applications/{app['id']}", headers=headers).json()[
        "status"] == "withdrawn"


def test_rbac(api: Api) -> None:
    student, provider = api.bearer(STUDENT), api.bearer(PROVIDER)
    assert_problem(api.get("/api/v1/provider/dashboard", headers=student), 403, "forbidden")
    dashboard = api.get("/api/v1/provider/dashboard", headers=provider)
    assert dashboard.status_code == 200
    body = dashboard.json()
    assert body["totals"]["scholarships"] == len(body["scholarships"]) > 0
    assert_problem(api.post("/api/v1/applications", json={"scholarship_id":
                                                          api.first_scholarship()},
                            headers=provider), 403, "forbidden")
    assert_problem(api.delete("/api/v1/provider/dashboard", headers=provider), 405,
                   "method-not-allowed")


def test_refresh_rotation_and_reuse_revokes_the_family(api: Api) -> None:
    first = api.login(STUDENT)
    second = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    newest = second.json()
    assert newest["refresh_token"] != first["refresh_token"]
    assert_problem(api.post("/api/v1/auth/refresh", json={"refresh_token":
                                                          first["refresh_token"]}),
                   401, "refresh-token-reused")
    # the whole family is gone: the newest refresh and access tokens too
    assert api.post("/api/v1/auth/refresh",
                    json={"refresh_token": newest["refresh_token"]}).status_code == 401
    assert api.get("/api/v1/me/saved", headers={
        "Authorization": "Bearer " + newest["access_token"]}).status_code == 401


def test_tokens_expire_and_bad_tokens_are_rejected(api: Api) -> None:
    short = api.login(STUDENT, ttl_seconds=1)
    assert short["expires_in"] == 1
    time.sleep(2.1)
    assert_problem(api.get("/api/v1/me/saved", headers={
        "Authorization": "Bearer " + short["access_token"]}), 401, "token-expired")
    # no lifetime at all: expired as it is issued, no wait needed
    expired = api.login(STUDENT, ttl_seconds=0)
    assert expired["expires_in"] == 0
    assert_problem(api.get("/api/v1/me/saved", headers={
        "Authorization": "Bearer " + expired["access_token"]}), 401, "token-expired")
    assert_problem(api.get("/api/v1/me/saved", headers={"Authorization": "Bearer x.y.z"}), 401,
                   "invalid-token")
    assert_problem(api.get("/api/v1/me/saved"), 401, "unauthenticated")


def test_cookie_session_needs_double_submit_csrf(sandbox: Running) -> None:
    browser = Api(sandbox.url)
    login = browser.login(STUDENT, session="cookie")
    assert login["token_type"] == "cookie"
    assert browser.session.cookies.get("sa_csrf") == login["csrf_token"]
    scholarship_id = browser.first_scholarship()
    assert browser.get("/api/v1/me/saved").status_code == 200  # safe method: no token needed
    assert_problem(browser.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id}),
                   403, "csrf-failed")
    assert_problem(browser.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                                headers={"X-CSRF-Token": "forged"}), 403, "csrf-failed")
    ok = browser.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                      headers={"X-CSRF-Token": login["csrf_token"]})
    assert ok.status_code in (200, 201)


def test_login_sets_httponly_session_cookie(api: Api) -> None:
    response = api.post("/api/v1/auth/login", json={"email": STUDENT[0], "password": STUDENT[1],
                                                    "session": "cookie"})
    cookies = response.raw.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("sa_session="))
    csrf = next(c for c in cookies if c.startswith("sa_csrf="))
    assert "HttpOnly" in session and "SameSite=lax" in session.replace("Lax", "lax")
    assert "HttpOnly" not in csrf and "Path=/" in csrf


def test_quota_account_is_limited_to_three_requests(api: Api) -> None:
    headers = api.bearer(QUOTA)
    statuses = []
    for _ in range(4):
        response = api.get("/api/v1/me/saved", headers=headers)
        statuses.append(response.status_code)
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            response.headers)
    # the first test touching the quota account spends its window; later ones see 429s
    assert statuses[-1] == 429
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-limit"] == "3"


def test_signup_then_login(api: Api) -> None:
    email = f"synthetic+{uuid.uuid4().hex[:8]}-1@sandbox.scholarshipai.test"
    created = api.post("/api/v1/auth/signup", json={"email": email, "password": "p" * 12,
                                                    "role": "student"})
    assert created.status_code == 201
    assert email not in created.text and created.json()["user"]["role"] == "student"
    assert_problem(api.post("/api/v1/auth/signup", json={"email": email, "password": "q" * 12,
                                                         "role": "student"}), 409, "email-taken")
    assert api.login((email, "p" * 12))["user"]["id"] == created.json()["user"]["id"]


def test_pricing_checkout_and_single_use_nonce(api: Api) -> None:
    plans = api.get("/api/v1/pricing").json()["plans"]
    assert plans and all(p["id"].startswith("plan_") for p in plans)
    headers = api.bearer(STUDENT)
    checkout = api.post("/api/v1/checkout", json={"plan_id": plans[1]["id"],
                                                  "payment_token": "tok_sandbox_visa"},
                        headers=headers)
    assert checkout.status_code == 201
    body = checkout.json()
    assert body["status"] == "pending" and body["amount"] == plans[1]["price"]
    path = f"/api/v1/checkout/{body['checkout_id']}/validate"
    assert_problem(api.post(path, json={"nonce": "wrong"}, headers=headers), 422,
                   "validation-error")
    ok = api.post(path, json={"nonce": body["nonce"]}, headers=headers)
    assert ok.status_code == 200 and ok.json()["status"] == "validated"
    assert_problem(api.post(path, json={"nonce": body["nonce"]}, headers=headers), 409,
                   "nonce-replayed")
    assert_problem(api.post("/api/v1/checkout", json={"plan_id": plans[1]["id"],
                                                      "payment_token": "tok_sandbox_declined"},
                            headers=headers), 402, "payment-declined")
    assert_problem(api.post("/api/v1/checkout", json={"plan_id": plans[1]["id"],
                                                      "payment_token": "4242424242424242"},
                            headers=headers), 422, "validation-error")
    assert_problem(api.post("/api/v1/checkout", json={"plan_id": "plan_nope",
                                                      "payment_token": "tok_sandbox_visa"},
                            headers=headers), 422, "validation-error")


def test_cors_echoes_only_allow_listed_origins(api: Api) -> None:
    good = api.get("/health", headers={"Origin": "https://app.scholarshipai.example"})
    assert good.headers["access-control-allow-origin"] == "https://app.scholarshipai.example"
    evil = api.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers


def test_waf_blocks_probes_and_counts_them(api: Api) -> None:
    assert_problem(api.get("/api/v1/scholarships", params={"q": "' OR 1=1"}), 403,
                   "request-blocked")
    metrics = api.get("/metrics").text
    assert 'scholarshipai_waf_rule_hits_total{rule="sql-injection",severity="high"' in metrics


def test_openapi_documents_every_contract_route(api: Api) -> None:
    paths = requests.get(api.url + "/openapi.json", timeout=10).json()["paths"]
    for path in ["/health", "/ready", "/metrics", "/api/v1/auth/signup", "/api/v1/auth/login",
                 "/api/v1/auth/refresh", "/api/v1/scholarships",
                 "/api/v1/scholarships/{scholarship_id}", "/api/v1/me/saved",
                 "/api/v1/me/saved/{scholarship_id}", "/api/v1/applications",
                 "/api/v1/applications/{application_id}",
                 "/api/v1/applications/{application_id}/draft", "/api/v1/provider/dashboard",
                 "/api/v1/pricing", "/api/v1/checkout",
                 "/api/v1/checkout/{checkout_id}/validate"]:
        assert path in paths, path
    assert "/__admin/faults" not in paths
