"""Constructed Sample lists: healthy cohorts, and cohorts with one fault each."""

from __future__ import annotations

import random

from synthmon.samples import Sample

ENDPOINTS = [
    ("GET", "/health", 200),
    ("GET", "/api/v1/scholarships", 200),
    ("GET", "/api/v1/scholarships/{scholarship_id}", 200),
    ("POST", "/api/v1/auth/login", 200),
    ("GET", "/api/v1/me/saved", 200),
    ("PUT", "/api/v1/applications/{application_id}/draft", 200),
]


def make_samples(n: int, cohort: str = "control", seed: int = 1, *, base_ms: float = 10.0,
                 extra_ms: float = 0.0, error_rate: float = 0.0, auth_rate: float = 0.0,
                 schema_rate: float = 0.0, schema_route: str | None = None) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        method, route, expected = ENDPOINTS[i % len(ENDPOINTS)]
        status = expected
        schema_ok: bool | None = True
        if rng.random() < error_rate:
            status, schema_ok = 500, None
        elif route != "/health" and rng.random() < auth_rate:
            status, schema_ok = 401, None
        elif rng.random() < schema_rate and (schema_route is None or schema_route == route):
            schema_ok = False
        ms = rng.lognormvariate(0, 0.35) * base_ms + extra_ms
        out.append(Sample(
            run_id=f"r{i // 35}", check=f"tests/synthetic/test_x.py::test_{i % 7}", method=method,
            route=route, status=status, total_ms=ms, ttfb_ms=ms * 0.8, schema_ok=schema_ok,
            schema_error=None if schema_ok is not False else "items.0.amount: not a number",
            budget_ms=150, hard_limit_ms=1000, budget_verdict="ok",
            synthetic_id=f"syn-{cohort}-{i:05d}", trace_id="0" * 31 + "1", span_id="0" * 15 + "1",
            started_at=1_700_000_000 + i, target="http://127.0.0.1:1", cohort=cohort,
            region="local", device="desktop", build_id=f"b-{cohort}", git_sha="abcdef1",
            critical=True, expected_status=expected))
    return out
