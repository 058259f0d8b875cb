"""What every sample, span and report of one run shares: who ran what against which build."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import pytest

RUN_CONTEXT_KEY = pytest.StashKey["RunContext"]()
# xdist: the controller passes its RunContext to every worker under this workerinput key.
WORKERINPUT_KEY = "synthmon_run_context"


def new_run_id() -> str:
    """Sortable by time, unique across machines: 20261127T160102Z-3f9c0e."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    target: str  # base URL actually used
    target_name: str  # policy name or "url"
    cohort: str  # canary | control
    region: str
    device: str
    build_id: str  # expected or reported by the target's /health
    git_sha: str
    environment: str  # sandbox | staging | production
    started_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunContext:
        return cls(**data)
