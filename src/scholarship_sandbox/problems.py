"""RFC 9457 problem details: the one shape of every 4xx and 5xx the sandbox sends."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

PROBLEM_BASE = "https://docs.scholarshipai.example/problems/"
PROBLEM_TYPE = "application/problem+json"

# slug -> (status, title); the table of docs/api-contract.md.
SLUGS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Malformed JSON body"),
    "unauthenticated": (401, "Authentication required"),
    "invalid-token": (401, "Invalid token"),
    "token-expired": (401, "Token expired"),
    "invalid-credentials": (401, "Invalid credentials"),
    "refresh-token-reused": (401, "Refresh token reused"),
    "payment-declined": (402, "Payment declined"),
    "forbidden": (403, "Forbidden"),
    "csrf-failed": (403, "CSRF check failed"),
    "request-blocked": (403, "Request blocked"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "version-conflict": (409, "Version conflict"),
    "email-taken": (409, "Email already registered"),
    "nonce-replayed": (409, "Nonce replayed"),
    "nonce-expired": (410, "Nonce expired"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Request validation failed"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Internal error"),
    "not-ready": (503, "Not ready"),
    "unavailable": (503, "Service unavailable"),
}
AUTH_SLUGS = frozenset(
    {"unauthenticated", "invalid-token", "token-expired", "invalid-credentials",
     "refresh-token-reused", "csrf-failed"}
)
_STATUS_SLUG = {400: "malformed-json", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 413: "payload-too-large",
                415: "unsupported-media-type", 422: "validation-error", 429: "rate-limited",
                503: "unavailable"}


class Problem(Exception):
    """Raised anywhere in a handler; rendered as problem+json by the app's handler."""

    def __init__(self, slug: str, detail: str, *, status: int | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status = status or SLUGS[slug][0]
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def slug_for_status(status: int) -> str:
    return _STATUS_SLUG.get(status, "internal-error" if status >= 500 else "validation-error")


def problem_body(slug: str, detail: str, *, status: int, request_id: str,
                 instance: str | None = None, **extensions: Any) -> bytes:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": SLUGS.get(slug, (status, "Error"))[1],
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return json.dumps(body, separators=(",", ":")).encode()


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", "req_unknown0"))


def problem_response(request: Request, slug: str, detail: str, *, status: int | None = None,
                     headers: dict[str, str] | None = None, **extensions: Any) -> Response:
    status = status or SLUGS[slug][0]
    if slug in AUTH_SLUGS:
        # Counted here so that every auth failure, whatever raised it, reaches the metric.
        hook = getattr(request.app.state, "on_auth_failure", None)
        if hook is not None:
            hook(request, slug)
    body = problem_body(slug, detail, status=status, request_id=request_id_of(request.scope),
                        instance=request.url.path, **extensions)
    return Response(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.slug, exc.detail, status=exc.status,
                            headers=exc.headers, **exc.extensions)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug = slug_for_status(exc.status_code)
    # FastAPI's subclass carries any JSON value as its detail, not only a string.
    raw_detail: object = exc.detail
    detail = raw_detail if isinstance(raw_detail, str) else json.dumps(raw_detail)
    if exc.status_code == 404:
        detail = f"No resource at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers or {})
    return problem_response(request, slug, detail, status=exc.status_code, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # The no-validation fault answers before the 400 too: a handler that trusts its input
    # falls over on malformed JSON as it does on wrong types.
    hook = getattr(request.app.state, "on_validation_error", None)
    if hook is not None:
        override: Response | None = hook(request)
        if override is not None:
            return override
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(request, "malformed-json", "The request body is not valid JSON")
    items = []
    for error in errors:
        msg = str(error.get("msg", "invalid"))
        if error.get("type") == "extra_forbidden":
            msg = "unknown field"
        items.append({"loc": _loc(error.get("loc", ())), "msg": msg})
    detail = "; ".join(f"{item['loc']}: {item['msg']}" for item in items[:5]) or "invalid request"
    return problem_response(request, "validation-error", detail, errors=items)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
