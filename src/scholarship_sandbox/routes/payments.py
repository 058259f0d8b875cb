"""Pricing, checkout with sandbox payment tokens, single-use expiring nonces."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request

from ..context import CurrentUser, count_analytics, fault, problems, sandbox, synthetic
from ..ids import new_id, utc_iso
from ..models import CheckoutIn, CheckoutOut, NonceIn, PricingOut, ValidatedOut
from ..problems import Problem

router = APIRouter(prefix="/api/v1", tags=["payments"])
SANDBOX_TOKEN = re.compile(r"^tok_sandbox_[a-z]+$")
DECLINED = "tok_sandbox_declined"


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _invalid(loc: str, msg: str) -> Problem:
    return Problem("validation-error", f"{loc}: {msg}", errors=[{"loc": loc, "msg": msg}])


@router.get("/pricing", response_model=PricingOut, responses=problems(429))
def pricing(request: Request) -> dict[str, Any]:
    rows = sandbox(request).storage.all("SELECT * FROM plans ORDER BY position")
    return {"plans": [{"id": r["id"], "name": r["name"],
                       "price": {"value": r["price_value"], "currency": r["currency"]},
                       "interval": r["interval"], "features": json.loads(r["features"])}
                      for r in rows]}


@router.post("/checkout", status_code=201, response_model=CheckoutOut,
             responses=problems(400, 401, 402, 403, 413, 415, 422, 429))
def checkout(body: CheckoutIn, request: Request,
             user: CurrentUser) -> dict[str, Any]:
    ctx = sandbox(request)
    flag = "true" if synthetic(request) else "false"
    plan = ctx.storage.one("SELECT * FROM plans WHERE id = ?", (body.plan_id,))
    if plan is None:
        raise _invalid("body.plan_id", "unknown plan")
    if not SANDBOX_TOKEN.match(body.payment_token):
        raise _invalid("body.payment_token", "not a sandbox payment token")
    if body.payment_token == DECLINED:
        # A declined card is the customer's outcome, not a capture failure of ours.
        raise Problem("payment-declined", "The payment token was declined")
    if fault(request, "capture-failures"):
        if ctx.slo is not None:
            ctx.slo.payment_captures.labels("failed", flag).inc()
            ctx.slo.payment_capture_failures.labels("processor_error", flag).inc()
        raise Problem("payment-declined", "The payment could not be captured")
    checkout_id, nonce = new_id("chk"), secrets.token_urlsafe(24)
    expires = time.time() + ctx.settings.nonce_ttl
    with ctx.storage.write() as conn:
        conn.execute("INSERT INTO checkouts (id, user_id, plan_id, amount_value, currency, status,"
                     " nonce_hash, expires_ts, expires_at) VALUES (?,?,?,?,?,'pending',?,?,?)",
                     (checkout_id, user.user_id, plan["id"], plan["price_value"],
                      plan["currency"], _hash(nonce), expires, utc_iso(expires)))
    if ctx.slo is not None:
        ctx.slo.payment_captures.labels("captured", flag).inc()
        count_analytics(request, "checkout")
    return {"checkout_id": checkout_id, "plan_id": plan["id"],
            "amount": {"value": plan["price_value"], "currency": plan["currency"]},
            "status": "pending", "nonce": nonce, "expires_at": utc_iso(expires)}


@router.post("/checkout/{checkout_id}/validate", response_model=ValidatedOut,
             responses=problems(400, 401, 403, 404, 409, 410, 413, 415, 422, 429))
def validate(checkout_id: str, body: NonceIn, request: Request,
             user: CurrentUser) -> dict[str, Any]:
    ctx = sandbox(request)
    reuse = fault(request, "nonce-reuse")
    with ctx.storage.write() as conn:
        row = conn.execute("SELECT * FROM checkouts WHERE id = ? AND user_id = ?",
                           (checkout_id, user.user_id)).fetchone()
        if row is None:
            raise Problem("not-found", f"No checkout {checkout_id}")
        if not hmac.compare_digest(row["nonce_hash"], _hash(body.nonce)):
            raise _invalid("body.nonce", "does not match this checkout")
        if row["nonce_used"] and not reuse:
            raise Problem("nonce-replayed", "This nonce was already used")
        if row["expires_ts"] < time.time():
            raise Problem("nonce-expired", "This nonce has expired")
        validated_at = row["validated_at"] or utc_iso()
        conn.execute("UPDATE checkouts SET nonce_used = 1, status = 'validated',"
                     " validated_at = ? WHERE id = ?", (validated_at, checkout_id))
    return {"checkout_id": checkout_id, "status": "validated", "validated_at": validated_at}
