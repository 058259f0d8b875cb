"""Sending one call: the transport, the clock around each attempt, and the retries.

The clock runs around the whole request, body included (requests' `Response.elapsed` stops
at the headers), with the time to the headers beside it. Idempotent calls are retried with
the policy's backoff on no answer and on 502/503/504, unless the check expects that status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar

from synthmon.backoff import Backoff
from synthmon.client_settings import ClientSettings
from synthmon.suite.messages import no_answer_reason
from synthmon.suite.phases import FreshConnectionAdapter, phases, setup_of

# Safe methods only by default: PUT/DELETE are idempotent in HTTP terms, but a retried draft
# PUT after a lost answer meets its own version bump (409). A check can opt in per call.
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Why an attempt got no (complete) answer."""

    error_type: str
    reason: str  # a clause for the failure sentence: "connection refused"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try on the wire, timed."""

    response: requests.Response | None  # None when nothing came back
    content: bytes
    total_ms: float  # the whole attempt, body included
    ttfb_ms: float | None  # to the response headers; None without an answer
    failure: NoAnswer | None = None
    phases: dict[str, float] | None = None  # over a fresh connection only (phases.py)

    @property
    def status(self) -> int | None:
        if self.failure is not None or self.response is None:
            return None
        return self.response.status_code


@dataclass(frozen=True, slots=True)
class Sent:
    """The attempt a call ends with, and how many it took."""

    last: Attempt
    attempts: int


def retry_wanted(status: int | None, *, retry: bool, expected: frozenset[int],
                 attempts: int, retries: int) -> bool:
    """After `attempts` tries ending in `status` (None: no answer), is another one due?"""
    if not retry or attempts > retries:
        return False
    if status is None:
        return True
    return status in RETRY_STATUSES and status not in expected


class Transport:
    """One session's way to the wire: sends a prepared request, times it, retries it."""

    def __init__(self, session: requests.Session, settings: ClientSettings, use_env: bool,
                 sleep: Callable[[float], None] = time.sleep, verify: str | bool = True) -> None:
        self.session = session
        self.settings = settings
        self.use_env = use_env
        self.verify = verify  # a CA bundle file, or True: the public roots
        self.backoff: Backoff = settings.backoff()
        self.sleep = sleep

    def send(self, prepared: requests.PreparedRequest, *, retry: bool,
             expected: frozenset[int], fresh: bool = False) -> Sent:
        """`fresh`: the first attempt goes over a new connection of its own and records
        its phases (a retry keeps the pool)."""
        attempts = 0
        while True:
            attempts += 1
            attempt = self.attempt(prepared, fresh=fresh and attempts == 1)
            if not retry_wanted(attempt.status, retry=retry, expected=expected,
                                attempts=attempts, retries=self.settings.retries):
                return Sent(attempt, attempts)
            if attempt.response is not None:
                attempt.response.close()
            self.sleep(self.backoff.wait(attempts - 1))

    def attempt(self, prepared: requests.PreparedRequest, fresh: bool = False) -> Attempt:
        send, send_kwargs = self._sender(prepared)
        adapter = FreshConnectionAdapter() if fresh else None
        if adapter is not None:
            send = adapter.send
            send_kwargs.pop("allow_redirects", None)  # Session.send's, not the adapter's
        set_up = None
        t0 = time.perf_counter()
        try:
            raw = send(prepared, **send_kwargs)
            t_headers = time.perf_counter()
            if adapter is not None:
                set_up = setup_of(raw)  # read before the body returns the connection
            content = raw.content  # the body is part of what the user waits for
            t_end = time.perf_counter()
        except requests.RequestException as exc:
            total_ms = (time.perf_counter() - t0) * 1000.0
            kind = "timeout" if isinstance(exc, requests.Timeout) else type(exc).__name__
            return Attempt(None, b"", total_ms, None,
                           NoAnswer(kind, no_answer_reason(exc, self.settings)))
        finally:
            if adapter is not None:
                adapter.close()
        if send is not self.session.send:  # the session's bookkeeping, unclocked
            extract_cookies_to_jar(self.session.cookies, prepared, raw.raw)
        total_ms, headers_ms = (t_end - t0) * 1000.0, (t_headers - t0) * 1000.0
        return Attempt(raw, content, total_ms, headers_ms,
                       phases=None if set_up is None else phases(set_up, headers_ms, total_ms))

    def _sender(self, prepared: requests.PreparedRequest
                ) -> tuple[Callable[..., requests.Response], dict[str, Any]]:
        kwargs: dict[str, Any] = {"stream": True, "timeout": self.settings.timeout,
                                  "verify": self.verify}
        if self.use_env:
            kwargs["allow_redirects"] = False
            kwargs.update(self.session.merge_environment_settings(
                prepared.url, {}, True, self.verify, None))
            return self.session.send, kwargs
        # Straight to the transport adapter: Session.send's hooks and cookie extraction are
        # client-side work and stay outside the clock.
        return self.session.get_adapter(prepared.url or "").send, kwargs
