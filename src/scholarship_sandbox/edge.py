"""The outermost sandbox layer: request id, security headers, id echo, CORS, access log,
and the last-resort 500 so that even a crash answers problem+json with every header."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from starlette.types import Scope

from .accesslog import AccessLog
from .health import is_synthetic, route_template
from .problems import PROBLEM_TYPE, problem_body

log = logging.getLogger("scholarship_sandbox")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_DROPPED = {b"server", b"x-powered-by"}
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
HeaderHook = Callable[[Scope, list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]


class EdgeMiddleware:
    def __init__(self, app: Any, *, access_log: AccessLog, cors_origins: Sequence[str] = (),
                 header_hooks: Sequence[HeaderHook] = ()) -> None:
        self.app = app
        self.access_log = access_log
        self.cors_origins = {origin.encode() for origin in cors_origins}
        self.header_hooks = tuple(header_hooks)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = "req_" + secrets.token_hex(8)
        state["request_id"] = request_id
        synthetic_id = traceparent = origin = None
        for name, value in scope["headers"]:
            if name == b"x-synthetic-id":
                synthetic_id = value
            elif name == b"traceparent":
                traceparent = value
            elif name == b"origin":
                origin = value
        start = time.perf_counter()
        status = 0
        auth_path = scope["path"].startswith("/api/v1/auth/")

        async def edge_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k not in _DROPPED]
                # A response's own security header (a page's CSP) wins over the default.
                own = {k for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in own)
                headers.append((b"x-request-id", request_id.encode()))
                if synthetic_id is not None:
                    headers.append((b"x-synthetic-id", synthetic_id))
                if traceparent is not None:
                    headers.append((b"traceparent", traceparent))
                if auth_path:
                    headers = [(k, v) for k, v in headers if k != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                if origin is not None and origin in self.cors_origins:
                    headers.append((b"access-control-allow-origin", origin))
                    headers.append((b"access-control-allow-credentials", b"true"))
                    headers.append((b"vary", b"Origin"))
                headers.extend(state.get("extra_headers", ()))
                for hook in self.header_hooks:
                    headers = hook(scope, headers)
                message = {**message, "headers": headers}
                await send(message)
                return
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._log(scope, status, start, synthetic_id, traceparent)

        try:
            await self.app(scope, receive, edge_send)
        except Exception:
            log.exception("unhandled error serving %s %s [%s]", scope["method"],
                          route_template(scope), request_id)
            if status:
                raise  # the response already started: nothing honest left to send
            body = problem_body("internal-error", "An unexpected error occurred", status=500,
                                request_id=request_id, instance=scope["path"])
            await edge_send({"type": "http.response.start", "status": 500,
                             "headers": [(b"content-type", PROBLEM_TYPE.encode()),
                                         (b"content-length", str(len(body)).encode())]})
            await edge_send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, status: int, start: float,
             synthetic_id: bytes | None, traceparent: bytes | None) -> None:
        trace_id = span_id = None
        if traceparent is not None:
            match = _TRACEPARENT.match(traceparent.decode("latin-1"))
            if match:
                trace_id, span_id = match.group(1), match.group(2)
        self.access_log.write({
            "request_id": scope["state"]["request_id"],
            "route": route_template(scope),
            "method": scope["method"],
            "status": status,
            "duration_ms": round((time.perf_counter() - start) * 1000, 3),
            "synthetic": is_synthetic(scope),
            "synthetic_id": synthetic_id.decode("latin-1")[:128] if synthetic_id else None,
            "trace_id": trace_id,
            "span_id": span_id,
        })
