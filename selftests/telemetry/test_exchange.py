"""The request and response an Allure step shows: no body, token, cookie, password or email."""

from __future__ import annotations

import json

from requests.structures import CaseInsensitiveDict

from synthmon.privacy import scrub_text
from synthmon.suite.exchange import Exchange, register_body_secrets, safe_url


def test_views_hold_shapes_and_allow_listed_headers_only() -> None:
    body = json.dumps({"email": "ann.lee@example.org", "password": "pa55-word-xyz"}).encode()
    register_body_secrets(json.loads(body))
    exchange = Exchange(
        "POST", "/api/v1/auth/login",
        "http://127.0.0.1:1/api/v1/auth/login?e2e=1&q=nursing&token=abcdef123456&email=a%40b.c",
        CaseInsensitiveDict({"Content-Type": "application/json", "Authorization": "Bearer t0k3n",
                             "Cookie": "sa_session=s3cr3t", "X-Synthetic-Id": "r.c.1"}),
        body, 200,
        CaseInsensitiveDict({"Content-Type": "application/json", "Set-Cookie": "sa_session=x"}),
        b'{"access_token": "eyJabc.def.ghi", "user": {"id": "u_1"}}')
    request, response = exchange.request_view(), exchange.response_view()
    text = json.dumps([request, response])
    for secret in ("ann.lee@example.org", "pa55-word-xyz", "t0k3n", "s3cr3t", "abcdef123456",
                   "eyJabc", "a%40b.c"):
        assert secret not in text, secret
    assert request["headers"]["Authorization"] == "[redacted]"
    assert request["headers"]["X-Synthetic-Id"] == "r.c.1"
    assert response is not None and response["headers"]["Set-Cookie"] == "[redacted]"
    assert request["body_shape"].startswith("sha256:") and response["body_shape"].startswith(
        "sha256:")
    assert "q=nursing" in request["url"] and "e2e=1" in request["url"]
    # the values a check sent are now removed literally from any free text
    assert "pa55-word-xyz" not in (scrub_text("echo: pa55-word-xyz") or "")


def test_no_answer_has_no_response_view() -> None:
    exchange = Exchange("GET", "/health", "http://127.0.0.1:1/health?e2e=1",
                        CaseInsensitiveDict(), None, None, None, None)
    assert exchange.response_view() is None
    assert exchange.request_view()["body_shape"] == "empty"
    assert safe_url("http://h/p?e2e=1") == "http://h/p?e2e=1"
