"""What every sample, span and report of one run shares: who ran what against which build,
and the stash keys where the run's plugins (suite, reports, telemetry) meet.

The suite decides the RunContext once per process, in its pytest_configure: on the xdist
controller (or a run without xdist) from the options and the target's /health, on a worker
from what the controller handed it in `workerinput`. It never changes afterwards.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from synthmon.samples import Sample

RUN_CONTEXT_KEY = pytest.StashKey["RunContext"]()
# The run's report folder (reports/<run id>/), placed by the reports plugin at configure;
# telemetry writes its telemetry.jsonl there. Absent when reports are off.
RUN_DIR_KEY = pytest.StashKey[Path]()
# What telemetry says about the run for summary.json (trace id, OTLP endpoint, export ok),
# set on the controller at session end before the reports are written.
TELEMETRY_INFO_KEY = pytest.StashKey[dict[str, Any]]()
# The run-level latency verdict (synthmon.suite.run_latency) -> summary.json's run_latency.
RUN_LATENCY_KEY = pytest.StashKey[dict[str, Any]]()
# A run the suite ended before its checks: how (RunAbort.outcome) and why, set at configure.
RUN_ABORT_KEY = pytest.StashKey["RunAbort"]()
# Why an interrupted run was interrupted (SIGTERM, a check past its timeout), when the suite
# knows better than pytest's "KeyboardInterrupt".
INTERRUPT_KEY = pytest.StashKey[str]()
# xdist: the controller passes its RunContext to every worker under this workerinput key.
WORKERINPUT_KEY = "synthmon_run_context"

# How a run ended, in summary.json, junit.xml and the history store: passed, failed, or
# one of these, when no verdict on the target's checks can be read from it.
TARGET_UNREACHABLE = "target-unreachable"
WRONG_BUILD = "wrong-build"
INTERRUPTED = "interrupted"
# Nothing failed, but critical checks were skipped (pytest exits 0): no success, since a
# skipped check proves nothing about the target.
INCOMPLETE = "incomplete"


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


@dataclass(frozen=True, slots=True)
class RunAbort:
    """The run stopped before its first check: the target did not answer its probe
    (TARGET_UNREACHABLE; `samples` holds that unanswered call) or serves another build than
    --expect-build (WRONG_BUILD)."""

    outcome: str
    reason: str
    samples: tuple[Sample, ...] = ()
