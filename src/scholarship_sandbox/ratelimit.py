"""Per-account (authenticated) and per-address (anonymous) fixed-window quotas.

X-RateLimit-Limit/Remaining/Reset go on every /api/v1 response; over the limit the request
is answered 429 `rate-limited` with Retry-After before any handler runs."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import jwt
from starlette.types import Scope

from .bodyguard import send_problem
from .faults import FaultSet
from .settings import RateLimits

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class FixedWindowLimiter:
    def __init__(self, window: int) -> None:
        self.window = window
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window index, count)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, remaining, seconds until reset)."""
        now = time.time() if now is None else now
        index = int(now // self.window)
        with self._lock:
            if len(self._counts) > 100_000:  # forget windows that are over
                self._counts = {k: v for k, v in self._counts.items() if v[0] == index}
            window, count = self._counts.get(key, (index, 0))
            if window != index:
                count = 0
            count += 1
            self._counts[key] = (index, count)
        reset = max(1, math.ceil((index + 1) * self.window - now))
        return count <= limit, max(0, limit - count), reset


class RateLimitMiddleware:
    def __init__(self, app: Any, *, limits: RateLimits, secret: str, faults: FaultSet,
                 account_limits: dict[str, int], prefix: str = "/api/v1") -> None:
        self.app, self.limits, self.secret, self.faults = app, limits, secret, faults
        self.account_limits = account_limits  # user id -> limit (seeded accounts)
        self.prefix = prefix
        self.limiter = FixedWindowLimiter(limits.window_seconds)

    def _key_and_limit(self, scope: Scope) -> tuple[str, int]:
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].strip().decode("latin-1")
                break
            if name == b"cookie" and token is None and b"sa_session=" in value:
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == "sa_session":
                        token = val
        if token:
            try:
                # Signature checked, expiry not: an expired token still names its account.
                claims = jwt.decode(token, self.secret, algorithms=["HS256"],
                                    options={"verify_exp": False})
                user = str(claims["sub"])
                return "usr:" + user, self.account_limits.get(user, self.limits.per_account)
            except (jwt.InvalidTokenError, KeyError):
                pass
        client = (scope.get("client") or ("unknown", 0))[0]
        limit = (self.limits.per_loopback_address if client in _LOOPBACK
                 else self.limits.per_address)
        return "ip:" + client, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        key, limit = self._key_and_limit(scope)
        allowed, remaining, reset = self.limiter.hit(key, limit)
        headers = [(b"x-ratelimit-limit", str(limit).encode()),
                   (b"x-ratelimit-remaining", str(remaining).encode()),
                   (b"x-ratelimit-reset", str(reset).encode())]
        scope.setdefault("state", {}).setdefault("extra_headers", []).extend(headers)
        if not allowed and not self.faults.on("no-rate-limit", scope):
            await send_problem(scope, send, "rate-limited", 429,
                               f"Quota of {limit} requests per {self.limiter.window} s exceeded",
                               headers=[(b"retry-after", str(reset).encode())])
            return
        await self.app(scope, receive, send)
