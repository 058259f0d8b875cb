"""Fault injection (docs/faults.md): the grammar, the active set, and the middleware that
applies the faults acting on whole responses. Behavioural faults (no-rbac, nonce-reuse,
...) are asked for by the code they bend, through `FaultSet.on(kind, scope)`."""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from starlette.types import Scope

from .bodyguard import send_problem
from .health import route_template

COMMON = {"route", "rate"}
# kind -> (required params, optional params)
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "latency": (frozenset({"ms"}), frozenset({"jitter_ms"})),
    "error": (frozenset(), frozenset({"status"})),
    "drop-field": (frozenset({"field"}), frozenset()),
    "retype-field": (frozenset({"field"}), frozenset({"to"})),
    "strip-headers": (frozenset(), frozenset({"headers"})),
    "slow-body": (frozenset({"ms"}), frozenset()),
    "drop-metric": (frozenset({"family"}), frozenset()),
    "add-field": (frozenset({"field"}), frozenset({"value"})),
    "server-header": (frozenset(), frozenset({"value"})),
    "cert-expiring": (frozenset({"days"}), frozenset()),
    "slow-paint": (frozenset({"ms"}), frozenset()),
    **{kind: (frozenset(), frozenset()) for kind in (
        "no-rbac", "no-csrf", "no-validation", "no-rate-limit", "nonce-reuse",
        "lose-draft-writes", "not-ready", "auth-errors", "signup-failures", "capture-failures",
        "refresh-reuse", "cors-wildcard", "leak-pii", "no-auth",
        "no-token-expiry", "no-signature-check", "no-version-check", "no-body-limit",
        "no-content-type-check", "provider-writes", "alter-echo", "analytics-synthetic",
        "cert-wrong-host", "dead-save-button", "script-error", "layout-shift",
        "third-party-call")},
}
SECURITY_HEADER_NAMES = ("strict-transport-security", "content-security-policy",
                         "x-content-type-options", "x-frame-options", "referrer-policy",
                         "cache-control")
RETYPE_TARGETS = ("string", "number", "null", "bool", "array", "object")
# Faults on the TLS certificate: it is made once, when an HTTPS sandbox starts, so these
# take effect at start only (the admin route refuses them).
CERTIFICATE_KINDS = frozenset({"cert-expiring", "cert-wrong-host"})
ADDED_VALUE = "added by the add-field fault"
DEFAULT_SERVER_HEADER = "uvicorn/0.30 Python/3.11"
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# The sample-name suffixes prometheus_client writes for a family's series.
METRIC_SUFFIXES = ("", "_total", "_created", "_bucket", "_count", "_sum", "_info")
DASHBOARD = "/api/v1/provider/dashboard"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LEAKED = {"email": "jane.leak@example.com", "password": "Hunter2-leaked-password",
          "token": "eyJhbGciOiJIUzI1NiJ9.leaked.token", "name": "Jane Leaky Doe"}


class FaultSpecError(ValueError):
    """A malformed SPEC: the message names the spec, the position and the reason."""


@dataclass(frozen=True)
class Fault:
    spec: str
    kind: str
    route: str = "*"
    rate: float = 1.0
    params: dict[str, str] = field(default_factory=dict)

    def number(self, name: str, default: float = 0.0) -> float:
        return float(self.params[name]) if name in self.params else default


def _fail(spec: str, pos: int, reason: str) -> FaultSpecError:
    return FaultSpecError(f"bad fault spec {spec!r} at position {pos}: {reason}")


def parse_spec(spec: str) -> Fault:
    """KIND [":" NAME "=" VALUE ("," NAME "=" VALUE)*]"""
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    if kind not in KINDS:
        raise _fail(spec, 0, f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    required, optional = KINDS[kind]
    params: dict[str, str] = {}
    pos = len(kind) + 1
    if sep and not rest:
        raise _fail(spec, pos, "expected NAME=VALUE after ':'")
    for part in rest.split(",") if rest else ():
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name:
            raise _fail(spec, pos, f"expected NAME=VALUE, got {part!r}")
        if name not in COMMON | required | optional:
            allowed = ", ".join(sorted(COMMON | required | optional))
            raise _fail(spec, pos, f"{kind} takes no parameter {name!r} (allowed: {allowed})")
        if name in params:
            raise _fail(spec, pos, f"parameter {name!r} given twice")
        params[name] = value.strip()
        _check_value(spec, pos, kind, name, params[name])
        pos += len(part) + 1
    missing = required - params.keys()
    if missing:
        raise _fail(spec, len(text), f"{kind} needs {', '.join(sorted(missing))}")
    route = params.pop("route", "*") or "*"
    rate = float(params.pop("rate", "1"))
    return Fault(spec=text, kind=kind, route=route, rate=rate, params=params)


def _check_value(spec: str, pos: int, kind: str, name: str, value: str) -> None:
    if name in ("ms", "jitter_ms"):
        if not value.isdigit() or int(value) > 60_000:
            raise _fail(spec, pos, f"{name} must be an integer 0..60000, got {value!r}")
    elif name == "days":
        if not value.isdigit() or not 1 <= int(value) <= 3650:
            raise _fail(spec, pos, f"days must be an integer 1..3650, got {value!r}")
    elif name == "value":
        if not value:
            raise _fail(spec, pos, "value must not be empty")
    elif name == "rate":
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise _fail(spec, pos, f"rate must be a number 0..1, got {value!r}")
    elif name == "status":
        if not value.isdigit() or not 500 <= int(value) <= 599:
            raise _fail(spec, pos, f"status must be 500..599, got {value!r}")
    elif name == "to":
        if value not in RETYPE_TARGETS:
            raise _fail(spec, pos, f"to must be one of {'|'.join(RETYPE_TARGETS)}, got {value!r}")
    elif name == "field":
        if not value or any(not part for part in value.split(".")):
            raise _fail(spec, pos, f"field must be a dotted path, got {value!r}")
    elif name == "headers":
        if not value or any(not h.strip() for h in value.split("|")):
            raise _fail(spec, pos, "headers must be NAME|NAME|...")
    elif name == "family":
        if not METRIC_NAME.match(value):
            raise _fail(spec, pos, f"family must be a metric name such as "
                                   f"scholarshipai_build_info, got {value!r}")
    elif name == "route" and not value:
        raise _fail(spec, pos, "route must be a glob such as /api/v1/*")


def parse_specs(specs: list[str] | tuple[str, ...]) -> list[Fault]:
    return [parse_spec(spec) for spec in specs if spec.strip()]


class FaultSet:
    """The active faults, swapped atomically (the admin route replaces the whole set)."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._faults: tuple[Fault, ...] = tuple(faults or ())
        self._lock = threading.Lock()
        self._random = random.Random()

    def template(self, scope: Scope) -> str:
        return route_template(scope)

    def replace(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults = tuple(faults)

    def specs(self) -> list[str]:
        return [fault.spec for fault in self._faults]

    def __bool__(self) -> bool:
        return bool(self._faults)

    def matching(self, kind: str, route: str) -> list[Fault]:
        return [f for f in self._faults if f.kind == kind and fnmatchcase(route, f.route)
                and (f.rate >= 1.0 or self._random.random() < f.rate)]

    def active(self, kind: str, scope: Scope) -> Fault | None:
        """The fault of `kind` in effect for this request, for its parameters, or None."""
        if not self.on(kind, scope):
            return None
        route = self.template(scope)
        return next((f for f in self._faults if f.kind == kind and fnmatchcase(route, f.route)),
                    None)

    def on(self, kind: str, scope: Scope) -> bool:
        """Is `kind` in effect for this request? Rolls `rate` once per request and kind."""
        if not self._faults:
            return False
        state = scope.setdefault("state", {})
        decided: dict[str, bool] = state.setdefault("faults_decided", {})
        if kind not in decided:
            decided[kind] = bool(self.matching(kind, self.template(scope)))
        return decided[kind]

    # -- header effects, run by the edge layer after it added the real headers ----------
    def header_hook(self, scope: Scope,
                    headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        if not self._faults:
            return headers
        route = self.template(scope)
        for fault in self.matching("strip-headers", route):
            names = fault.params.get("headers")
            strip = {n.strip().lower().encode() for n in names.split("|")} if names else {
                n.encode() for n in SECURITY_HEADER_NAMES}
            headers = [(k, v) for k, v in headers if k not in strip]
        for fault in self.matching("server-header", route):
            if "value" in fault.params:  # a bare product name: still names the software
                headers += [(b"server", fault.params["value"].encode())]
            else:
                headers += [(b"server", DEFAULT_SERVER_HEADER.encode()),
                            (b"x-powered-by", b"FastAPI")]
        if self.matching("alter-echo", route):
            headers = _altered_echo(headers)
        if self.matching("cors-wildcard", route):
            headers = [(k, v) for k, v in headers if not k.startswith(b"access-control-")]
            headers += [(b"access-control-allow-origin", b"*"),
                        (b"access-control-allow-credentials", b"true")]
        if self.matching("leak-pii", route):
            headers += [(b"x-debug-user-email", LEAKED["email"].encode()),
                        (b"x-debug-user-token", LEAKED["token"].encode())]
        return headers


def _altered_echo(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """What a gateway that starts its own span and mixes up ids sends back: the traceparent
    with a parent id of its own, the request id where the synthetic id was."""
    request_id = next((v for k, v in headers if k == b"x-request-id"), b"req_unknown")
    altered = []
    for name, value in headers:
        if name == b"traceparent" and value.count(b"-") == 3:
            version, trace_id, _, flags = value.split(b"-")
            value = b"-".join((version, trace_id, secrets.token_hex(8).encode(), flags))
        elif name == b"x-synthetic-id":
            value = request_id
        altered.append((name, value))
    return altered


def _mutate(node: Any, path: list[str], action: str, to: str) -> None:
    if not path or node is None:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        children = node if isinstance(node, list) else []
        if not rest:
            return
        for child in children:
            _mutate(child, rest, action, to)
        return
    if not isinstance(node, dict) or (head not in node and not (action == "add" and not rest)):
        return
    if rest:
        _mutate(node[head], rest, action, to)
    elif action == "drop":
        del node[head]
    elif action == "add":
        node.setdefault(head, to)
    else:
        node[head] = _retype(node[head], to)


def _retype(value: Any, to: str) -> Any:
    if to == "string":
        return json.dumps(value) if not isinstance(value, str) else value + "!"
    if to == "number":
        return 0 if isinstance(value, int | float) and value == 1 else 1
    if to == "null":
        return None
    if to == "bool":
        return True
    if to == "array":
        return [value]
    return {"value": value}


class FaultMiddleware:
    """latency, error, slow-body, provider-writes and the body rewrites (drop-field,
    retype-field, add-field, leak-pii, drop-metric)."""

    def __init__(self, app: Any, *, faults: FaultSet) -> None:
        self.app, self.faults = app, faults

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.faults or scope["path"].startswith("/__admin"):
            await self.app(scope, receive, send)
            return
        route = self.faults.template(scope)
        match = self.faults.matching
        for fault in match("latency", route):
            extra = self.faults._random.uniform(0, fault.number("jitter_ms"))
            await asyncio.sleep((fault.number("ms") + extra) / 1000)
        errors = match("error", route)
        if errors:
            status = int(errors[0].number("status", 500))
            slug = "unavailable" if status == 503 else "internal-error"
            await send_problem(scope, send, slug, status, f"Injected fault: {errors[0].spec}")
            return
        if (scope["method"] in WRITE_METHODS and scope["path"].rstrip("/") == DASHBOARD
                and match("provider-writes", route)):
            # The fault: a router that ignores the method serves a write as the read, so
            # the read-only dashboard answers 200 to POST/PUT/DELETE instead of 405.
            scope = {**scope, "method": "GET"}
        rewrites = [(f, "drop") for f in match("drop-field", route)] + [
            (f, "retype") for f in match("retype-field", route)] + [
            (f, "add") for f in match("add-field", route)]
        leak = bool(match("leak-pii", route))
        slow = match("slow-body", route)
        dropped = {f.params["family"] for f in match("drop-metric", route)}
        if not rewrites and not leak and not slow and not dropped:
            await self.app(scope, receive, send)
            return
        delay = sum(f.number("ms") for f in slow) / 1000
        if rewrites or leak:
            send = _rewriting_send(send, rewrites, leak)
        if dropped:
            send = _metric_dropping_send(send, dropped)
        if delay:
            send = _slow_send(send, delay)
        await self.app(scope, receive, send)


def _slow_send(send: Any, delay: float) -> Any:
    waited = False

    async def slow(message: dict[str, Any]) -> None:
        nonlocal waited
        if message["type"] == "http.response.body" and not waited:
            waited = True
            await asyncio.sleep(delay)  # the headers are out; the body waits
        await send(message)

    return slow


def _without_families(text: str, families: set[str]) -> str:
    """The exposition minus every HELP/TYPE line and sample of these families."""
    names = {family + suffix for family in families for suffix in METRIC_SUFFIXES}
    kept = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("# HELP ", "# TYPE ")):
            name = line.split(" ", 3)[2] if line.count(" ") >= 2 else ""
        else:
            name = line.split("{", 1)[0].split(" ", 1)[0].strip()
        if name not in names:
            kept.append(line)
    return "".join(kept)


def _body_rewriting_send(send: Any, wanted: Callable[[bytes], bool],
                         transform: Callable[[bytes], bytes]) -> Any:
    """Buffers the body of a response whose content type `wanted` accepts, and sends
    `transform(body)` with a Content-Length to match; anything else passes untouched."""
    start: dict[str, Any] | None = None
    chunks: list[bytes] = []

    async def rewrite(message: dict[str, Any]) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            start = message if wanted(content_type) else None
            if start is None:
                await send(message)
            return
        if start is None:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = transform(b"".join(chunks))
        headers = [(k, v) for k, v in start.get("headers", ()) if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return rewrite


def _metric_dropping_send(send: Any, families: set[str]) -> Any:
    """drop-metric: rewrites text/plain bodies (the Prometheus exposition) only."""
    return _body_rewriting_send(
        send, lambda content_type: content_type.startswith(b"text/plain"),
        lambda body: _without_families(body.decode(), families).encode())


def _rewriting_send(send: Any, rewrites: list[tuple[Fault, str]], leak: bool) -> Any:
    """drop-field, retype-field, add-field and leak-pii: rewrites JSON bodies only."""

    def transform(body: bytes) -> bytes:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if data is None:
            return body
        for fault, action in rewrites:
            to = fault.params.get("value", ADDED_VALUE) if action == "add" else \
                fault.params.get("to", "string")
            _mutate(data, fault.params["field"].split("."), action, to)
        if leak and isinstance(data, dict):
            data["debug_user"] = dict(LEAKED)
        return json.dumps(data).encode()

    return _body_rewriting_send(send, lambda content_type: b"json" in content_type, transform)
