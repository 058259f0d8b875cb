"""The api client end to end in this process: what every request carries, one Sample per
call, and the sentence a failed call ends with."""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler

import pytest
from client_harness import CHECK, SETTINGS
from support.http_stub import serving

from synthmon.suite.client import TargetDown

HEALTH = json.dumps({"status": "ok", "build_id": "b1", "git_sha": "abcdef1",
                     "uptime_seconds": 1, "cohort": "control"}).encode()


def handler_answering(status: int, content_type: str, body: bytes,
                      seen: list[dict[str, str]] | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if seen is not None:
                seen.append({"path": self.path, **dict(self.headers.items())})
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_every_request_carries_the_canary_marks(make_client):
    seen: list[dict[str, str]] = []
    with serving(handler_answering(200, "application/json", HEALTH, seen)) as url:
        client, _ = make_client(url)
        response = client.get("/health", params={"q": "a b"}, expect=200, schema="health")
    request = seen[0]
    assert request["User-Agent"] == SETTINGS.user_agent
    assert request["path"] == "/health?q=a+b&e2e=1"
    assert request["X-Synthetic-Id"] == "run-1.x-x.1" == response.synthetic_id
    assert request["traceparent"].startswith("00-")
    assert response.json()["build_id"] == "b1"


def test_one_sample_per_call_with_what_the_reports_need(make_client):
    with serving(handler_answering(200, "application/json", HEALTH)) as url:
        client, recorded = make_client(url)
        client.get("/health", expect=200, schema="health")
        client.get("/health", expect=200)
    first, second = recorded.samples
    assert (first.check, first.method, first.route, first.status) == (CHECK, "GET", "/health",
                                                                      200)
    assert first.schema_ok is True and second.schema_ok is None
    assert (first.budget_ms, first.hard_limit_ms, first.critical) == (50, 500, True)
    assert first.total_ms >= (first.ttfb_ms or 0) > 0 and first.attempts == 1
    assert second.synthetic_id == "run-1.x-x.2" and first.trace_id != second.trace_id
    assert recorded.exchanges[0] is not None and recorded.exchanges[0].status == 200


def test_a_path_template_is_filled_and_the_template_is_the_route(make_client):
    seen: list[dict[str, str]] = []
    with serving(handler_answering(200, "application/json", b"{}", seen)) as url:
        client, recorded = make_client(url)
        client.get("/api/v1/scholarships/{scholarship_id}", path_params={"scholarship_id": "a/b"})
    assert seen[0]["path"] == "/api/v1/scholarships/a%2Fb?e2e=1"
    assert recorded.samples[0].route == "/api/v1/scholarships/{scholarship_id}"


def test_a_wrong_status_fails_with_what_came_back(make_client):
    page = b"<html><title>502 Bad Gateway</title></html>"
    with serving(handler_answering(502, "text/html", page)) as url:
        client, recorded = make_client(url, retries=0)
        with pytest.raises(pytest.fail.Exception) as failed:
            client.get("/health", expect=200)
    assert str(failed.value) == (f"{CHECK}: GET /health expected 200, got 502 (text/html page "
                                 "titled '502 Bad Gateway') [synthetic id run-1.x-x.1]")
    sample = recorded.samples[0]
    assert sample.status == 502 and sample.error_type == "http-5xx" and sample.schema_ok is False


def test_a_body_that_breaks_the_schema_fails_naming_the_path(make_client):
    with serving(handler_answering(200, "application/json", HEALTH.replace(b'"b1"', b"3"))) as url:
        client, recorded = make_client(url)
        with pytest.raises(pytest.fail.Exception) as failed:
            client.get("/health", expect=200, schema="health")
    assert "GET /health answered 200 but the body breaks schema health at $.build_id: 3 is " \
        "not of type 'string' [synthetic id run-1.x-x.1]" in str(failed.value)
    assert recorded.samples[0].schema_error == \
        "health: at $.build_id: 3 is not of type 'string'"


def test_an_unchecked_call_records_but_judges_nothing(make_client):
    with serving(handler_answering(500, "text/plain", b"boom")) as url:
        client, recorded = make_client(url, retries=0)
        response = client.get("/health", expect=200, checked=False)
    assert response.status_code == 500 and recorded.samples[0].status == 500


def test_no_answer_fails_the_check_then_the_probe_raises_target_down(make_client):
    client, recorded = make_client(refused_url(), retries=1)
    with pytest.raises(pytest.fail.Exception) as failed:
        client.get("/health", expect=200)
    assert str(failed.value).endswith("expected 200, got no answer after 2 attempt(s): "
                                      "connection refused [synthetic id run-1.x-x.1]")
    with pytest.raises(TargetDown, match=r"^GET /health got no answer after 2 attempt\(s\)"):
        client.get("/health", expect=200, checked=False)
    sample = recorded.samples[0]
    assert sample.status is None and sample.attempts == 2 and sample.ttfb_ms is None


def test_once_the_target_is_down_calls_fail_at_once_unsent(make_client):
    def down() -> str:
        raise TargetDown("the target http://x is down: connection refused")

    client, recorded = make_client(down)
    with pytest.raises(pytest.fail.Exception, match="was not sent: the target http://x is down"):
        client.get("/health")
    with pytest.raises(pytest.fail.Exception, match=r"was not sent: the target is down \(the "):
        client.get("/health")
    assert [s.attempts for s in recorded.samples] == [0, 0]
    assert recorded.exchanges == [None, None]


def test_a_slow_answer_over_the_hard_limit_fails_with_its_times(make_client, monkeypatch):
    from synthmon.policy import Budget

    with serving(handler_answering(200, "application/json", HEALTH)) as url:
        client, recorded = make_client(url)
        monkeypatch.setattr(client.core.budgets, "for_endpoint",
                            lambda method, route: Budget(0.001, 0.002, True))
        with pytest.raises(pytest.fail.Exception, match=r"GET /health took \d+ ms, over its "
                           r"hard limit of 0 ms \(budget 0 ms, TTFB \d+ ms\)"):
            client.get("/health", expect=200)
    assert recorded.samples[0].budget_verdict == "over_limit"


def test_learn_sees_the_answer_before_the_sample_is_made(make_client):
    learnt: list[tuple[int, bytes]] = []
    with serving(handler_answering(200, "application/json", HEALTH)) as url:
        client, recorded = make_client(url)
        client.get("/health", checked=False, learn=lambda status, body: learnt.append(
            (status, body)))
    assert learnt == [(200, HEALTH)] and len(recorded.samples) == 1
