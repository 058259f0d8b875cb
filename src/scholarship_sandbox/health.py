"""SLO health endpoints for any Starlette or FastAPI service: /health, /ready, /metrics.

Self-contained on purpose (the real ScholarshipAI service adopts it as is), so nothing here
imports the sandbox. Mount it in two lines, after the app's own middleware so that its
request counter is the outermost layer and sees every status, injected faults included:

    health = SLOHealth(build_id="b123", git_sha="abc1234", checks={"database": ping_db})
    health.install(app)

A request is synthetic when its query has `e2e=1` or its User-Agent starts with
`ScholarshipAI-Canary/`; it is served like any other, labelled synthetic="true" in the SLO
families and never counted in analytics events (but in the events excluded, by reason) or
abuse signals.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import Scope

__all__ = ["LATENCY_BUCKETS", "KnownLabels", "SLOHealth", "SLOMetricsMiddleware", "is_synthetic",
           "route_template"]

# 0.12 and 0.15 are the SLO's P95 target and the canary's rollback line, so both are exact
# bucket bounds and histogram_quantile needs no interpolation across them.
LATENCY_BUCKETS = (.005, .01, .025, .05, .075, .1, .12, .15, .25, .5, .75, 1, 2.5, 5, 10)
TTV_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600)
CANARY_UA_PREFIX = b"scholarshipai-canary/"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # one label value for every unknown path: no cardinality blow-up
STATUS_CLASSES = ("2xx", "4xx", "5xx")  # the classes a rate() or an error ratio reads
SYNTHETIC_FLAGS = ("false", "true")


@dataclass(frozen=True, slots=True)
class KnownLabels:
    """The label values a service knows before its first request, so that every labelled
    family exposes each of its series at zero from the start (the Prometheus instrumentation
    guide: a series that appears only with its first event makes rate() and absent() read
    "no data" where the truth is "none yet"). The request families need nothing here: their
    label sets come from the app's own routes."""

    auth_reasons: tuple[str, ...] = ()
    waf_rules: tuple[tuple[str, str], ...] = ()  # (rule, severity)
    signup_roles: tuple[str, ...] = ()
    payment_outcomes: tuple[str, ...] = ("captured", "failed")
    payment_failure_reasons: tuple[str, ...] = ()
    analytics_events: tuple[str, ...] = ()
    abuse_signals: tuple[str, ...] = ()


def is_synthetic(scope: Scope) -> bool:
    """True for `?e2e=1` or a ScholarshipAI-Canary/ User-Agent; cached in scope["state"]."""
    state = scope.setdefault("state", {})
    cached = state.get("synthetic")
    if cached is not None:
        return bool(cached)
    synthetic = False
    query: bytes = scope.get("query_string", b"")
    if b"e2e=1" in query:
        synthetic = any(part == b"e2e=1" for part in query.split(b"&"))
    if not synthetic:
        for name, value in scope.get("headers", ()):
            if name == b"user-agent":
                synthetic = value.lower().startswith(CANARY_UA_PREFIX)
                break
    state["synthetic"] = synthetic
    return synthetic


def route_template(scope: Scope) -> str:
    """The matched route's template (/items/{id}), never the raw path.

    Starlette's router leaves the matched route in scope["route"]. A request answered before
    routing (429, 413, an injected fault) is matched against the app's templates here:
    FastAPI's OpenAPI paths (its included routers no longer expose plain `matches()`), or a
    Starlette app's route paths.
    """
    path = getattr(scope.get("route"), "path", None)
    if path is not None:
        return str(path)
    app = scope.get("app")
    state = getattr(app, "state", None)
    if state is None:
        return UNMATCHED
    templates = getattr(state, "slo_route_templates", None)
    if templates is None:
        templates = _compile_templates(app)
        state.slo_route_templates = templates
    for pattern, template in templates:
        if pattern.match(scope["path"]):
            return template
    return UNMATCHED


_OWN_ROUTES = (("/health", "GET"), ("/metrics", "GET"), ("/ready", "GET"))


def _route_methods(app: Any) -> list[tuple[str, str]]:
    """(template, METHOD) of every route: FastAPI's OpenAPI paths, or a Starlette app's
    routes (HEAD, which Starlette adds beside every GET, left out)."""
    if hasattr(app, "openapi"):
        return sorted((path, method.upper()) for path, operations in app.openapi()["paths"].items()
                      for method in operations)
    return sorted((route.path, method) for route in getattr(app, "routes", ())
                  for method in (getattr(route, "methods", None) or ())
                  if hasattr(route, "path") and method != "HEAD")


def _compile_templates(app: Any) -> list[tuple[re.Pattern[str], str]]:
    paths = list(app.openapi().get("paths", {})) if hasattr(app, "openapi") else []
    # Routes left out of the OpenAPI document (a web front end's pages) count all the same.
    paths += [route.path for route in getattr(app, "routes", ())
              if isinstance(getattr(route, "path", None), str) and route.path not in paths]
    return [(compile_path(path)[0], path) for path in paths]


class SLOHealth:
    """The SLO and business metric families plus the three endpoints that expose them."""

    def __init__(self, *, build_id: str, git_sha: str, cohort: str = "sandbox",
                 checks: dict[str, Callable[[], object]] | None = None,
                 availability_target: float = 0.999, api_version: str = "v1",
                 namespace: str = "scholarshipai", exclude: Iterable[str] = ("/__admin*",),
                 registry: CollectorRegistry | None = None,
                 known: KnownLabels | None = None) -> None:
        self.build_id, self.git_sha, self.cohort = build_id, git_sha, cohort
        self.known = known or KnownLabels()
        self.checks = dict(checks or {})
        self.availability_target = availability_target
        self.exclude = tuple(exclude)
        self.started = time.monotonic()
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.total = 0  # all counted requests since start
        self.server_errors = 0  # of which 5xx
        ns, reg = namespace, self.registry
        self.requests = Counter(f"{ns}_http_requests", "HTTP requests by route template",
                                ["route", "method", "status_class", "synthetic", "cohort"],
                                registry=reg)
        self.duration = Histogram(f"{ns}_http_request_duration_seconds",
                                  "Request latency, headers and body", ["route", "method",
                                  "synthetic", "cohort"], buckets=LATENCY_BUCKETS, registry=reg)
        Gauge(f"{ns}_slo_availability_target_ratio", "Availability SLO target",
              registry=reg).set(availability_target)
        Gauge(f"{ns}_slo_availability_ratio", "Non-5xx share of all requests since start",
              registry=reg).set_function(self.availability)
        Gauge(f"{ns}_slo_error_budget_remaining_ratio", "Weekly error budget left, floored at 0",
              registry=reg).set_function(self.error_budget_remaining)
        Gauge(f"{ns}_build_info", "The running build", ["build_id", "git_sha", "cohort"],
              registry=reg).labels(build_id, git_sha, cohort).set(1)
        Gauge(f"{ns}_schema_version_info", "The API version served", ["api_version"],
              registry=reg).labels(api_version).set(1)
        self.signup_started = Counter(f"{ns}_signup_started", "Signups begun",
                                      ["role", "synthetic"], registry=reg)
        self.signup_completed = Counter(f"{ns}_signup_completed", "Signups completed",
                                        ["role", "synthetic"], registry=reg)
        self.time_to_value = Histogram(f"{ns}_time_to_value_seconds",
                                       "Signup to first saved draft", ["synthetic"],
                                       buckets=TTV_BUCKETS, registry=reg)
        self.auth_failures = Counter(f"{ns}_auth_failures", "Auth failures by problem slug",
                                     ["reason", "synthetic"], registry=reg)
        self.waf_rule_hits = Counter(f"{ns}_waf_rule_hits", "WAF rule hits",
                                     ["rule", "severity", "synthetic"], registry=reg)
        self.payment_captures = Counter(f"{ns}_payment_captures", "Payment auth-captures",
                                        ["outcome", "synthetic"], registry=reg)
        self.payment_capture_failures = Counter(f"{ns}_payment_capture_failures",
                                                "Failed payment auth-captures",
                                                ["reason", "synthetic"], registry=reg)
        self.analytics_events = Counter(f"{ns}_analytics_events",
                                        "Product analytics events (never synthetic)",
                                        ["event"], registry=reg)
        # Lets a monitor see its own contribution whatever other traffic the service has:
        # every synthetic event it causes moves this counter, and never the one above.
        self.analytics_excluded = Counter(f"{ns}_analytics_events_excluded",
                                          "Analytics events not counted, by reason",
                                          ["event", "reason"], registry=reg)
        self.abuse_signals = Counter(f"{ns}_abuse_signals",
                                     "Abuse signals such as failed logins (never synthetic)",
                                     ["signal"], registry=reg)
        self._children: dict[tuple[str, str, int, bool], tuple[Any, Any]] = {}

    # -- series at zero ---------------------------------------------------------------
    def initialise(self, routes: Iterable[tuple[str, str]]) -> None:
        """Create every known series at zero: the request families for each (route template,
        method), the business families for the label values in `known`."""
        for route, method in routes:
            # Latency series only for real traffic: a quantile or a bucket ratio of a route
            # nobody called is NaN either way, and the buckets are most of the exposition.
            self.duration.labels(route, method, "false", self.cohort)
            for flag in SYNTHETIC_FLAGS:
                for status_class in STATUS_CLASSES:
                    self.requests.labels(route, method, status_class, flag, self.cohort)
        known = self.known
        for flag in SYNTHETIC_FLAGS:
            for role in known.signup_roles:
                self.signup_started.labels(role, flag)
                self.signup_completed.labels(role, flag)
            self.time_to_value.labels(flag)
            for reason in known.auth_reasons:
                self.auth_failures.labels(reason, flag)
            for rule, severity in known.waf_rules:
                self.waf_rule_hits.labels(rule, severity, flag)
            for outcome in known.payment_outcomes:
                self.payment_captures.labels(outcome, flag)
            for reason in known.payment_failure_reasons:
                self.payment_capture_failures.labels(reason, flag)
        for event in known.analytics_events:  # never synthetic: no flag
            self.analytics_events.labels(event)
            self.analytics_excluded.labels(event, "synthetic")
        for signal in known.abuse_signals:
            self.abuse_signals.labels(signal)

    # -- SLO arithmetic ---------------------------------------------------------------
    def availability(self) -> float:
        return 1.0 if self.total == 0 else 1.0 - self.server_errors / self.total

    def error_budget_remaining(self) -> float:
        budget = 1.0 - self.availability_target
        if self.total == 0 or budget <= 0:
            return 1.0
        return max(0.0, 1.0 - (self.server_errors / self.total) / budget)

    def observe(self, route: str, method: str, status: int, synthetic: bool,
                seconds: float) -> None:
        key = (route, method, status // 100, synthetic)
        children = self._children.get(key)
        if children is None:
            flag = "true" if synthetic else "false"
            children = (
                self.requests.labels(route, method, f"{status // 100}xx", flag, self.cohort),
                self.duration.labels(route, method, flag, self.cohort),
            )
            if len(self._children) < 10_000:  # bounded: label sets are bounded anyway
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        self.total += 1
        if status >= 500:
            self.server_errors += 1

    # -- business signals ----------------------------------------------------------------
    def count_analytics(self, event: str, synthetic: bool) -> None:
        if synthetic:
            self.analytics_excluded.labels(event, "synthetic").inc()
        else:
            self.analytics_events.labels(event).inc()

    def count_abuse(self, signal: str, synthetic: bool) -> None:
        if not synthetic:
            self.abuse_signals.labels(signal).inc()

    # -- endpoints -------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "build_id": self.build_id, "git_sha": self.git_sha,
                             "uptime_seconds": round(time.monotonic() - self.started, 3),
                             "cohort": self.cohort})

    async def ready(self, request: Request) -> Response:
        results: dict[str, dict[str, Any]] = {}
        failed = False
        for name, check in self.checks.items():
            start = time.perf_counter()
            try:
                await run_in_threadpool(check)
            except Exception as exc:  # a failing dependency is an answer, not a crash
                failed = True
                results[name] = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"}
            else:
                results[name] = {"status": "ok",
                                 "latency_ms": round((time.perf_counter() - start) * 1000, 3)}
        if not failed:
            return JSONResponse({"status": "ready", "checks": results})
        request_id = request.scope.get("state", {}).get("request_id") or (
            "req_" + secrets.token_hex(8))
        bad = ", ".join(name for name, r in results.items() if r["status"] == "fail")
        body = {"type": "https://docs.scholarshipai.example/problems/not-ready",
                "title": "Not ready", "status": 503, "detail": f"dependency failing: {bad}",
                "instance": request.url.path, "request_id": request_id, "checks": results}
        return Response(json.dumps(body), status_code=503, media_type="application/problem+json")

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=METRICS_CONTENT_TYPE)

    def install(self, app: Any, routes: Iterable[tuple[str, str]] | None = None) -> None:
        """Add the endpoints and the counting middleware, and create every known series at
        zero; call before the app starts, after its routes are added.

        `routes`: the app's (template, METHOD) pairs, when it can list them itself; by
        default they are read from FastAPI's OpenAPI document (or a Starlette app's routes),
        which FastAPI builds for the purpose: a tenth of a second of every start.
        """
        app.state.slo = self
        if hasattr(app, "add_api_route"):  # FastAPI: documented in the OpenAPI schema
            _add_documented_routes(app, self)
        else:
            app.add_route("/health", self.health, methods=["GET"])
            app.add_route("/ready", self.ready, methods=["GET"])
            app.add_route("/metrics", self.metrics, methods=["GET"])
        listed = _route_methods(app) if routes is None else sorted({*routes, *_OWN_ROUTES})
        self.initialise(route for route in listed
                        if not any(fnmatchcase(route[0], p) for p in self.exclude))
        app.add_middleware(SLOMetricsMiddleware, slo=self)


def _add_documented_routes(app: Any, slo: SLOHealth) -> None:
    """FastAPI only: the same endpoints with response models, so the OpenAPI document
    describes their shapes. pydantic is imported here because plain Starlette services
    may not have it."""
    from typing import Literal

    from pydantic import BaseModel, Field

    class HealthOut(BaseModel):
        status: Literal["ok"]
        build_id: str
        git_sha: str = Field(pattern=r"^[0-9a-f]{7,40}$")
        uptime_seconds: float = Field(ge=0)
        cohort: Literal["canary", "control", "sandbox"]

    class CheckOk(BaseModel):
        status: Literal["ok"]
        latency_ms: float = Field(ge=0)

    class ReadyOut(BaseModel):
        status: Literal["ready"]
        checks: dict[str, CheckOk]

    # Written out (not a model) so that no $defs end up inlined in the OpenAPI document.
    check = {"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["ok", "fail"]}, "latency_ms": {"type": "number", "minimum": 0},
        "error": {"type": "string"}}}
    not_ready = {"type": "object",
                 "required": ["type", "title", "status", "detail", "request_id", "checks"],
                 "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                "status": {"const": 503}, "detail": {"type": "string"},
                                "instance": {"type": "string"}, "request_id": {"type": "string"},
                                "checks": {"type": "object", "additionalProperties": check}}}
    problem = {"description": "a dependency fails",
               "content": {"application/problem+json": {"schema": not_ready}}}
    app.add_api_route("/health", slo.health, methods=["GET"], response_model=HealthOut,
                      tags=["health"], summary="Liveness")
    app.add_api_route("/ready", slo.ready, methods=["GET"], response_model=ReadyOut,
                      responses={503: problem}, tags=["health"], summary="Readiness")
    app.add_api_route("/metrics", slo.metrics, methods=["GET"], tags=["health"],
                      summary="Prometheus exposition",
                      responses={200: {"content": {"text/plain": {}}, "description": "metrics"}})


class SLOMetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so that counting costs microseconds per request."""

    def __init__(self, app: Any, slo: SLOHealth) -> None:
        self.app, self.slo = app, slo

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (self.slo.exclude and any(
                fnmatchcase(scope["path"], pattern) for pattern in self.slo.exclude)):
            await self.app(scope, receive, send)
            return
        synthetic = is_synthetic(scope)
        start = time.perf_counter()
        status = 500  # what a crash before the response start means to the client

        async def counting_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.slo.observe(route_template(scope), scope["method"], status, synthetic,
                             time.perf_counter() - start)
