"""Bad input and abuse: each answered with its documented 4xx problem, never a 5xx.

Every error answer is held against the problem+json schema by the client; these checks
add the expected problem type and the headers that go with it.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

pytestmark = [pytest.mark.negative]

LOGIN = "/api/v1/auth/login"
SIGNUP = "/api/v1/auth/signup"
SAVED = "/api/v1/me/saved"
DRAFT = "/api/v1/applications/{application_id}/draft"
EXPIRY_WAIT_LIMIT_S = 3.0


def problem(resp, slug):
    resp.ensure(resp.problem_slug == slug, f"problem type {slug}")


@pytest.mark.auth
def test_malformed_json_is_400(api):
    problem(api.post(LOGIN, data=b'{"email": "x@y.z", "password": ',
                     headers={"Content-Type": "application/json"}, expect=400),
            "malformed-json")


@pytest.mark.auth
@pytest.mark.parametrize("body", [
    pytest.param({"email": 12345, "password": ["not", "a", "string"]}, id="wrong-types"),
    pytest.param({"email": "student@sandbox.scholarshipai.test"}, id="missing-field"),
    pytest.param({"email": "a@b.test", "password": "long-enough-pass", "is_admin": True},
                 id="unknown-field"),
])
def test_invalid_login_body_is_422(api, body):
    resp = api.post(LOGIN, json=body, expect=422)
    problem(resp, "validation-error")
    resp.ensure(resp.json().get("errors"), "the validation errors listed in `errors`")


@pytest.mark.auth
def test_signup_with_wrong_types_is_422(api):
    resp = api.post(SIGNUP, expect=422, json={"email": "not-an-email", "password": 7,
                                              "role": "administrator"})
    problem(resp, "validation-error")


@pytest.mark.auth
def test_oversized_body_is_413(api):
    body = {"email": "a@b.test", "password": "x" * 12, "role": "student",
            "display_name": "y" * (65 * 1024)}
    problem(api.post(SIGNUP, json=body, expect=413), "payload-too-large")


@pytest.mark.auth
def test_wrong_content_type_is_415(api):
    resp = api.post(LOGIN, data="email=a%40b.test&password=x", expect=415,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(resp, "unsupported-media-type")


@pytest.mark.auth
def test_missing_token_is_401(api):
    problem(api.get(SAVED, expect=401), "unauthenticated")


@pytest.mark.auth
def test_tampered_token_is_401(api, student):
    header, payload, signature = student.access_token.split(".")
    claims = json.loads(_b64decode(payload))
    claims["role"] = "provider"  # an escalation attempt, signature left as it was
    forged = ".".join((header, _b64encode(json.dumps(claims).encode()), signature))
    problem(api.get(SAVED, token=forged, expect=401), "invalid-token")


@pytest.mark.auth
def test_expired_token_is_401(api, log_in):
    """A token asked for with no lifetime has expired as it is issued; the wait covers only a
    clock running behind the target's."""
    token = log_in(api, "student", ttl_seconds=0).json()["access_token"]
    expires = json.loads(_b64decode(token.split(".")[1]))["exp"]
    wait = expires - time.time() + 0.05
    assert wait <= EXPIRY_WAIT_LIMIT_S, f"the token lives {wait:.1f} s, asked for 0 s"
    time.sleep(max(0.0, wait))
    problem(api.get(SAVED, token=token, expect=401), "token-expired")


def test_over_quota_is_429_with_retry_after(api, log_in, quota_problems):
    """The seeded quota account may make 3 calls a minute: the 4th is refused. (An earlier
    run in the same minute may have spent the quota already: then the 1st is refused.)"""
    token = log_in(api, "quota").json()["access_token"]
    for _ in range(4):
        resp = api.get(SAVED, token=token, expect={200, 429}, schema="saved-list")
        if resp.status_code == 429:
            break
    resp.ensure(resp.status_code == 429, "the 4th call within a minute refused with 429")
    problem(resp, "rate-limited")
    retry_after = resp.headers.get("Retry-After", "")
    resp.ensure(retry_after.isdigit() and int(retry_after) > 0, "Retry-After in seconds")
    wrong = quota_problems(resp)
    resp.ensure(not wrong, "the quota headers on the 429 too, but " + "; ".join(wrong))
    resp.ensure(resp.headers.get("X-RateLimit-Remaining") == "0",
                "X-RateLimit-Remaining 0 on the 429")


@pytest.mark.auth
@pytest.mark.parametrize("csrf", [None, "not-the-cookie-value"], ids=["missing", "mismatched"])
def test_cookie_session_without_matching_csrf_is_403(api, log_in, scholarship_id, csrf,
                                                     cleanup):
    browser = api.browser()
    session_csrf = log_in(browser, "student", schema="cookie-login",
                          session="cookie").json()["csrf_token"]
    # a target that accepts the forged request has saved the scholarship: remove it after
    cleanup.remove(lambda: browser.delete(
        SAVED + "/{scholarship_id}", path_params={"scholarship_id": scholarship_id},
        headers={"X-CSRF-Token": session_csrf}, expect={204, 404}))
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    resp = browser.post(SAVED, json={"scholarship_id": scholarship_id}, headers=headers,
                        expect=403)
    problem(resp, "csrf-failed")


@pytest.mark.payments
def test_replayed_nonce_is_409(api, student, payment_token_value):
    plan = api.get("/api/v1/pricing", expect=200, schema="pricing").json()["plans"][0]
    checkout = api.post("/api/v1/checkout", token=student.access_token, expect=201,
                        schema="checkout",
                        json={"plan_id": plan["id"], "payment_token": payment_token_value}).json()
    validate = "/api/v1/checkout/{checkout_id}/validate"
    ids = {"checkout_id": checkout["checkout_id"]}
    api.post(validate, path_params=ids, token=student.access_token,
             json={"nonce": checkout["nonce"]}, expect=200, schema="checkout-validation")
    replay = api.post(validate, path_params=ids, token=student.access_token,
                      json={"nonce": checkout["nonce"]}, expect=409)
    problem(replay, "nonce-replayed")


@pytest.mark.b2c
def test_stale_draft_version_is_409(api, student, scholarship_id, cleanup):
    token = student.access_token
    withdraw = cleanup.remove_created(lambda created: api.delete(
        "/api/v1/applications/{application_id}", path_params={"application_id": created["id"]},
        token=token, expect={204, 404}))
    app_id = api.post("/api/v1/applications", json={"scholarship_id": scholarship_id},
                      token=token, expect=201, schema="application", learn=withdraw).json()["id"]
    ids = {"application_id": app_id}
    api.put(DRAFT, path_params=ids, token=token, json={"version": 0, "content": {"a": 1}},
            expect=200, schema="draft")
    stale = api.put(DRAFT, path_params=ids, token=token, json={"version": 0, "content": {"a": 2}},
                    expect=409)
    problem(stale, "version-conflict")
    stale.ensure(stale.json().get("current_version") == 1, "current_version 1 in the problem")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
