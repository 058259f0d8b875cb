"""One Sample per HTTP call the monitor makes, browser step it takes and Web Vital it measures:
the unit every later stage reads.

The plugin records samples on the worker and attaches them to the test report's
`user_properties` under the key `SAMPLE_PROPERTY`, so they reach the xdist controller
without files that workers race on. Reports, telemetry, the history store, the baseline
and the gate all read this one shape.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal

SAMPLE_PROPERTY = "synthmon.sample"
PHASES = ("dns", "connect", "tls", "ttfb", "transfer")  # Sample.phases, in the order they pass

BudgetVerdict = Literal["ok", "degraded", "over_limit"]
# http: one HTTP call of the api client (method and route template);
# step: one step of a browser check (method "STEP", route the step's name);
# vital: one Web Vital of one page (method "LCP", "CLS", ..., route the page's template).
SampleKind = Literal["http", "step", "vital"]

# What went wrong with a call (Sample.error_type; None when nothing did). A 5xx is only what
# a server answered with a 5xx: a call that got no complete answer is one of NO_ANSWER.
HTTP_5XX = "http-5xx"  # answered with a 5xx the check did not expect
HTTP_4XX = "http-4xx"  # answered with a 4xx the check did not expect
UNEXPECTED_STATUS = "unexpected-status"  # another status it did not expect (200 for a 401)
SCHEMA = "schema"  # the answer's body breaks its schema (or is not JSON)
BODY_TOO_LARGE = "body-too-large"  # the body passed client.max_body_bytes; reading stopped
NO_ANSWER = "no-answer"  # refused, reset, timed out, closed mid-body, or not sent (target down)
DEADLINE = "deadline"  # no complete answer within client.deadline_s
WRONG_BUILD = "wrong-build"  # not sent: the target serves another build than --expect-build
STEP_TIMEOUT = "step-timeout"  # a browser step's action or wait ran out of time
STEP_FAILED = "step-failed"  # a browser step broke otherwise (a page error, a failed request)
ERROR_TYPES = (HTTP_5XX, HTTP_4XX, UNEXPECTED_STATUS, SCHEMA, BODY_TOO_LARGE, NO_ANSWER,
               DEADLINE, WRONG_BUILD, STEP_TIMEOUT, STEP_FAILED)
# Calls that could not be completed: availability counts them as it counts a 5xx.
INCOMPLETE = frozenset({NO_ANSWER, DEADLINE, BODY_TOO_LARGE})


@dataclass(frozen=True, slots=True)
class Sample:
    run_id: str
    check: str  # the pytest node id of the check
    method: str  # an HTTP method; STEP, or a vital's name (LCP), for browser samples
    route: str  # route template, e.g. /api/v1/scholarships/{scholarship_id}; see SampleKind
    status: int | None  # None when no response arrived; a browser sample: its page's status
    total_ms: float  # the whole request, body included; a step's duration; a vital's value
    ttfb_ms: float | None  # time to the response headers
    schema_ok: bool | None  # None when the call was not schema-checked
    schema_error: str | None
    budget_ms: float
    hard_limit_ms: float
    budget_verdict: BudgetVerdict
    synthetic_id: str
    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    started_at: float  # unix seconds
    target: str
    cohort: str
    region: str
    device: str
    build_id: str
    git_sha: str
    critical: bool = False
    expected_status: int | None = None  # what the check expected; 4xx it expected is a user error
    attempts: int = 1  # > 1 means it passed only after a retry: flaky
    error_type: str | None = None  # one of ERROR_TYPES, None when the call went as expected
    # members no schema names ('$.items[*].recommended'): an additive change, never a failure
    schema_drift: tuple[str, ...] = ()
    # dns, connect, tls, ttfb, transfer (ms): on the one call per check made over a fresh
    # connection (synthmon.suite.phases); None on pooled calls
    phases: dict[str, float] | None = None
    kind: SampleKind = "http"
    # of total_ms, budget_ms and hard_limit_ms: "ms", or "score" for a unitless vital (CLS)
    unit: str = "ms"

    def to_dict(self) -> dict[str, Any]:
        """The sample as JSON holds it. Built field by field rather than with asdict, whose
        deep copy of every value cost a run 15 ms (four dicts per call): every field is a
        str, number, bool or None but the two containers, copied here."""
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["schema_drift"] = list(self.schema_drift)  # JSON's shape: an array
        if self.phases is not None:
            data["phases"] = dict(self.phases)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        if values.get("schema_drift") is not None:
            values["schema_drift"] = tuple(values["schema_drift"])
        else:
            values.pop("schema_drift", None)
        values["error_type"] = known_error_type(values.get("error_type"), values.get("status"))
        return cls(**values)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def is_http(self) -> bool:
        """An HTTP call: what the gate's rates and latency criteria are computed from."""
        return self.kind == "http"

    @property
    def is_server_error(self) -> bool:
        """The server answered with a 5xx (expected or not)."""
        return self.status is not None and self.status >= 500

    @property
    def is_incomplete(self) -> bool:
        """The call got no complete answer: no answer at all, none within the deadline, or a
        body over the cap."""
        return self.error_type in INCOMPLETE


_FIELD_NAMES = tuple(f.name for f in fields(Sample))


def known_error_type(error_type: str | None, status: int | None) -> str | None:
    """Samples recorded before error types said what happened (history stores and summaries
    written earlier) named an exception, "timeout", "target-down" or the status: read as
    today's types, so a no-answer of last week is not counted as a 5xx nor forgotten."""
    if error_type is None or error_type in ERROR_TYPES:
        return error_type
    if status is None:
        return NO_ANSWER
    if status >= 500:
        return HTTP_5XX
    return HTTP_4XX if status >= 400 else UNEXPECTED_STATUS


def phase_medians(samples: Iterable[Sample]) -> dict[str, float] | None:
    """The median of each phase over the calls that measured them (one per check, over a
    fresh connection), or None when none did."""
    measured = [s.phases for s in samples if s.phases]
    if not measured:
        return None
    return {phase: round(statistics.median(float(p.get(phase, 0.0)) for p in measured), 3)
            for phase in PHASES}
