"""A tiny WAF: blocks obvious injection probes in the path or query (403
`request-blocked`) and counts every rule hit, the signal the canary gate compares."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import Scope

from .bodyguard import send_problem
from .health import is_synthetic

RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("sql-injection", "high", re.compile(
        r"'\s*(or|and)\s+\d+\s*=\s*\d+|union\s+select|;\s*drop\s+table", re.I)),
    ("xss", "high", re.compile(r"<\s*script|javascript:|onerror\s*=", re.I)),
    ("path-traversal", "medium", re.compile(r"\.\./|\.\.\\")),
)


class WafMiddleware:
    def __init__(self, app: Any, *, prefix: str = "/api/v1") -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        text = unquote_plus((raw + b"?" + scope.get("query_string", b"")).decode("latin-1"))
        for rule, severity, pattern in RULES:
            if pattern.search(text):
                slo = getattr(scope["app"].state, "slo", None)
                if slo is not None:
                    synthetic = "true" if is_synthetic(scope) else "false"
                    slo.waf_rule_hits.labels(rule, severity, synthetic).inc()
                await send_problem(scope, send, "request-blocked", 403,
                                   f"Blocked by WAF rule {rule}")
                return
        await self.app(scope, receive, send)
