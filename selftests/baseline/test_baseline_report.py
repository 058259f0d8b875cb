"""baseline.json / .md / .png from constructed samples, and the gate reading the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthmon.baseline.report import build_baseline, to_markdown, write_reports
from synthmon.gate.baseline_input import load_baseline
from synthmon.samples import Sample

SEARCH = "GET /api/v1/scholarships"
LOGIN = "POST /api/v1/auth/login"
SIGNUP = "POST /api/v1/auth/signup"


def sample(endpoint: str, ms: float, status: int | None = 200, **extra: Any) -> Sample:
    method, route = endpoint.split(" ", 1)
    fields: dict[str, Any] = dict(
        run_id="r1", check="tests/synthetic/test_x.py::test_x", method=method, route=route,
        status=status, total_ms=ms, ttfb_ms=ms / 2, schema_ok=True, schema_error=None,
        budget_ms=150.0, hard_limit_ms=1000.0, budget_verdict="ok", synthetic_id="syn-1",
        trace_id="0" * 31 + "1", span_id="0" * 15 + "1", started_at=0.0,
        target="http://127.0.0.1:1", cohort="control", region="local", device="desktop",
        build_id="b1", git_sha="abc1234", critical=True)
    fields.update(extra)
    return Sample(**fields)


def doc(samples: list[Sample], wanted: int = 10) -> dict[str, Any]:
    meta = {"target": "http://127.0.0.1:1", "target_name": "sandbox", "environment": "sandbox",
            "build_id": "b1", "git_sha": "abc1234", "started_at": 1_800_000_000.0,
            "finished_at": 1_800_000_060.0, "runs": [{"run_id": "r1", "exit_status": 0,
                                                       "requests": len(samples)}],
            "stopped_because": "test"}
    return build_baseline(samples, meta=meta, wanted=wanted,
                          critical=[SEARCH, LOGIN, SIGNUP], budgets={SEARCH: 150.0})


def test_figures_per_endpoint_and_errors_kept_out_of_latency() -> None:
    samples = [sample(SEARCH, float(ms)) for ms in range(1, 101)]
    samples += [sample(SEARCH, 5000.0, 503), sample(SEARCH, 9000.0, None, error_type="no-answer")]
    samples += [sample(LOGIN, 30.0, 401, expected_status=200)]
    d = doc(samples)
    search = d["endpoints"][SEARCH]
    assert search["count"] == 100 and search["errors"] == 2
    assert search["max_ms"] == 100.0  # the 503 and the timeout are not latencies
    assert search["p95_ms"] == 95.05 and len(search["latencies_ms"]) == 100
    assert search["p95_ci_ms"]["low"] <= 95.05 <= search["p95_ci_ms"]["high"]
    # a 5xx is what a server answered: the timeout is no answer, not a 5xx
    assert d["rates"]["server_error_rate"] == {"events": 1, "n": 103}
    assert d["rates"]["auth_error_rate"] == {"events": 1, "n": 103}
    assert d["missing"] == [SIGNUP]
    assert d["short"] == {LOGIN: 1}
    assert (d["build_id"], d["git_sha"], d["target"]) == ("b1", "abc1234", "http://127.0.0.1:1")
    assert d["measured_at"] == "2027-01-15T08:01:00Z" and d["duration_s"] == 60.0


def test_the_gate_reads_what_the_baseline_writes(tmp_path: Path) -> None:
    d = doc([sample(SEARCH, float(ms)) for ms in range(1, 101)] + [sample(LOGIN, 20.0)])
    paths = write_reports(d, tmp_path, slo_ms=120, limit_ms=150)
    baseline = load_baseline(paths["json"])
    assert baseline.endpoints[SEARCH].p95_ms == 95.05
    assert baseline.endpoints[SEARCH].count == 100
    assert baseline.rates["auth_error_rate"] == (0, 101)
    assert baseline.build_id == "b1"
    assert json.loads(paths["json"].read_text())["plot"] == "baseline.png"


def test_markdown_and_plot(tmp_path: Path) -> None:
    logins = [sample(LOGIN, float(ms)) for ms in (20, 21, 22, 23, 24)]
    d = doc([sample(SEARCH, float(ms)) for ms in range(1, 101)] + logins)
    paths = write_reports(d, tmp_path, slo_ms=120, limit_ms=150)
    text = paths["md"].read_text()
    assert text.startswith("# Performance baseline: sandbox (sandbox)")
    assert f"| `{SEARCH}` | yes | 100 | 0 |" in text and "**95.0**" in text
    assert "## Critical endpoints never called" in text and f"`{SIGNUP}`" in text
    assert "≥ 23.0 (n < 72)" in text  # five login samples: no upper bound, and it says so
    assert "![latency distributions](baseline.png)" in text
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert to_markdown(d) == text
