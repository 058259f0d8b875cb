"""The sentences a failing call ends with (docs/checks.md, "Reading a failure")."""

from __future__ import annotations

import json

import pytest
import requests
from client_harness import SETTINGS

from synthmon.suite import messages
from synthmon.suite.messages import CallName

NAME = CallName("tests/synthetic/test_health.py::test_health_is_ok", "GET", "/health", "r.c.1")


def test_what_was_expected_reads_as_english():
    assert messages.expected_text(frozenset()) == "a 2xx"
    assert messages.expected_text(frozenset({201, 200})) == "200 or 201"


@pytest.mark.parametrize(("exc", "reason"), [
    (requests.ConnectTimeout("x"), "connect timed out after 2 s"),
    (requests.ReadTimeout("x"), "read timed out after 5 s"),
    (requests.ConnectionError("[Errno 111] Connection refused"), "connection refused"),
    (requests.ConnectionError("reset by peer"), "connection failed (ConnectionError)"),
    (requests.TooManyRedirects("loop"), "TooManyRedirects: loop"),
])
def test_no_answer_says_why_in_a_clause(exc, reason):
    assert messages.no_answer_reason(exc, SETTINGS) == reason


def test_a_problem_answer_is_summed_up_by_its_type_and_detail():
    body = json.dumps({"type": "https://x/problems/not-ready", "title": "Not ready",
                       "detail": "dependency failing: database"}).encode()
    assert messages.answer_summary("application/problem+json", body) == \
        "(not-ready: dependency failing: database)"


@pytest.mark.parametrize(("content_type", "body", "summary"), [
    ("text/html", b"<html><title>502 Bad Gateway</title>nginx</html>",
     "(text/html page titled '502 Bad Gateway')"),
    ("application/json", b"{not json", "(a application/json body that is not JSON)"),
    ("application/json", b'{"email": "someone@example.org"}', "(application/json)"),
    ("", b"ok", "(no content type, 2 bytes)"),
])
def test_other_answers_are_summed_up_without_echoing_the_body(content_type, body, summary):
    assert messages.answer_summary(content_type, body) == summary


def test_every_sentence_names_the_check_the_endpoint_and_the_synthetic_id():
    head = "tests/synthetic/test_health.py::test_health_is_ok: GET /health"
    assert messages.wrong_status(NAME, frozenset({200}), 503, "text/plain", b"down") == \
        f"{head} expected 200, got 503 (text/plain, 4 bytes) [synthetic id r.c.1]"
    assert messages.no_answer(NAME, frozenset(), 3, "connection refused") == \
        f"{head} expected a 2xx, got no answer after 3 attempt(s): connection refused " \
        "[synthetic id r.c.1]"
    assert messages.schema_broken(NAME, 200, "health", "at $.build_id: 3 is not of type "
                                  "'string'") == \
        f"{head} answered 200 but the body breaks schema health at $.build_id: 3 is not " \
        "of type 'string' [synthetic id r.c.1]"
    assert messages.over_limit(NAME, 603.2, 602.9, 50, 500) == \
        f"{head} took 603 ms, over its hard limit of 500 ms (budget 50 ms, TTFB 603 ms) " \
        "[synthetic id r.c.1]"
    assert messages.not_as_expected(NAME, 200, "the SLO families") == \
        f"{head} answered 200, but expected the SLO families [synthetic id r.c.1]"
    assert messages.not_sent_down(NAME, "connection refused") == \
        f"{head} was not sent: the target is down (connection refused) [synthetic id r.c.1]"
