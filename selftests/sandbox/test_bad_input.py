"""Malformed input never reaches storage half-done and never answers 5xx: each bad request
is its documented 4xx problem+json."""

from __future__ import annotations

import uuid

import pytest

from .conftest import STUDENT, Api, assert_problem

LOGIN = "/api/v1/auth/login"


@pytest.mark.parametrize(("body", "headers", "status", "slug"), [
    (b"{not json", {"Content-Type": "application/json"}, 400, "malformed-json"),
    (b'{"email": "a@b.cc", "password": "x"', {"Content-Type": "application/json"}, 400,
     "malformed-json"),
    (b"email=a@b.cc", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "unsupported-media-type"),
    (b'{"email": "a@b.cc"}', {"Content-Type": "text/plain"}, 415, "unsupported-media-type"),
    (b'{"email": "a@b.cc"}', {}, 415, "unsupported-media-type"),
    (b'{"email": "' + b"x" * 70_000 + b'"}', {"Content-Type": "application/json"}, 413,
     "payload-too-large"),
    (b'{"email": 5, "password": "x"}', {"Content-Type": "application/json"}, 422,
     "validation-error"),
    (b'{"email": "a@b.cc"}', {"Content-Type": "application/json"}, 422, "validation-error"),
    (b'{"email": "a@b.cc", "password": "x", "admin": true}',
     {"Content-Type": "application/json"}, 422, "validation-error"),
    (b'{"email": "a@b.cc", "password": "x", "ttl_seconds": 901}',
     {"Content-Type": "application/json"}, 422, "validation-error"),
    (b"[]", {"Content-Type": "application/json"}, 422, "validation-error"),
    (b"", {"Content-Type": "application/json"}, 422, "validation-error"),
])
def test_bad_login_bodies(api: Api, body: bytes, headers: dict[str, str], status: int,
                          slug: str) -> None:
    assert_problem(api.post(LOGIN, data=body, headers=headers), status, slug)


def test_chunked_oversized_body_is_refused(api: Api) -> None:
    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(20):
            yield b" " * 8192

    assert_problem(api.post(LOGIN, data=chunks(), headers={"Content-Type": "application/json"}),
                   413, "payload-too-large")


def test_validation_errors_name_the_field(api: Api) -> None:
    body = assert_problem(api.post(LOGIN, json={"email": "a@b.cc", "password": "x",
                                                "extra": 1}), 422, "validation-error")
    assert {"loc": "body.extra", "msg": "unknown field"} in body["errors"]


@pytest.mark.parametrize(("method", "path", "status", "slug"), [
    ("GET", "/api/v1/nope", 404, "not-found"),
    ("GET", "/nope/deeper?e2e=1", 404, "not-found"),
    ("DELETE", "/api/v1/pricing", 405, "method-not-allowed"),
    ("PUT", "/api/v1/scholarships", 405, "method-not-allowed"),
    ("POST", "/health", 405, "method-not-allowed"),
    ("GET", "/api/v1/scholarships?page=0", 422, "validation-error"),
    ("GET", "/api/v1/scholarships?per_page=51", 422, "validation-error"),
    ("GET", "/api/v1/scholarships?page=abc", 422, "validation-error"),
])
def test_unknown_routes_wrong_methods_bad_queries(api: Api, method: str, path: str,
                                                  status: int, slug: str) -> None:
    response = api.request(method, path)
    assert_problem(response, status, slug)
    if status == 405:
        assert response.headers["allow"]


def test_unknown_query_parameters_are_ignored(api: Api) -> None:
    assert api.get("/api/v1/scholarships?e2e=1&utm_source=x").status_code == 200


def test_bad_signup_writes_nothing(api: Api) -> None:
    email = f"synthetic+{uuid.uuid4().hex[:8]}@sandbox.scholarshipai.test"
    for bad in ({"email": email, "password": "short", "role": "student"},
                {"email": email, "password": "p" * 12, "role": "admin"},
                {"email": email, "password": "p" * 12, "role": "student", "is_admin": True},
                {"email": "not-an-email", "password": "p" * 12, "role": "student"}):
        assert_problem(api.post("/api/v1/auth/signup", json=bad), 422, "validation-error")
    assert api.post("/api/v1/auth/signup", json={"email": email, "password": "p" * 12,
                                                 "role": "student"}).status_code == 201


def test_bad_draft_writes_leave_the_draft_untouched(api: Api) -> None:
    headers = api.bearer(STUDENT)
    app = api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                   headers=headers).json()
    path = f"/api/v1/applications/{app['id']}/draft"
    assert api.put(path, json={"version": 0, "content": {"ok": 1}}, headers=headers).ok
    for bad, status in (({"version": "one", "content": {}}, 422),
                        ({"version": -1, "content": {}}, 422),
                        ({"version": 1}, 422),
                        ({"version": 1, "content": []}, 422),
                        ({"version": 1, "content": {}, "status": "submitted"}, 422),
                        ({"version": 1, "content": {"essay": "x" * 40_000}}, 422),
                        ({"version": 7, "content": {"lost": True}}, 409)):
        response = api.put(path, json=bad, headers=headers)
        assert 400 <= response.status_code < 500 and response.status_code == status, bad
    after = api.get(path, headers=headers).json()
    assert after["version"] == 1 and after["content"] == {"ok": 1}


def test_bad_ids_are_404_not_500(api: Api) -> None:
    headers = api.bearer(STUDENT)
    for path in ("/api/v1/scholarships/%00", "/api/v1/scholarships/' ;--",
                 "/api/v1/applications/app_nope/draft", "/api/v1/applications/x"):
        response = api.get(path, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
