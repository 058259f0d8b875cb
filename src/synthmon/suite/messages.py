"""The sentences a failing call ends with, for the on-call engineer who reads them.

Each names the check, the endpoint, what was expected, what came back, and the synthetic id
to search for in the logs (docs/checks.md, "Reading a failure"). What came back is said in a
few words, never by echoing a body that may hold personal data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import requests

from synthmon.client_settings import ClientSettings
from synthmon.samples import BODY_TOO_LARGE, DEADLINE

JSON_TYPES = ("application/json", "application/problem+json")
_TITLE = re.compile(rb"<title>(.{0,80}?)</title>", re.I | re.S)


@dataclass(frozen=True, slots=True)
class CallName:
    """Who made the call and where it went: the head and tail of every sentence."""

    check: str
    method: str
    route: str
    synthetic_id: str

    @property
    def where(self) -> str:
        return f"{self.check}: {self.method} {self.route}"

    @property
    def tag(self) -> str:
        return f"[synthetic id {self.synthetic_id}]"


_CERT_REFUSED = re.compile(r"(certificate verify failed: [^(]{0,160}?)\s*(?:\(_ssl|$)")


# how a refused certificate reads: the target is there, the client does not trust it
TLS_FAILED = "the TLS handshake failed"

def expected_text(expected: frozenset[int]) -> str:
    """frozenset() -> 'a 2xx'; {200, 201} -> '200 or 201'."""
    if not expected:
        return "a 2xx"
    return " or ".join(str(s) for s in sorted(expected))


def no_answer_reason(exc: BaseException, settings: ClientSettings) -> str:
    """Why a request got no answer (no response headers), in a clause: 'connection refused'."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timed out after {settings.connect_timeout_s:g} s"
    if isinstance(exc, requests.Timeout):
        return f"read timed out after {settings.read_timeout_s:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        match = _CERT_REFUSED.search(str(exc))
        detail = match.group(1) if match else type(exc).__name__
        return f"{TLS_FAILED} ({detail}); see the certificate check"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "reset" in text:
            return "connection reset"
        if "remotedisconnected" in text or "without response" in text:
            return "the connection closed before any answer"
        return f"connection failed ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def body_cut_short(exc: BaseException, status: int, received: int, announced: int | None,
                   settings: ClientSettings) -> str:
    """Why an answer whose headers came has no complete body: 'a 200 answer, then the
    connection closed after 312 bytes of its body (Content-Length 1000)'."""
    if isinstance(exc, requests.Timeout | TimeoutError):
        return (f"a {status} answer, then its body stopped: read timed out after "
                f"{settings.read_timeout_s:g} s with {_bytes(received)} of it received")
    length = f" (Content-Length {announced})" if announced is not None else ""
    return (f"a {status} answer, then the connection closed after {_bytes(received)} of its "
            f"body{length}")


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"


def past_deadline(deadline_s: float, received: int | None) -> str:
    """'no complete answer within 10 s: 312 bytes received' (None: no headers came)."""
    got = "no response headers" if received is None else f"{_bytes(received)} received"
    return f"no complete answer within {deadline_s:g} s: {got}"


def too_large(received: int, announced: int | None, cap: int) -> str:
    if received == 0 and announced is not None:
        return (f"its Content-Length {announced} is over the {cap}-byte cap "
                "(client.max_body_bytes): the body was not read")
    return (f"its body is over the {cap}-byte cap (client.max_body_bytes): reading stopped "
            f"after {received} bytes")


def outcome(error_type: str, reason: str, attempts: int, status: int | None) -> str:
    """How a call without a complete answer ended, as the tail of a sentence; `status`:
    that of the response headers, when they came."""
    if error_type == BODY_TOO_LARGE:
        return f"got {status}, but {reason}"
    if error_type == DEADLINE:
        return f"got {reason} ({attempts} attempt(s))"
    if status is not None:  # the headers came, the body did not
        return f"got no complete answer after {attempts} attempt(s): {reason}"
    return f"got no answer after {attempts} attempt(s): {reason}"


def content_type_of(headers: requests.structures.CaseInsensitiveDict[str]) -> str:
    return headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def answer_summary(content_type: str, content: bytes) -> str:
    """What came back, in a few words: '(not-ready: dependency failing: database)',
    "(text/html page titled '502 Bad Gateway')", '(text/plain, 2 bytes)'."""
    if content_type in JSON_TYPES:
        try:
            body = json.loads(content)
        except ValueError:
            return f"(a {content_type} body that is not JSON)"
        if isinstance(body, dict) and "type" in body:
            detail = str(body.get("detail") or body.get("title") or "")[:120]
            return f"({problem_slug(body)}: {detail})"
        return f"({content_type})"
    match = _TITLE.search(content[:4096])
    if match:
        title = match.group(1).decode("utf-8", "replace").strip()
        return f"({content_type or 'no content type'} page titled {title!r})"
    return f"({content_type or 'no content type'}, {len(content)} bytes)"


def problem_slug(body: object) -> str | None:
    """The last segment of a problem+json `type`, e.g. 'token-expired'."""
    kind = body.get("type") if isinstance(body, dict) else None
    return kind.rsplit("/", 1)[-1] if isinstance(kind, str) else None


def not_sent_down(name: CallName, why: str) -> str:
    return f"{name.where} was not sent: the target is down ({why}) {name.tag}"


def not_sent(name: CallName, why: str) -> str:
    return f"{name.where} was not sent: {why}"


def incomplete(name: CallName, expected: frozenset[int], ended: str) -> str:
    """`ended`: outcome(...): 'got no answer after 3 attempt(s): connection refused'."""
    return f"{name.where} expected {expected_text(expected)}, {ended} {name.tag}"


def probe_incomplete(name: CallName, ended: str) -> str:
    """For the probe of the target, which names no check."""
    return f"{name.method} {name.route} {ended} {name.tag}"


def wrong_status(name: CallName, expected: frozenset[int], status: int, content_type: str,
                 content: bytes) -> str:
    return (f"{name.where} expected {expected_text(expected)}, got {status} "
            f"{answer_summary(content_type, content)} {name.tag}")


def schema_broken(name: CallName, status: int, schema: str, problem: str) -> str:
    return (f"{name.where} answered {status} but the body breaks schema {schema} {problem} "
            f"{name.tag}")


def over_limit(name: CallName, total_ms: float, ttfb_ms: float, budget_ms: float,
               hard_limit_ms: float) -> str:
    return (f"{name.where} took {total_ms:.0f} ms, over its hard limit of {hard_limit_ms:.0f} "
            f"ms (budget {budget_ms:.0f} ms, TTFB {ttfb_ms:.0f} ms) {name.tag}")


def not_as_expected(name: CallName, status: int | None, expected: str) -> str:
    """A check's own expectation of an answer (`resp.ensure`)."""
    return f"{name.where} answered {status}, but expected {expected} {name.tag}"
