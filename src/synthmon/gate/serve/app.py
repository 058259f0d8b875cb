"""The HTTP side of `gate serve`: every route answers from the stored snapshot (or appends
to the approvals ledger), never from an evaluation of its own, so fifty pollers cost what
fifty reads of a byte string cost. Errors are problem+json (RFC 9457)."""

from __future__ import annotations

import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from synthmon.gate.approvals import ROLES, append_approval
from synthmon.gate.engine import GateEngine
from synthmon.gate.serve import webhooks
from synthmon.gate.serve.metrics import exposition, registry_for
from synthmon.gate.serve.page import CONTENT_SECURITY_POLICY
from synthmon.gate.serve.state import ServeState

PROBLEM = "application/problem+json"
MAX_BODY = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass
class ServeContext:
    engine: GateEngine
    state: ServeState
    approval_token: str | None  # None: read-only
    events_log: Path | None  # Flagger's post-rollout and event calls, one JSON line each
    loop_alive: Any = None  # () -> bool: is the evaluation loop still running
    _events_lock: threading.Lock = field(default_factory=threading.Lock)

    def record_event(self, hook: str, payload: dict[str, Any]) -> None:
        if self.events_log is None:
            return
        line = json.dumps({"at": time.time(), "hook": hook, "payload": payload},
                          sort_keys=True) + "\n"
        with self._events_lock, self.events_log.open("a", encoding="utf-8") as log:
            log.write(line)


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM,
                    headers=dict(_NO_STORE))


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json",
                    headers=dict(_NO_STORE))


def _phase(context: ServeContext, asked: str | None) -> str | Response:
    phases = context.state.phases
    if asked is None or asked == "":
        return context.state.served_phase
    if asked not in phases:
        return problem(400, "unknown phase",
                       f"phase {asked!r} is not in the policy (known: {', '.join(phases)})",
                       phases=phases)
    return asked


async def _body(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return problem(413, "body too large", f"at most {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return problem(400, "not JSON", "the body must be a JSON object")
    if not isinstance(data, dict):
        return problem(400, "not a JSON object", "the body must be a JSON object")
    return data


def build_app(context: ServeContext) -> FastAPI:
    app = FastAPI(title="synthmon gate serve", openapi_url=None, docs_url=None,
                  redoc_url=None)
    state = context.state
    registry = registry_for(state)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), f"{exc.detail} (see GET / for what "
                       "this server answers)")

    @app.get("/api/v1/verdict")
    async def verdict(phase: str | None = None) -> Response:
        chosen = _phase(context, phase)
        if isinstance(chosen, Response):
            return chosen
        return Response(state.document(chosen), media_type="application/json",
                        headers=dict(_NO_STORE))

    @app.get("/health")
    async def health() -> Response:
        alive = context.loop_alive() if context.loop_alive else True
        stale = state.stale()
        body = {"status": "ok" if alive and not stale else "failing",
                "evaluation_loop": "running" if alive else "stopped",
                "evaluations": state.current().number,
                "last_evaluation_age_s": round(state.age_s(), 1), "stale": stale,
                "served_phase": state.served_phase}
        return _json(body, 200 if alive and not stale else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(exposition(registry), media_type="text/plain; version=0.0.4",
                        headers=dict(_NO_STORE))

    @app.get("/")
    async def page() -> Response:
        snapshot = state.current()
        body = snapshot.page or _first_page(state)
        headers = {**_NO_STORE, "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                   "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    @app.post("/flagger/{hook}")
    async def flagger(hook: str, request: Request) -> Response:
        if hook not in webhooks.HOOKS:
            return problem(404, "unknown webhook type",
                           f"{hook!r}: Flagger's types are {', '.join(webhooks.HOOKS)}")
        payload = await _body(request)
        if isinstance(payload, Response):
            return payload
        given = payload.get("metadata")
        metadata: dict[str, Any] = given if isinstance(given, dict) else {}
        chosen = _phase(context, str(metadata["phase"]) if "phase" in metadata else None)
        if isinstance(chosen, Response):
            return chosen
        decision = state.decision(chosen)
        if hook in ("post-rollout", "event"):
            context.record_event(hook, payload)
        result = webhooks.answer(hook, decision)
        body = result.body(hook, decision)
        if result.allowed:
            return _json(body)
        return Response(json.dumps({"type": "about:blank", "title": f"{hook}: no",
                                    "status": 409, "detail": result.reason, **body}),
                        status_code=409, media_type=PROBLEM, headers=dict(_NO_STORE))

    @app.post("/api/v1/approvals")
    async def approvals(request: Request) -> Response:
        if context.approval_token is None:
            return problem(403, "read-only", "this gate was started without "
                           "--approval-token-file: approvals go through `synthmon approve`")
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), context.approval_token.encode()):
            response = problem(401, "not authorised", "a bearer token is required (the one in "
                               "the gate's --approval-token-file)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="synthmon gate"'
            return response
        data = await _body(request)
        if isinstance(data, Response):
            return data
        return _record_approval(context, data)

    return app


def _record_approval(context: ServeContext, data: dict[str, Any]) -> Response:
    state = context.state
    chosen = _phase(context, str(data.get("phase") or state.served_phase))
    if isinstance(chosen, Response):
        return chosen
    role, name = str(data.get("role", "")), str(data.get("name", "")).strip()
    if role not in ROLES:
        return problem(422, "unknown role", f"role must be one of {', '.join(ROLES)}",
                       field="role")
    if not name:
        return problem(422, "no name", "an approval needs the approver's name", field="name")
    decision = state.decision(chosen)
    builds = decision.inputs.get("canary_builds", [])
    build_id = str(data.get("build_id") or (builds[0] if len(builds) == 1 else ""))
    try:
        entry = append_approval(context.engine.ledger_file, chosen, role, name,
                                str(data.get("note", "")), build_id,
                                recorded_via="gate serve POST /api/v1/approvals")
    except OSError as exc:
        return problem(500, "not recorded", f"the ledger {context.engine.ledger_file} cannot "
                       f"be written: {exc.strerror or exc}")
    state.refresh(context.engine.apply_approvals)
    missing = state.decision(chosen).approvals.get("missing", [])
    return _json({"recorded": entry, "ledger": str(context.engine.ledger_file),
                  "missing": missing}, 201)


def _first_page(state: ServeState) -> bytes:
    from synthmon.gate.serve.page import render_page

    return render_page(state, state.current())
