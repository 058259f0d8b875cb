"""Auth and security: signup, login, refresh rotation, RBAC, CSRF, headers, CORS."""

from __future__ import annotations

import secrets

import pytest

pytestmark = [pytest.mark.auth]

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.mark.critical
def test_signup_login_and_refresh_rotation(api, synthetic_email):
    password = "synthetic-" + secrets.token_urlsafe(12)
    signup = api.post("/api/v1/auth/signup", expect=201, schema="signup",
                      json={"email": synthetic_email, "password": password, "role": "student",
                            "display_name": "Synthetic Canary"})
    signup.ensure(synthetic_email not in signup.text, "the signup answer not to echo the email")

    first = api.post("/api/v1/auth/login", json={"email": synthetic_email, "password": password},
                     expect=200, schema="token-login").json()
    refreshed = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]},
                         expect=200, schema="token-login")
    rotated = refreshed.json()
    refreshed.ensure(rotated["refresh_token"] != first["refresh_token"],
                     "a new refresh token (rotation)")

    reused = api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]},
                      expect=401)
    reused.ensure(reused.problem_slug == "refresh-token-reused",
                  "a reused refresh token refused as refresh-token-reused")
    newest = api.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]},
                      expect=401)
    newest.ensure(newest.problem_slug in {"refresh-token-reused", "invalid-token"},
                  "the whole token family revoked after the reuse")


@pytest.mark.critical
def test_student_is_denied_the_provider_dashboard(api, student):
    resp = api.get("/api/v1/provider/dashboard", token=student.access_token, expect=403)
    resp.ensure(resp.problem_slug == "forbidden", "problem type forbidden (RBAC)")


@pytest.mark.critical
def test_cookie_session_enforces_csrf(api, log_in, scholarship_id, cleanup):
    browser = api.browser()
    logged_in = log_in(browser, "student", schema="cookie-login", session="cookie")
    csrf = logged_in.json()["csrf_token"]
    logged_in.ensure(browser.session.cookies.get("sa_csrf") == csrf,
                     "an sa_csrf cookie equal to the csrf_token in the body")
    set_cookie = logged_in.raw.raw.headers.getlist("Set-Cookie")
    session_cookie = next((c for c in set_cookie if c.startswith("sa_session=")), "")
    logged_in.ensure("httponly" in session_cookie.lower(), "an HttpOnly sa_session cookie")

    # before the request that should be refused: a target that accepts it has saved it
    cleanup.remove(lambda: browser.delete(
        "/api/v1/me/saved/{scholarship_id}", path_params={"scholarship_id": scholarship_id},
        headers={"X-CSRF-Token": csrf}, expect={204, 404}))
    refused = browser.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                           expect=403)
    refused.ensure(refused.problem_slug == "csrf-failed",
                   "an unsafe request without X-CSRF-Token refused as csrf-failed")
    browser.post("/api/v1/me/saved", json={"scholarship_id": scholarship_id},
                 headers={"X-CSRF-Token": csrf}, expect={200, 201}, schema="saved-item")


@pytest.mark.parametrize("path, status", [
    ("/health", 200), ("/api/v1/scholarships", 200), ("/api/v1/no-such-route", 404),
])
def test_security_headers(api, path, status):
    resp = api.get(path, expect=status)
    wrong = {name: resp.headers.get(name) for name, value in SECURITY_HEADERS.items()
             if resp.headers.get(name) != value}
    resp.ensure(not wrong, f"the security headers, but these are missing or wrong: {wrong}")
    resp.ensure(resp.headers.get("X-Request-Id"), "an X-Request-Id header")


def test_auth_answers_are_not_cached(api, log_in):
    refused = api.post("/api/v1/auth/login", expect=401,
                       json={"email": "nobody@sandbox.scholarshipai.test",
                             "password": "not-the-password-1"})
    refused.ensure(refused.problem_slug == "invalid-credentials",
                   "a wrong password refused as invalid-credentials")
    for resp in (refused, log_in(api, "student")):
        resp.ensure("no-store" in resp.headers.get("Cache-Control", ""),
                    "Cache-Control: no-store on an auth answer")


def test_no_version_leaking_headers(api):
    """Any Server value names the software that serves it (`nginx` as much as
    `nginx/1.25`), so the contract has none at all."""
    resp = api.get("/health", expect=200)
    server = resp.headers.get("Server")
    resp.ensure(server is None, f"no Server header naming the software (got {server!r})")
    resp.ensure("X-Powered-By" not in resp.headers, "no X-Powered-By header")


def test_no_credentialed_wildcard_cors(api):
    resp = api.get("/api/v1/scholarships", headers={"Origin": "https://evil.example"},
                   expect=200)
    origin = resp.headers.get("Access-Control-Allow-Origin")
    credentials = resp.headers.get("Access-Control-Allow-Credentials", "").lower() == "true"
    resp.ensure(not (origin == "*" and credentials),
                "never Access-Control-Allow-Origin: * together with credentials")
    resp.ensure(origin != "https://evil.example", "a foreign origin not echoed back")
