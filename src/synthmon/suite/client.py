"""The `api` client: what a check uses to talk to the target, one Sample per call.

Every request carries the canary User-Agent, `e2e=1`, a fresh `X-Synthetic-Id`
(`<run id>.<check>.<seq>`) and a W3C traceparent. A call is four steps, each in its own
module: send it with retries and time it (sending), judge the answer's status, schema and
budget (judging), record the Sample and span, and say what went wrong in one sentence
naming the check, the endpoint, what was expected, what came back, and the synthetic id
(messages). A call that passes only after a retry says how many attempts it took, so the
check is reported as flaky, never hidden.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Collection, Mapping
from typing import Any, NoReturn
from urllib.parse import quote

import pytest
import requests
from opentelemetry.trace import Status, StatusCode

from synthmon.client_settings import ClientSettings
from synthmon.policy import Budget
from synthmon.privacy import register_secret
from synthmon.run_context import RunContext
from synthmon.samples import HTTP_4XX, HTTP_5XX, NO_ANSWER, Sample
from synthmon.suite import messages
from synthmon.suite.budgets import Budgets
from synthmon.suite.deadline import WatchedAdapter
from synthmon.suite.exchange import Exchange, register_body_secrets
from synthmon.suite.judging import Judgement, expected_statuses, judge
from synthmon.suite.messages import CallName
from synthmon.suite.response import UNSET, ApiResponse
from synthmon.suite.schemas import SchemaStore
from synthmon.suite.sending import RETRY_METHODS, Attempt, Failure, Sent, Transport
from synthmon.suite.tracing import CallTrace, client_span

__all__ = ["ApiClient", "ApiResponse", "ClientCore", "ClientSettings", "TargetDown"]


class TargetDown(Exception):
    """The target cannot be measured: later calls fail at once, unsent, instead of each
    timing out. `error_type` is what their samples record: NO_ANSWER when it did not
    answer, WRONG_BUILD when it serves another build than the run expects."""

    def __init__(self, message: str, error_type: str = NO_ANSWER) -> None:
        super().__init__(message)
        self.error_type = error_type


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
        ca_bundle: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.schemas = schemas
        self.budgets = budgets
        self.run_context = run_context
        self.current_check = current_check
        self.record = record
        self.ca_bundle = ca_bundle  # None: the public roots (synthmon.suite.trust)
        self.down: TargetDown | None = None  # why the target cannot be measured
        self._seq: dict[str, int] = {}
        # requests re-reads proxy variables and .netrc on every call when trust_env is on
        # (about half of its per-call overhead); only pay for that when a proxy is set.
        self.use_env = bool(urllib.request.getproxies())
        self.session = self.new_session()

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = self.use_env
        adapter = WatchedAdapter()  # connections the deadline's watchdog can cut
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(self.settings.headers)
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

    def __init__(self, core: ClientCore, session: requests.Session | None = None, *,
                 phases: bool = False) -> None:
        """`phases`: this client's first call goes over a fresh connection and records
        where its time went (dns, connect, tls, ttfb, transfer); the rest keep the pool.
        The `api` fixture, one client per check, asks for it."""
        self.core = core
        self.session = session or core.session
        self._phases_due = phases
        self.transport = Transport(self.session, core.settings, core.use_env,
                                   verify=core.ca_bundle or True)
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
        json: Any = UNSET,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        idempotent: bool | None = None,
        checked: bool = True,
        learn: Callable[[int, bytes], None] | None = None,
    ) -> ApiResponse:
        """One call. `expect`: the status (or statuses) the check expects, default any 2xx.
        `schema`: the response schema for an expected 2xx; an error answer is always held
        against the problem+json schema. `checked=False` (the suite's probe of the target)
        judges nothing, and raises TargetDown when no answer came. `learn(status, body)`
        sees the answer before it is judged (a clean-up that must know what was created,
        even when the call then fails its budget)."""
        method = method.upper()
        route = route or path
        url_path = path.format_map({k: quote(str(v), safe="") for k, v in path_params.items()}) \
            if path_params else path
        call, base = self._begin(method, route, expected_statuses(expect))
        outgoing = self._outgoing(call, base + url_path, params, json, data, headers, token)
        retry = (method in RETRY_METHODS) if idempotent is None else idempotent
        core = self.core
        attributes = {
            "http.request.method": method, "url.template": route, "url.full": base + url_path,
            "user_agent.original": core.settings.user_agent, "user_agent.synthetic.type": "test",
            "canary": True, "synthmon.synthetic_id": call.name.synthetic_id,
            "synthmon.check": call.name.check,
        }
        with client_span(f"{method} {route}", outgoing.headers, attributes) as trace:
            prepared = self.session.prepare_request(outgoing)
            fresh, self._phases_due = self._phases_due, False
            sent = self.transport.send(prepared, retry=retry, expected=call.expected,
                                       fresh=fresh)
            last = sent.last
            if last.failure is not None or last.response is None:
                self._incomplete(call, trace, prepared, sent, checked)
            raw = last.response
            if learn is not None:
                learn(raw.status_code, last.content)
            judgement = judge(raw.status_code, messages.content_type_of(raw.headers),
                              last.content, expected=call.expected, schema=schema,
                              schemas=core.schemas, total_ms=last.total_ms, budget=call.budget)
            _mark_span(trace, raw.status_code, judgement, last.phases)
            sample = call.sample(trace, sent.attempts, last, judgement)
            core.record(sample, Exchange(method, route, prepared.url or "", prepared.headers,
                                         prepared.body, raw.status_code, raw.headers,
                                         last.content))
        if checked:
            _enforce(call, last, judgement)
        return ApiResponse(raw, last.content, sample)

    def _begin(self, method: str, route: str, expected: frozenset[int]) -> tuple[_Call, str]:
        """Name the call and find the target; a call to a target known to be down is
        recorded and failed at once, unsent."""
        core = self.core
        context = core.run_context()
        check, short_check = core.current_check()
        synthetic_id = core.next_synthetic_id(context.run_id, short_check)
        call = _Call(context, CallName(check, method, route, synthetic_id),
                     core.budgets.for_endpoint(method, route), expected)
        if core.down is not None:
            self._not_sent(call, core.down.error_type,
                           messages.not_sent_down(call.name, str(core.down)))
        try:
            base = core.base_url()
        except TargetDown as exc:
            core.down = exc
            self._not_sent(call, exc.error_type, messages.not_sent(call.name, str(exc)))
        return call, base

    @staticmethod
    def _outgoing(call: _Call, url: str, params: Mapping[str, Any] | None, json: Any,
                  data: bytes | str | None, headers: Mapping[str, str] | None,
                  token: str | None) -> requests.Request:
        """The request with the synthetic marks: `e2e=1` and the synthetic id."""
        request_headers = {"X-Synthetic-Id": call.name.synthetic_id}
        if token is not None:
            register_secret(token)  # never written anywhere, whatever echoes it
            request_headers["Authorization"] = f"Bearer {token}"
        if headers:
            request_headers.update(headers)
        body: dict[str, Any] = {}
        if json is not UNSET:
            register_body_secrets(json)
            body["json"] = json
        elif data is not None:
            body["data"] = data
        return requests.Request(call.name.method, url, params={**(params or {}), "e2e": "1"},
                                headers=request_headers, **body)

    def _not_sent(self, call: _Call, error_type: str, sentence: str) -> NoReturn:
        self.core.record(call.sample(None, 0, None, None, error_type=error_type), None)
        pytest.fail(sentence, pytrace=False)

    def _incomplete(self, call: _Call, trace: CallTrace, prepared: requests.PreparedRequest,
                    sent: Sent, checked: bool) -> NoReturn:
        """No complete answer: no answer, none by the deadline, or a body over the cap."""
        last = sent.last
        failure = last.failure or Failure(NO_ANSWER, "no response")
        headers = last.response.headers if last.response is not None else None
        trace.span.set_attribute("error.type", failure.error_type)
        trace.span.set_status(Status(StatusCode.ERROR, failure.reason))
        self.core.record(call.sample(trace, sent.attempts, last, None,
                                     error_type=failure.error_type),
                         Exchange(call.name.method, call.name.route, prepared.url or "",
                                  prepared.headers, prepared.body, last.status, headers, None))
        ended = messages.outcome(failure.error_type, failure.reason, sent.attempts,
                                 None if last.response is None else last.response.status_code)
        if not checked:
            raise TargetDown(messages.probe_incomplete(call.name, ended))
        pytest.fail(messages.incomplete(call.name, call.expected, ended), pytrace=False)


class _Call:
    """One call's identity: the run it belongs to, its name, budget and expectation."""

    __slots__ = ("budget", "context", "expected", "name", "started_at")

    def __init__(self, context: RunContext, name: CallName, budget: Budget,
                 expected: frozenset[int]) -> None:
        self.context = context
        self.name = name
        self.budget = budget
        self.expected = expected
        self.started_at = time.time()

    def sample(self, trace: CallTrace | None, attempts: int, last: Attempt | None,
               judgement: Judgement | None, error_type: str | None = None) -> Sample:
        context, name, budget = self.context, self.name, self.budget
        status = None if last is None else last.status
        expected = self.expected
        return Sample(
            run_id=context.run_id, check=name.check, method=name.method, route=name.route,
            status=status, total_ms=round(last.total_ms, 3) if last else 0.0,
            ttfb_ms=None if last is None or last.ttfb_ms is None else round(last.ttfb_ms, 3),
            schema_ok=judgement.schema_ok if judgement else None,
            schema_error=_schema_error(judgement),
            budget_ms=budget.budget_ms, hard_limit_ms=budget.hard_limit_ms,
            budget_verdict=judgement.budget_verdict if judgement else "ok",
            synthetic_id=name.synthetic_id, trace_id=trace.trace_id if trace else "",
            span_id=trace.span_id if trace else "", started_at=self.started_at,
            target=context.target, cohort=context.cohort, region=context.region,
            device=context.device, build_id=context.build_id, git_sha=context.git_sha,
            critical=budget.critical,
            expected_status=(status if status in expected else min(expected)) if expected
            else None,
            attempts=attempts, error_type=judgement.error_type if judgement else error_type,
            schema_drift=judgement.schema_drift if judgement else (),
            phases=last.phases if last else None,
        )


def _mark_span(trace: CallTrace, status: int, judgement: Judgement,
               phases: dict[str, float] | None) -> None:
    trace.span.set_attribute("http.response.status_code", status)
    if judgement.schema_drift:
        trace.span.set_attribute("synthmon.schema_drift", list(judgement.schema_drift))
    if phases is not None:
        # no semantic convention names per-phase times on a span; these follow
        # blackbox_exporter's phases (resolve=dns, processing=ttfb)
        trace.span.set_attributes({f"synthmon.http.phase.{name}_ms": value
                                   for name, value in phases.items()})
    if judgement.error_type is not None:
        trace.span.set_status(Status(StatusCode.ERROR))
        # The HTTP semantic conventions: an error status is named by its code.
        http_error = judgement.error_type in (HTTP_4XX, HTTP_5XX)
        trace.span.set_attribute("error.type", str(status) if http_error
                                 else judgement.error_type)


def _schema_error(judgement: Judgement | None) -> str | None:
    if judgement is None or judgement.schema_error is None:
        return None
    return f"{judgement.schema_name}: {judgement.schema_error}"


def _enforce(call: _Call, last: Attempt, judgement: Judgement) -> None:
    """Fail a checked call whose answer is not what the check asked for, or too slow."""
    raw = last.response
    assert raw is not None
    name, status = call.name, raw.status_code
    if not judgement.status_ok:
        pytest.fail(messages.wrong_status(name, call.expected, status,
                                          messages.content_type_of(raw.headers), last.content),
                    pytrace=False)
    if judgement.schema_error:
        pytest.fail(messages.schema_broken(name, status, judgement.schema_name or "",
                                           judgement.schema_error), pytrace=False)
    if judgement.budget_verdict == "over_limit":
        pytest.fail(messages.over_limit(name, last.total_ms, last.ttfb_ms or 0.0,
                                        call.budget.budget_ms, call.budget.hard_limit_ms),
                    pytrace=False)
