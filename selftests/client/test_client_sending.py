"""Sending: one attempt timed body included, retries only where they are safe (never for
a refused certificate: the same one comes back)."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest
import requests
import trustme
from client_harness import SETTINGS
from support.http_stub import serving

from synthmon.suite.sending import Transport, retry_wanted


@pytest.mark.parametrize(("status", "retry", "expected", "attempts", "wanted"), [
    (None, True, frozenset(), 1, True),  # no answer: try again
    (503, True, frozenset(), 2, True),
    (503, True, frozenset(), 3, False),  # retries (2) used up
    (503, True, frozenset({503}), 1, False),  # the check expects it
    (500, True, frozenset(), 1, False),  # not a transient status
    (503, False, frozenset(), 1, False),  # not idempotent
    (200, True, frozenset(), 1, False),
])
def test_a_retry_is_due_only_for_no_answer_or_a_transient_status(status, retry, expected,
                                                                 attempts, wanted):
    assert retry_wanted(status, retry=retry, expected=expected, attempts=attempts,
                        retries=2) is wanted


class Scripted(BaseHTTPRequestHandler):
    """Answers with the statuses in `script` in turn (then 200), after `pause` s between
    the headers and the body."""

    protocol_version = "HTTP/1.1"
    script: ClassVar[list[int]] = []
    pause = 0.0
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        status = self.script.pop(0) if self.script else 200
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        time.sleep(self.pause)
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def scripted(*statuses: int, pause: float = 0.0) -> type[Scripted]:
    return type("Script", (Scripted,), {"script": list(statuses), "pause": pause, "seen": 0})


def transport(**overrides: object) -> tuple[Transport, list[float]]:
    session = requests.Session()
    session.trust_env = False
    waits: list[float] = []
    return Transport(session, dataclasses.replace(SETTINGS, **overrides), use_env=False,
                     sleep=waits.append), waits


def prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url + "/x").prepare()


def test_transient_statuses_are_retried_with_the_policy_backoff():
    handler = scripted(503, 502)
    with serving(handler) as url:
        t, waits = transport(retries=2, backoff_base_s=0.2, backoff_max_s=2.0)
        sent = t.send(prepared(url), retry=True, expected=frozenset())
    assert sent.attempts == 3 and sent.last.status == 200 and handler.seen == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 0.2 and 0 <= waits[1] <= 0.4


def test_the_last_answer_is_kept_when_retries_run_out():
    with serving(scripted(503, 503, 503, 503)) as url:
        t, waits = transport(retries=1)
        sent = t.send(prepared(url), retry=True, expected=frozenset())
    assert (sent.attempts, sent.last.status, len(waits)) == (2, 503, 1)


def test_a_call_that_may_not_be_retried_is_sent_once():
    handler = scripted(503)
    with serving(handler) as url:
        sent = transport()[0].send(prepared(url), retry=False, expected=frozenset())
    assert (sent.attempts, sent.last.status, handler.seen) == (1, 503, 1)


def test_the_clock_runs_until_the_body_has_arrived():
    with serving(scripted(pause=0.3)) as url:
        attempt = transport()[0].attempt(prepared(url), time.monotonic() + 10)
    assert attempt.content == b'{"ok": true}' and attempt.ttfb_ms is not None
    assert attempt.total_ms - attempt.ttfb_ms >= 250, attempt


def test_no_answer_is_an_attempt_with_a_reason_and_no_status():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    t, waits = transport(retries=2)
    sent = t.send(prepared(url), retry=True, expected=frozenset())
    assert sent.attempts == 3 and len(waits) == 2
    last = sent.last
    assert last.status is None and last.response is None and last.ttfb_ms is None
    assert last.failure is not None and last.failure.reason == "connection refused"


class _Counting(socketserver.ThreadingTCPServer):
    """Counts the connections it accepts (each try of a call opens one); with `tls`, it
    shakes hands on each with that context before handing it on."""

    daemon_threads = True
    accepted = 0
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()
        self.accepted += 1
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True)  # a refusal raises here
        return conn, address


@contextlib.contextmanager
def counting(handler: type[socketserver.BaseRequestHandler],
             tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, _Counting]]:
    server = _Counting(("127.0.0.1", 0), handler)
    server.tls = tls
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_refused_certificate_is_not_retried():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)  # a CA nobody trusts
    with counting(scripted(), tls=context) as (url, server):
        t, waits = transport(retries=2)
        sent = t.send(prepared(url), retry=True, expected=frozenset())
    last = sent.last
    assert (sent.attempts, waits, server.accepted) == (1, [], 1)
    assert last.status is None and last.failure is not None and last.failure.deterministic
    assert "certificate verify failed" in last.failure.reason, last.failure


class _Hangup(socketserver.BaseRequestHandler):
    """Accepts, then closes without a word: the connection ends before any answer."""

    def handle(self) -> None:
        self.request.close()


def test_a_connection_closed_before_the_answer_is_still_retried():
    with counting(_Hangup) as (url, server):
        t, waits = transport(retries=2)
        sent = t.send(prepared(url), retry=True, expected=frozenset())
    assert (sent.attempts, len(waits), server.accepted) == (3, 2, 3)
    assert sent.last.failure is not None and not sent.last.failure.deterministic
