"""Sending one call: the transport, the clock around each attempt, the retries, the deadline.

The clock runs around the whole request, body included (requests' `Response.elapsed` stops
at the headers), with the time to the headers beside it. Idempotent calls are retried with
the policy's backoff on no answer and on 502/503/504, unless the check expects that status;
a certificate the client refuses is never retried (the same certificate comes back).
A call, retries included, ends by `client.deadline_s` whatever the server does (the
watchdog of deadline.py cuts the socket), and its body is read in chunks and given up past
`client.max_body_bytes`, so a huge answer never sits in memory.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from requests.cookies import extract_cookies_to_jar

from synthmon.backoff import Backoff
from synthmon.client_settings import ClientSettings
from synthmon.samples import BODY_TOO_LARGE, DEADLINE, NO_ANSWER
from synthmon.suite import messages
from synthmon.suite.deadline import WATCHDOG
from synthmon.suite.phases import FreshConnectionAdapter, phases, setup_of

# Safe methods only by default: PUT/DELETE are idempotent in HTTP terms, but a retried draft
# PUT after a lost answer meets its own version bump (409). A check can opt in per call.
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})
CHUNK_BYTES = 64 * 1024
_BODY_ERRORS = (urllib3.exceptions.HTTPError, requests.RequestException, OSError)
_EARLY_S = 0.005  # a socket timeout capped at the deadline may wake a hair before it


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt got no complete answer."""

    error_type: str  # NO_ANSWER, DEADLINE or BODY_TOO_LARGE
    reason: str  # a clause for the failure sentence: "connection refused"
    # the same try would fail the same way (a refused certificate): never retried, unlike
    # a reset or a timeout
    deterministic: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try on the wire, timed."""

    response: requests.Response | None  # None when no headers came back
    content: bytes
    total_ms: float  # the whole attempt, body included
    ttfb_ms: float | None  # to the response headers; None without them
    failure: Failure | None = None
    phases: dict[str, float] | None = None  # over a fresh connection only (phases.py)

    @property
    def status(self) -> int | None:
        """The answer's status; None unless a complete answer came (a body over the cap
        keeps its status: the server did answer)."""
        if self.response is None:
            return None
        if self.failure is not None and self.failure.error_type != BODY_TOO_LARGE:
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


def certificate_refused(error: BaseException) -> bool:
    """The TLS handshake failed because the client refused the server's certificate (its
    chain, name or dates). requests wraps the ssl error in urllib3's, inside its own: the
    chain of causes and arguments is walked. A reset or an EOF during the handshake is not
    a refusal (it may pass on the next try)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        pending.extend((current.__cause__, current.__context__, *current.args,
                        getattr(current, "reason", None)))
    return False


class BodyTooLarge(Exception):
    def __init__(self, received: int, announced: int | None) -> None:
        super().__init__(received)
        self.received = received
        self.announced = announced


def read_body(raw: requests.Response, cap: int) -> bytes:
    """The decoded body, read a chunk at a time; BodyTooLarge as soon as it passes `cap`
    bytes (or announces more), without reading the rest."""
    announced = _content_length(raw)
    if announced is not None and announced > cap:
        raise BodyTooLarge(0, announced)
    stream = raw.raw
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read1(CHUNK_BYTES, decode_content=True):
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(size, announced)
        chunks.append(chunk)
    return b"".join(chunks)


def _content_length(raw: requests.Response) -> int | None:
    try:
        length = int(raw.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def _received(raw: requests.Response) -> int:
    """Body bytes that came off the wire so far."""
    try:
        return int(raw.raw.tell())
    except (AttributeError, OSError, ValueError):
        return 0


class Transport:
    """One session's way to the wire: sends a prepared request, times it, retries it, all
    within the call's deadline."""

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
        deadline = time.monotonic() + self.settings.deadline_s
        attempts = 0
        while True:
            attempts += 1
            attempt = self.attempt(prepared, deadline, fresh=fresh and attempts == 1)
            failure = attempt.failure
            if (failure is not None and (failure.error_type == DEADLINE
                                         or failure.deterministic)) or \
                    not retry_wanted(attempt.status, retry=retry, expected=expected,
                                     attempts=attempts, retries=self.settings.retries):
                return Sent(attempt, attempts)
            wait = self.backoff.wait(attempts - 1)
            if time.monotonic() + wait >= deadline:
                return Sent(attempt, attempts)  # no time left for another try
            if attempt.response is not None:
                attempt.response.close()
            self.sleep(wait)

    def attempt(self, prepared: requests.PreparedRequest, deadline: float,
                fresh: bool = False) -> Attempt:
        """One try, ended by the deadline (time.monotonic) whatever the server does;
        `fresh`: over a new connection of its own, its set-up timed."""
        send, send_kwargs = self._sender(prepared, deadline)
        adapter = FreshConnectionAdapter() if fresh else None
        if adapter is not None:
            send = adapter.send
            send_kwargs.pop("allow_redirects", None)  # Session.send's, not the adapter's
        set_up = None
        watch = WATCHDOG.arm(deadline)
        raw: requests.Response | None = None
        error: Exception | None = None
        content = b""
        headers_at = math.inf
        t0 = t_headers = time.perf_counter()
        try:
            raw = send(prepared, **send_kwargs)
            t_headers = time.perf_counter()
            headers_at = time.monotonic()
            if adapter is not None:
                set_up = setup_of(raw)  # read before the body returns the connection
            content = read_body(raw, self.settings.max_body_bytes)
        except (BodyTooLarge, *_BODY_ERRORS) as exc:
            error = exc
        finally:
            WATCHDOG.release(watch)
        total_ms = (time.perf_counter() - t0) * 1000.0
        if raw is not None and error is None and not watch.expired:
            raw._content = content  # `raw.content` and `raw.json()` work as requests' do
            # requests' own Response.content sets this private flag; types-requests omits it
            raw._content_consumed = True  # type: ignore[attr-defined]
            if send is not self.session.send:  # the session's bookkeeping, unclocked
                extract_cookies_to_jar(self.session.cookies, prepared, raw.raw)
            if adapter is not None:
                adapter.close()
            headers_ms = (t_headers - t0) * 1000.0
            return Attempt(raw, content, total_ms, headers_ms, phases=None if set_up is None
                           else phases(set_up, headers_ms, total_ms))
        if raw is not None:
            raw.close()  # whatever is left of the body is never read
        if adapter is not None:
            adapter.close()
        # Headers "received" only once the socket was cut at the deadline are not an answer.
        if headers_at >= deadline - _EARLY_S:
            raw = None
        expired = watch.expired or time.monotonic() >= deadline - _EARLY_S
        return Attempt(raw, b"", total_ms, None if raw is None else (t_headers - t0) * 1000.0,
                       self._failure(error, raw, expired))

    def _failure(self, error: Exception | None, raw: requests.Response | None,
                 expired: bool) -> Failure:
        """What ended an attempt without a complete answer; `raw`: the response whose
        headers came in time, if any."""
        if isinstance(error, BodyTooLarge):
            return Failure(BODY_TOO_LARGE, messages.too_large(
                error.received, error.announced, self.settings.max_body_bytes))
        if expired or error is None:
            return Failure(DEADLINE, messages.past_deadline(
                self.settings.deadline_s, None if raw is None else _received(raw)))
        if raw is None:
            return Failure(NO_ANSWER, messages.no_answer_reason(error, self.settings),
                           deterministic=certificate_refused(error))
        return Failure(NO_ANSWER, messages.body_cut_short(
            error, raw.status_code, _received(raw), _content_length(raw), self.settings))

    def _sender(self, prepared: requests.PreparedRequest, deadline: float
                ) -> tuple[Callable[..., requests.Response], dict[str, Any]]:
        remaining = max(0.001, deadline - time.monotonic())
        # Capped at what is left: a connect the watchdog cannot cut yet (no socket) and a
        # proxy's connections (not the watched kind) end by the deadline too.
        timeout = (min(self.settings.connect_timeout_s, remaining),
                   min(self.settings.read_timeout_s, remaining))
        kwargs: dict[str, Any] = {"stream": True, "timeout": timeout, "verify": self.verify}
        if self.use_env:
            kwargs["allow_redirects"] = False
            kwargs.update(self.session.merge_environment_settings(
                prepared.url, {}, True, self.verify, None))
            return self.session.send, kwargs
        # Straight to the transport adapter: Session.send's hooks and cookie extraction are
        # client-side work and stay outside the clock.
        return self.session.get_adapter(prepared.url or "").send, kwargs
