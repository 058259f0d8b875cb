"""POST /api/v1/auth/{signup,login,refresh}."""

from __future__ import annotations

import secrets
import sqlite3
import time

from fastapi import APIRouter, Request, Response

from ..auth import check_login, hash_password
from ..context import count_analytics, problems, sandbox, synthetic
from ..ids import new_id, utc_iso
from ..models import CookieOut, LoginIn, RefreshIn, SignupIn, SignupOut, TokenOut
from ..problems import Problem

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _flag(request: Request) -> str:
    return "true" if synthetic(request) else "false"


@router.post("/signup", status_code=201, response_model=SignupOut,
             responses=problems(400, 409, 413, 415, 422, 429, 503))
def signup(body: SignupIn, request: Request) -> dict[str, object]:
    ctx = sandbox(request)
    if ctx.slo is not None:
        ctx.slo.signup_started.labels(body.role, _flag(request)).inc()
    if ctx.faults.on("signup-failures", request.scope):
        raise Problem("unavailable", "Signups are unavailable (injected fault)")
    user_id, now = new_id("usr"), time.time()
    provider_id = new_id("prov") if body.role == "provider" else None
    password_hash = hash_password(body.password)
    try:
        with ctx.storage.write() as conn:
            if provider_id:
                conn.execute("INSERT INTO providers VALUES (?, ?)",
                             (provider_id, body.display_name or "New provider"))
            conn.execute(
                "INSERT INTO users (id, email, password_hash, role, display_name, provider_id,"
                " created_at, created_ts) VALUES (?,?,?,?,?,?,?,?)",
                (user_id, body.email.lower(), password_hash, body.role, body.display_name,
                 provider_id, utc_iso(now), now))
    except sqlite3.IntegrityError:
        raise Problem("email-taken", "An account with this email already exists") from None
    if ctx.slo is not None:
        ctx.slo.signup_completed.labels(body.role, _flag(request)).inc()
        count_analytics(request, "signup")
    return {"user": {"id": user_id, "role": body.role, "created_at": utc_iso(now)}}


@router.post("/login", response_model=TokenOut | CookieOut,
             responses=problems(400, 401, 413, 415, 422, 429))
def login(body: LoginIn, request: Request, response: Response) -> dict[str, object]:
    ctx = sandbox(request)
    row = ctx.storage.one("SELECT id, role, password_hash FROM users WHERE email = ?",
                          (body.email.lower(),))
    if not check_login(row["password_hash"] if row else None, body.password) or row is None:
        if ctx.slo is not None:
            ctx.slo.count_abuse("failed_login", synthetic(request))
        raise Problem("invalid-credentials", "Wrong email or password")
    ttl = ctx.settings.access_token_ttl if body.ttl_seconds is None else body.ttl_seconds
    user = {"id": row["id"], "role": row["role"]}
    with ctx.storage.write() as conn:
        family = ctx.tokens.new_family(conn, row["id"])
        refresh = ctx.tokens.refresh_token(conn, row["id"], family) if body.session == "token" \
            else None
    count_analytics(request, "login")
    if refresh is not None:
        access = ctx.tokens.access_token(row["id"], row["role"], family, ttl)
        return {"token_type": "Bearer", "access_token": access, "refresh_token": refresh,
                "expires_in": ttl, "user": user}
    csrf = secrets.token_urlsafe(24)
    session = ctx.tokens.access_token(row["id"], row["role"], family, ttl, csrf=csrf)
    secure = request.url.scheme == "https"
    response.set_cookie("sa_session", session, max_age=ttl, httponly=True, samesite="lax",
                        path="/", secure=secure)
    response.set_cookie("sa_csrf", csrf, max_age=ttl, httponly=False, samesite="lax", path="/",
                        secure=secure)
    return {"token_type": "cookie", "expires_in": ttl, "csrf_token": csrf, "user": user}


@router.post("/refresh", response_model=TokenOut,
             responses=problems(400, 401, 413, 415, 422, 429))
def refresh(body: RefreshIn, request: Request) -> dict[str, object]:
    ctx = sandbox(request)
    user_id, role, pair = ctx.tokens.rotate(
        body.refresh_token, allow_reuse=ctx.faults.on("refresh-reuse", request.scope))
    return {"token_type": "Bearer", "access_token": pair.access_token,
            "refresh_token": pair.refresh_token, "expires_in": pair.expires_in,
            "user": {"id": user_id, "role": role}}
