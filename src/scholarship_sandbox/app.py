"""`create_app(settings)`: the sandbox as one ASGI app.

The web front end's pages (web/) sit beside the API routes and call the API from the
browser. Layers, outermost first: SLO metrics (health.py) -> edge (ids, security headers, access
log, last-resort 500) -> body guard (415/413) -> faults -> WAF -> rate limit -> FastAPI's
exception handling -> routes. Metrics sit outside everything so they count what clients
really got, injected faults included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import get_args

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from .accesslog import AccessLog
from .auth import TokenService
from .bodyguard import BodyGuardMiddleware
from .context import Sandbox
from .edge import EdgeMiddleware
from .faults import FaultMiddleware, FaultSet, parse_specs
from .health import KnownLabels, SLOHealth, is_synthetic
from .models import Role
from .problems import AUTH_SLUGS, install_problem_handlers, problem_response
from .ratelimit import RateLimitMiddleware
from .routes import admin, applications, auth, payments, provider, saved, scholarships
from .seed import ACCOUNTS, seed
from .settings import Settings
from .storage import Storage
from .waf import RULES as WAF_RULES
from .waf import WafMiddleware
from .web import router as web_router

# Every label value the business families can take, exposed at zero from the start
# (selftests/sandbox/test_metric_init.py fails when a route counts a value missing here).
KNOWN_LABELS = KnownLabels(
    auth_reasons=tuple(sorted(AUTH_SLUGS)),
    waf_rules=tuple((rule, severity) for rule, severity, _ in WAF_RULES),
    signup_roles=get_args(Role),
    payment_failure_reasons=("processor_error",),
    analytics_events=("application_started", "checkout", "login", "save", "scholarship_view",
                      "search", "signup"),
    abuse_signals=("failed_login",),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    faults = FaultSet(parse_specs(settings.faults))  # malformed specs fail here, at start
    storage = Storage(settings.db_path)
    seed(storage, rng_seed=settings.seed, catalogue=settings.catalogue)
    tokens = TokenService(storage, settings.jwt_secret, access_ttl=settings.access_token_ttl,
                          refresh_ttl=settings.refresh_token_ttl)
    access_log = AccessLog(settings.access_log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        storage.close()
        access_log.close()

    app = FastAPI(title="ScholarshipAI sandbox", version="1.0.0", lifespan=lifespan,
                  description="The embedded reference implementation of docs/api-contract.md.")
    routers = (auth.router, scholarships.router, saved.router, applications.router,
               provider.router, payments.router, admin.router, web_router)
    for router in routers:
        app.include_router(router)
    # what the OpenAPI document would list, read from the routers (included without prefix)
    documented = [(route.path, method) for router in routers for route in router.routes
                  if isinstance(route, APIRoute) and route.include_in_schema
                  for method in route.methods or ()]
    install_problem_handlers(app)

    def database_check() -> None:
        if faults.on("not-ready", {"state": {}, "path": "/ready"}):
            raise RuntimeError("database unreachable (injected fault not-ready)")
        storage.ping()

    slo = SLOHealth(build_id=settings.build_id, git_sha=settings.git_sha,
                    cohort=settings.cohort, checks={"database": database_check},
                    known=KNOWN_LABELS)
    app.state.sandbox = Sandbox(settings, storage, tokens, faults,
                                slo if settings.metrics else None)

    def on_auth_failure(request: Request, slug: str) -> None:
        if settings.metrics:
            flag = "true" if is_synthetic(request.scope) else "false"
            slo.auth_failures.labels(slug, flag).inc()

    def on_validation_error(request: Request) -> Response | None:
        if faults.on("no-validation", request.scope):
            # The fault: bad input reaches a handler that trusts it and falls over.
            return problem_response(request, "internal-error",
                                    "Unvalidated input broke the handler (injected fault)")
        return None

    app.state.on_auth_failure = on_auth_failure
    app.state.on_validation_error = on_validation_error

    account_limits = {a.user_id: a.quota or settings.rate_limits.per_seeded_account
                      for a in ACCOUNTS}
    # add_middleware prepends: the last one added is the outermost.
    app.add_middleware(RateLimitMiddleware, limits=settings.rate_limits,
                       secret=settings.jwt_secret, faults=faults, account_limits=account_limits)
    app.add_middleware(WafMiddleware)
    app.add_middleware(FaultMiddleware, faults=faults)
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes,
                       prefixes=("/api/", "/__admin"), faults=faults)
    app.add_middleware(EdgeMiddleware, access_log=access_log, cors_origins=settings.cors_origins,
                       header_hooks=(faults.header_hook,))
    if settings.metrics:
        slo.install(app, routes=documented)
    else:  # the benchmark's baseline: the same endpoints, no counting middleware
        app.state.slo = slo
        app.add_api_route("/health", slo.health, methods=["GET"])
        app.add_api_route("/ready", slo.ready, methods=["GET"])
        app.add_api_route("/metrics", slo.metrics, methods=["GET"])
    return app
