"""The per-app objects handlers need, and the FastAPI dependencies built on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from .auth import UNSAFE_METHODS, Principal, TokenService, bearer_token, csrf_matches
from .faults import FaultSet
from .health import SLOHealth, is_synthetic
from .models import ProblemOut
from .problems import Problem
from .seed import ACCOUNTS
from .settings import Settings
from .storage import Storage

SEEDED_STUDENT = next(account for account in ACCOUNTS if account.role == "student")


@dataclass
class Sandbox:
    settings: Settings
    storage: Storage
    tokens: TokenService
    faults: FaultSet
    slo: SLOHealth | None


def sandbox(request: Request) -> Sandbox:
    ctx: Sandbox = request.app.state.sandbox
    return ctx


def synthetic(request: Request) -> bool:
    return is_synthetic(request.scope)


def fault(request: Request, kind: str) -> bool:
    return sandbox(request).faults.on(kind, request.scope)


def count_analytics(request: Request, event: str) -> None:
    """One product analytics event (docs/api-contract.md: synthetic ones are excluded)."""
    ctx = sandbox(request)
    if ctx.slo is None:
        return
    # The fault: an analytics pipeline that forgot the synthetic flag.
    ctx.slo.count_analytics(event, synthetic(request)
                            and not ctx.faults.on("analytics-synthetic", request.scope))


def current_user(request: Request) -> Principal:
    ctx = sandbox(request)
    if ctx.faults.on("auth-errors", request.scope):
        raise Problem("invalid-token", "The access token is not valid")
    token = bearer_token(request.headers.get("authorization"))
    via = "bearer"
    if token is None:
        token = request.cookies.get("sa_session")
        via = "cookie"
    if not token:
        if ctx.faults.on("no-auth", request.scope):
            # The fault: an auth layer that falls back to a default user serves anonymous
            # calls as the seeded student instead of refusing them.
            return Principal(SEEDED_STUDENT.user_id, SEEDED_STUDENT.role, "fam_anonymous",
                             "bearer")
        raise Problem("unauthenticated", "This route needs a bearer token or a session cookie")
    claims = ctx.tokens.decode(
        token, verify_signature=not ctx.faults.on("no-signature-check", request.scope),
        verify_exp=not ctx.faults.on("no-token-expiry", request.scope))
    if ctx.tokens.family_revoked(str(claims["fam"])):
        raise Problem("invalid-token", "The session was revoked")
    if (via == "cookie" and request.method in UNSAFE_METHODS
            and not ctx.faults.on("no-csrf", request.scope)
            and not csrf_matches(claims, request.headers.get("x-csrf-token"),
                                 request.cookies.get("sa_csrf"))):
        raise Problem("csrf-failed", "X-CSRF-Token must match the sa_csrf cookie")
    return Principal(str(claims["sub"]), str(claims["role"]), str(claims["fam"]), via)


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_role(principal: Principal, request: Request, role: str) -> None:
    if principal.role != role and not fault(request, "no-rbac"):
        raise Problem("forbidden", f"Only {role} accounts may do this")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json errors."""
    # Inline schema under application/problem+json: FastAPI would file a `model` under
    # application/json, which is not what the sandbox sends.
    return {str(status): {"description": "problem details",
                     "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}}}
            for status in statuses}


_PROBLEM_SCHEMA = ProblemOut.model_json_schema()
