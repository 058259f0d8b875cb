"""Error types that say what happened: a 5xx is only what a server answered with a 5xx."""

from __future__ import annotations

import dataclasses

import pytest

from synthmon.samples import ERROR_TYPES, Sample, known_error_type
from synthmon.telemetry.metrics import ERROR_TYPE, http_attributes

BASE = dict(run_id="r", check="c", method="GET", route="/health", status=200, total_ms=1.0,
            ttfb_ms=1.0, schema_ok=None, schema_error=None, budget_ms=50, hard_limit_ms=500,
            budget_verdict="ok", synthetic_id="r.c.1", trace_id="0" * 32, span_id="0" * 16,
            started_at=0.0, target="http://127.0.0.1:1", cohort="canary", region="r",
            device="d", build_id="b", git_sha="abcdef1")


def sample(**changes: object) -> Sample:
    return Sample(**{**BASE, **changes})  # type: ignore[arg-type]


def test_a_call_without_an_answer_is_not_a_5xx():
    for kind in ("no-answer", "deadline"):
        s = sample(status=None, error_type=kind, ttfb_ms=None)
        assert s.is_incomplete and not s.is_server_error
    assert sample(status=503, error_type="http-5xx").is_server_error
    assert not sample(status=503, error_type="http-5xx").is_incomplete
    too_large = sample(status=200, error_type="body-too-large")
    assert too_large.is_incomplete and not too_large.is_server_error


@pytest.mark.parametrize(("old", "status", "new"), [
    ("timeout", None, "no-answer"), ("ConnectionError", None, "no-answer"),
    ("ChunkedEncodingError", None, "no-answer"), ("target-down", None, "no-answer"),
    ("500", 500, "http-5xx"), ("404", 404, "http-4xx"), (None, None, None),
    ("deadline", None, "deadline"),
])
def test_samples_written_before_read_as_todays_types(old, status, new):
    assert known_error_type(old, status) == new
    data = dataclasses.asdict(sample(status=status, error_type=old))
    assert Sample.from_dict(data).error_type == new


def test_every_type_is_in_the_summary_schema():
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" /
                         "summary.schema.json").read_text())
    assert tuple(schema["$defs"]["error_type"]["enum"]) == ERROR_TYPES


def test_metrics_name_an_error_answer_by_its_code_and_say_what_happened_beside_it():
    answered = http_attributes(sample(status=503, error_type="http-5xx"))
    assert answered["error.type"] == "503" and answered[ERROR_TYPE] == "http-5xx"
    cut = http_attributes(sample(status=None, error_type="deadline"))
    assert cut["error.type"] == "deadline" == cut[ERROR_TYPE]
    assert "http.response.status_code" not in cut
    fine = http_attributes(sample())
    assert "error.type" not in fine and ERROR_TYPE not in fine
