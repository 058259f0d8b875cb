"""Ids and timestamps in the contract's formats."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """`usr_3f9c0e1a2b4d5e6f`: matches ^[a-z]+_[0-9A-Za-z]{8,32}$."""
    return f"{prefix}_{secrets.token_hex(8)}"


def utc_iso(ts: float | None = None) -> str:
    moment = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
