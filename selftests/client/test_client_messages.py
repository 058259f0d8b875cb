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
    (requests.ConnectionError("[Errno 104] Connection reset by peer"), "connection reset"),
    (requests.ConnectionError("RemoteDisconnected('Remote end closed connection without "
                              "response')"), "the connection closed before any answer"),
    (requests.ConnectionError("Max retries exceeded"), "connection failed (ConnectionError)"),
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
    ended = messages.outcome("no-answer", "connection refused", 3, None)
    assert messages.incomplete(NAME, frozenset(), ended) == \
        f"{head} expected a 2xx, got no answer after 3 attempt(s): connection refused " \
        "[synthetic id r.c.1]"
    assert messages.probe_incomplete(NAME, ended) == \
        "GET /health got no answer after 3 attempt(s): connection refused [synthetic id r.c.1]"
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


def test_an_answer_that_stops_halfway_says_how_far_it_came():
    closed = messages.body_cut_short(ConnectionError("reset"), 200, 312, 1000, SETTINGS)
    assert closed == ("a 200 answer, then the connection closed after 312 bytes of its body "
                      "(Content-Length 1000)")
    assert messages.outcome("no-answer", closed, 1, 200) == \
        f"got no complete answer after 1 attempt(s): {closed}"
    stalled = messages.body_cut_short(requests.ReadTimeout("x"), 200, 3, None, SETTINGS)
    assert stalled == ("a 200 answer, then its body stopped: read timed out after 5 s with 3 "
                       "bytes of it received")


def test_the_deadline_and_the_body_cap_are_their_own_sentences():
    assert messages.past_deadline(5, 312) == "no complete answer within 5 s: 312 bytes received"
    assert messages.past_deadline(5, None) == "no complete answer within 5 s: no response headers"
    assert messages.outcome("deadline", messages.past_deadline(5, 312), 1, 200) == \
        "got no complete answer within 5 s: 312 bytes received (1 attempt(s))"
    assert messages.outcome("body-too-large", messages.too_large(4096, None, 4095), 1, 200) == \
        ("got 200, but its body is over the 4095-byte cap (client.max_body_bytes): reading "
         "stopped after 4096 bytes")
    assert messages.too_large(0, 10**9, 4096) == ("its Content-Length 1000000000 is over the "
                                                  "4096-byte cap (client.max_body_bytes): the "
                                                  "body was not read")
