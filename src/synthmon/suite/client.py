"""The `api` client: what a check uses to talk to the target, one Sample per call.

Every request carries the canary User-Agent, `e2e=1`, a fresh `X-Synthetic-Id`
(`<run id>.<check>.<seq>`) and a W3C traceparent. The clock runs around the whole request,
body included (requests' `Response.elapsed` stops at the headers), with TTFB beside it.
Idempotent calls are retried with exponential backoff and full jitter on connection errors,
timeouts and 502/503/504; the Sample says how many attempts it took, so a check that passes
only after a retry is reported as flaky, never hidden. A failure is one sentence naming the
check, the endpoint, what was expected, what came back, and the synthetic id.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
from opentelemetry.trace import Status, StatusCode
from requests.cookies import extract_cookies_to_jar

from synthmon.privacy import register_secret
from synthmon.run_context import RunContext
from synthmon.samples import Sample
from synthmon.suite.budgets import Budgets, verdict
from synthmon.suite.exchange import Exchange, register_body_secrets
from synthmon.suite.schemas import SchemaStore
from synthmon.suite.tracing import client_span

# Safe methods only by default: PUT/DELETE are idempotent in HTTP terms, but a retried draft
# PUT after a lost answer meets its own version bump (409). A check can opt in per call.
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})
PROBLEM_SCHEMA = "problem"
_JSON_TYPES = ("application/json", "application/problem+json")
_TITLE = re.compile(rb"<title>(.{0,80}?)</title>", re.I | re.S)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    user_agent: str = "ScholarshipAI-Canary/1.0"
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    retries: int = 2
    backoff_base_s: float = 0.2
    backoff_max_s: float = 2.0

    @classmethod
    def from_policy(cls, client: Mapping[str, Any]) -> ClientSettings:
        defaults = cls()
        return cls(**{name: type(getattr(defaults, name))(client[name])
                      for name in cls.__slots__ if name in client})  # type: ignore[attr-defined]

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, base * 2**attempt), capped."""
        return random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** attempt))


class TargetDown(Exception):
    """The target did not answer at all; later calls fail at once instead of timing out."""


class ApiResponse:
    """The answer to one call: status, headers, the body (read once) and its Sample."""

    __slots__ = ("_json", "content", "headers", "raw", "sample", "status_code")

    def __init__(self, raw: requests.Response, content: bytes, sample: Sample) -> None:
        self.raw = raw
        self.status_code = raw.status_code
        self.headers = raw.headers
        self.content = content
        self.sample = sample
        self._json: Any = _UNSET

    @property
    def synthetic_id(self) -> str:
        return self.sample.synthetic_id

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def cookies(self) -> requests.cookies.RequestsCookieJar:
        return self.raw.cookies

    def json(self) -> Any:
        if self._json is _UNSET:
            self._json = json.loads(self.content)
        return self._json

    def ensure(self, condition: object, expected: str) -> None:
        """Fail the check unless `condition` holds, saying what the user flow expected of
        this answer: `resp.ensure(items, "a search for 'scholarship' finds something")`."""
        if not condition:
            s = self.sample
            pytest.fail(f"{s.check}: {s.endpoint} answered {s.status}, but expected "
                        f"{expected} [synthetic id {s.synthetic_id}]", pytrace=False)

    @property
    def problem_slug(self) -> str | None:
        """The last segment of a problem+json `type`, e.g. 'token-expired'."""
        try:
            body = self.json()
        except ValueError:
            return None
        kind = body.get("type") if isinstance(body, dict) else None
        return kind.rsplit("/", 1)[-1] if isinstance(kind, str) else None


_UNSET: Any = object()


class ClientCore:
    """Per process: the pooled session, the target, the policy's settings, the schemas.

    Checks never see this; they get an ApiClient. `check_name` and `record` are supplied by
    the plugin (the running test and the sample hook)."""

    def __init__(
        self,
        base_url: Callable[[], str],
        settings: ClientSettings,
        schemas: SchemaStore,
        budgets: Budgets,
        run_context: Callable[[], RunContext],
        current_check: Callable[[], tuple[str, str]],
        record: Callable[[Sample, Exchange | None], None],
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.schemas = schemas
        self.budgets = budgets
        self.run_context = run_context
        self.current_check = current_check
        self.record = record
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self.down: str | None = None  # why the target is considered down
        self._seq: dict[str, int] = {}
        # requests re-reads proxy variables and .netrc on every call when trust_env is on
        # (about half of its per-call overhead); only pay for that when a proxy is set.
        self.use_env = bool(urllib.request.getproxies())
        self.session = self.new_session()

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = self.use_env
        session.headers.update({"User-Agent": self.settings.user_agent,
                                "Accept": "application/json"})
        return session

    def next_synthetic_id(self, run_id: str, short_check: str) -> str:
        seq = self._seq.get(short_check, 0) + 1
        self._seq[short_check] = seq
        return f"{run_id}.{short_check}.{seq}"


class ApiClient:
    """What a check writes: `api.get("/api/v1/scholarships", params={"q": "nursing"},
    expect=200, schema="scholarship-search")`. Route templates are either passed with
    `path_params` (`api.get("/api/v1/scholarships/{scholarship_id}", path_params=...)`) or
    named with `route=`; budgets and samples are keyed by the template."""

    def __init__(self, core: ClientCore, session: requests.Session | None = None) -> None:
        self.core = core
        self.session = session or core.session
        self._owned: list[requests.Session] = []

    def browser(self) -> ApiClient:
        """A client with its own cookie jar, for cookie sessions (CSRF checks)."""
        session = self.core.new_session()
        self._owned.append(session)
        return ApiClient(self.core, session)

    def close(self) -> None:
        for session in self._owned:
            session.close()
        self._owned.clear()

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("OPTIONS", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        expect: int | Collection[int] | None = None,
        schema: str | None = None,
        path_params: Mapping[str, str] | None = None,
        route: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = _UNSET,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        idempotent: bool | None = None,
        checked: bool = True,
        learn: Callable[[int, bytes], None] | None = None,
    ) -> ApiResponse:
        """One call. `expect`: the status (or statuses) the check expects, default any 2xx.
        `schema`: the response schema for an expected 2xx; an error answer is always held
        against the problem+json schema. `checked=False` (the plugin's own probe) records
        the sample but judges nothing, and raises TargetDown when no answer came.
        `learn(status, body)` (the probe) runs before the span ends and the sample is made,
        so what it learns about the run (the build) is on this call's span and sample too."""
        core = self.core
        method = method.upper()
        route = route or path
        url_path = path.format_map({k: quote(str(v), safe="") for k, v in path_params.items()}) \
            if path_params else path
        expected = _expected(expect)
        context = core.run_context()
        check, short_check = core.current_check()
        synthetic_id = core.next_synthetic_id(context.run_id, short_check)
        budget = core.budgets.for_endpoint(method, route)

        if core.down is not None:
            sample = self._sample(context, check, method, route, None, 0.0, None, budget,
                                  synthetic_id, "", "", time.time(), expected, 0, "target-down")
            core.record(sample, None)
            pytest.fail(f"{check}: {method} {route} was not sent: the target is down "
                        f"({core.down}) [synthetic id {synthetic_id}]", pytrace=False)

        request_headers = {"X-Synthetic-Id": synthetic_id}
        if token is not None:
            register_secret(token)  # never written anywhere, whatever echoes it
            request_headers["Authorization"] = f"Bearer {token}"
        if headers:
            request_headers.update(headers)
        query = dict(params or {})
        query["e2e"] = "1"
        try:
            base = core.base_url()
        except TargetDown as exc:
            core.down = str(exc)
            core.record(self._sample(context, check, method, route, None, 0.0, None, budget,
                                     synthetic_id, "", "", time.time(), expected, 0,
                                     "target-down"), None)
            pytest.fail(f"{check}: {method} {route} was not sent: {exc}", pytrace=False)
        context = core.run_context()  # the first call's probe may have learnt the build
        kwargs: dict[str, Any] = {"params": query, "headers": request_headers}
        if json is not _UNSET:
            register_body_secrets(json)
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = data
        retry = (method in RETRY_METHODS) if idempotent is None else idempotent
        attributes = {
            "http.request.method": method, "url.template": route, "url.full": base + url_path,
            "user_agent.original": core.settings.user_agent, "user_agent.synthetic.type": "test",
            "canary": True, "synthmon.synthetic_id": synthetic_id, "synthmon.check": check,
        }

        started_at = time.time()
        with client_span(f"{method} {route}", request_headers, attributes) as call:
            prepared = self.session.prepare_request(
                requests.Request(method, base + url_path, **kwargs))
            send_kwargs: dict[str, Any] = {"stream": True, "timeout": core.timeout,
                                           "allow_redirects": False}
            if core.use_env:
                send_kwargs.update(self.session.merge_environment_settings(
                    prepared.url, {}, True, None, None))
                send = self.session.send
            else:
                # Straight to the transport adapter: Session.send's hooks and cookie
                # extraction are client-side work and stay outside the clock.
                send = self.session.get_adapter(prepared.url).send
                del send_kwargs["allow_redirects"]
            attempt = 0
            while True:
                attempt += 1
                error_type: str | None = None
                raw: requests.Response | None = None
                t0 = time.perf_counter()
                try:
                    raw = send(prepared, **send_kwargs)
                    t_headers = time.perf_counter()
                    content = raw.content  # the body is part of what the user waits for
                    t_end = time.perf_counter()
                    if send is not self.session.send:  # the session's bookkeeping, unclocked
                        extract_cookies_to_jar(self.session.cookies, prepared, raw.raw)
                except requests.Timeout as exc:
                    t_end = t_headers = time.perf_counter()
                    error_type, failure = "timeout", _describe_exception(exc, core)
                except requests.RequestException as exc:
                    t_end = t_headers = time.perf_counter()
                    error_type, failure = type(exc).__name__, _describe_exception(exc, core)
                if raw is not None and error_type is None:
                    status = raw.status_code
                    if not (retry and status in RETRY_STATUSES and status not in expected
                            and attempt <= core.settings.retries):
                        break
                    raw.close()
                elif not (retry and attempt <= core.settings.retries):
                    break
                time.sleep(core.settings.backoff(attempt - 1))

            total_ms = (t_end - t0) * 1000.0
            if raw is None or error_type is not None:
                call.span.set_attribute("error.type", error_type or "error")
                call.span.set_status(Status(StatusCode.ERROR, failure))
                sample = self._sample(context, check, method, route, None, total_ms, None,
                                      budget, synthetic_id, call.trace_id, call.span_id,
                                      started_at, expected, attempt, error_type)
                core.record(sample, Exchange(method, route, prepared.url or "", prepared.headers,
                                             prepared.body, None, None, None))
                if not checked:
                    raise TargetDown(f"{method} {route} got no answer after {attempt} "
                                     f"attempt(s): {failure} [synthetic id {synthetic_id}]")
                pytest.fail(f"{check}: {method} {route} expected {_fmt(expected)}, got no "
                            f"answer after {attempt} attempt(s): {failure} "
                            f"[synthetic id {synthetic_id}]", pytrace=False)
            ttfb_ms = (t_headers - t0) * 1000.0
            status = raw.status_code
            if learn is not None:
                learn(status, content)
                context = core.run_context()
                # the span processor stamped the run's tags at start, before they were known
                call.span.set_attributes({"build_id": context.build_id,
                                          "git_sha": context.git_sha})
            call.span.set_attribute("http.response.status_code", status)
            status_ok = status in expected if expected else 200 <= status < 300
            schema_name = schema if status_ok and status < 400 else (
                PROBLEM_SCHEMA if status >= 400 else None)
            schema_error = None
            if schema_name is not None:
                schema_error = _schema_problem(core.schemas, schema_name, raw, content,
                                               problem=status >= 400)
            error_label = None if status < 400 or status_ok else str(status)
            if not status_ok or schema_error:
                call.span.set_status(Status(StatusCode.ERROR))
                call.span.set_attribute("error.type", error_label or "schema")
            sample = self._sample(
                context, check, method, route, status, total_ms, ttfb_ms, budget, synthetic_id,
                call.trace_id, call.span_id, started_at, expected, attempt, error_label,
                schema_ok=None if schema_name is None else schema_error is None,
                schema_error=schema_error and f"{schema_name}: {schema_error}",
            )
            core.record(sample, Exchange(method, route, prepared.url or "", prepared.headers,
                                         prepared.body, status, raw.headers, content))
        response = ApiResponse(raw, content, sample)
        if not checked:
            return response

        where = f"{check}: {method} {route}"
        tag = f"[synthetic id {synthetic_id}]"
        if not status_ok:
            pytest.fail(f"{where} expected {_fmt(expected)}, got {status} "
                        f"{_summary(response)} {tag}", pytrace=False)
        if schema_error:
            pytest.fail(f"{where} answered {status} but the body breaks schema "
                        f"{schema_name} {schema_error} {tag}", pytrace=False)
        if sample.budget_verdict == "over_limit":
            pytest.fail(f"{where} took {total_ms:.0f} ms, over its hard limit of "
                        f"{budget.hard_limit_ms:.0f} ms (budget {budget.budget_ms:.0f} ms, "
                        f"TTFB {ttfb_ms:.0f} ms) {tag}", pytrace=False)
        return response

    def _sample(self, context: RunContext, check: str, method: str, route: str,
                status: int | None, total_ms: float, ttfb_ms: float | None, budget: Any,
                synthetic_id: str, trace_id: str, span_id: str, started_at: float,
                expected: frozenset[int], attempts: int, error_type: str | None,
                schema_ok: bool | None = None, schema_error: str | None = None) -> Sample:
        return Sample(
            run_id=context.run_id, check=check, method=method, route=route, status=status,
            total_ms=round(total_ms, 3), ttfb_ms=None if ttfb_ms is None else round(ttfb_ms, 3),
            schema_ok=schema_ok, schema_error=schema_error, budget_ms=budget.budget_ms,
            hard_limit_ms=budget.hard_limit_ms,
            budget_verdict="ok" if status is None else verdict(total_ms, budget),
            synthetic_id=synthetic_id, trace_id=trace_id, span_id=span_id,
            started_at=started_at, target=context.target, cohort=context.cohort,
            region=context.region, device=context.device, build_id=context.build_id,
            git_sha=context.git_sha, critical=budget.critical,
            expected_status=(status if status in expected else min(expected)) if expected
            else None,
            attempts=attempts, error_type=error_type,
        )


def _expected(expect: int | Collection[int] | None) -> frozenset[int]:
    if expect is None:
        return frozenset()
    if isinstance(expect, int):
        return frozenset((expect,))
    return frozenset(expect)


def _fmt(expected: frozenset[int]) -> str:
    if not expected:
        return "a 2xx"
    return " or ".join(str(s) for s in sorted(expected))


def _describe_exception(exc: Exception, core: ClientCore) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timed out after {core.settings.connect_timeout_s:g} s"
    if isinstance(exc, requests.Timeout):
        return f"read timed out after {core.settings.read_timeout_s:g} s"
    if isinstance(exc, requests.ConnectionError):
        reason = str(exc)
        if "refused" in reason.lower():
            return "connection refused"
        return f"connection failed ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def _content_type(raw: requests.Response) -> str:
    return raw.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _schema_problem(store: SchemaStore, name: str, raw: requests.Response, content: bytes,
                    *, problem: bool) -> str | None:
    content_type = _content_type(raw)
    wanted = "application/problem+json" if problem else "application/json"
    if content_type != wanted:
        return (f"at $: expected Content-Type {wanted}, got {content_type or 'none'} "
                f"({len(content)} bytes)")
    try:
        body = json.loads(content)
    except ValueError:
        return f"at $: the body is not JSON ({len(content)} bytes of {content_type})"
    return store.problem(name, body)


def _summary(response: ApiResponse) -> str:
    """What came back, in a few words, without echoing a body that may hold personal data."""
    content_type = _content_type(response.raw)
    if content_type in _JSON_TYPES:
        try:
            body = response.json()
        except ValueError:
            return f"(a {content_type} body that is not JSON)"
        if isinstance(body, dict) and "type" in body:
            detail = str(body.get("detail") or body.get("title") or "")[:120]
            return f"({response.problem_slug}: {detail})"
        return f"({content_type})"
    match = _TITLE.search(response.content[:4096])
    if match:
        title = match.group(1).decode("utf-8", "replace").strip()
        return f"({content_type or 'no content type'} page titled {title!r})"
    return f"({content_type or 'no content type'}, {len(response.content)} bytes)"
