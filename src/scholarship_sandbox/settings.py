"""Everything the sandbox can be told at start, in one frozen object."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Literal

Cohort = Literal["canary", "control", "sandbox"]


@dataclass(frozen=True)
class RateLimits:
    """Fixed-window quotas (requests per `window_seconds`).

    Generous by default for loopback and the seeded accounts because the suite, the gate
    scenarios and the load selftests send thousands of requests from 127.0.0.1; the seeded
    quota account keeps its deliberately tiny quota whatever is set here.
    """

    window_seconds: int = 60
    per_account: int = 10_000  # accounts created by signup
    per_seeded_account: int = 1_000_000  # the seeded student and provider
    per_address: int = 600  # public routes, per client address
    per_loopback_address: int = 1_000_000  # public routes from 127.0.0.1 / ::1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RateLimits:
        env = dict(os.environ if env is None else env)
        defaults = cls()

        def pick(name: str, default: int) -> int:
            raw = env.get(f"SANDBOX_RATE_LIMIT_{name.upper()}")
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"SANDBOX_RATE_LIMIT_{name.upper()} must be an integer") from None
            if value < 1:
                raise ValueError(f"SANDBOX_RATE_LIMIT_{name.upper()} must be >= 1")
            return value

        return cls(
            window_seconds=pick("window_seconds", defaults.window_seconds),
            per_account=pick("per_account", defaults.per_account),
            per_seeded_account=pick("per_seeded_account", defaults.per_seeded_account),
            per_address=pick("per_address", defaults.per_address),
            per_loopback_address=pick("per_loopback_address", defaults.per_loopback_address),
        )


@dataclass(frozen=True)
class TlsSettings:
    """Serve HTTPS with a certificate from a throwaway CA made at start (tls.py)."""

    ca_file: str | None = None  # where the CA certificate (PEM) goes; None: beside the key
    expires_in_days: int | None = None  # None: a certificate valid for a year
    wrong_host: bool = False  # issued for another name than the one served


@dataclass(frozen=True)
class Settings:
    build_id: str = "sandbox-local"
    git_sha: str = "0000000"
    cohort: Cohort = "sandbox"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    faults: tuple[str, ...] = ()  # fault SPECs (docs/faults.md), parsed by create_app
    db_path: str | None = None  # None: a fresh temp file for this process
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    access_token_ttl: int = 900
    refresh_token_ttl: int = 14 * 24 * 3600
    nonce_ttl: int = 300
    seed: int = 20240607  # the seed data is the same on every start
    catalogue: str = "standard"  # or "alternate": other titles (seed.CATALOGUES)
    tls: TlsSettings | None = None  # None: plain HTTP
    rate_limits: RateLimits = field(default_factory=RateLimits)
    access_log: str | None = None  # None: stderr; "-" disables (benchmarks)
    cors_origins: tuple[str, ...] = ("https://app.scholarshipai.example",)
    metrics: bool = True  # False only for the overhead benchmark's baseline
    max_body_bytes: int = 64 * 1024
    max_draft_bytes: int = 32 * 1024
