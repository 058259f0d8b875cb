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


def expected_text(expected: frozenset[int]) -> str:
    """frozenset() -> 'a 2xx'; {200, 201} -> '200 or 201'."""
    if not expected:
        return "a 2xx"
    return " or ".join(str(s) for s in sorted(expected))


def no_answer_reason(exc: Exception, settings: ClientSettings) -> str:
    """Why a request got no answer, in a clause: 'connection refused'."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timed out after {settings.connect_timeout_s:g} s"
    if isinstance(exc, requests.Timeout):
        return f"read timed out after {settings.read_timeout_s:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        match = _CERT_REFUSED.search(str(exc))
        detail = match.group(1) if match else type(exc).__name__
        return f"the TLS handshake failed ({detail}); see the certificate check"
    if isinstance(exc, requests.ConnectionError):
        if "refused" in str(exc).lower():
            return "connection refused"
        return f"connection failed ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


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


def no_answer(name: CallName, expected: frozenset[int], attempts: int, reason: str) -> str:
    return (f"{name.where} expected {expected_text(expected)}, got no answer after "
            f"{attempts} attempt(s): {reason} {name.tag}")


def probe_no_answer(name: CallName, attempts: int, reason: str) -> str:
    """For the probe of the target, which names no check."""
    return (f"{name.method} {name.route} got no answer after {attempts} attempt(s): "
            f"{reason} {name.tag}")


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
