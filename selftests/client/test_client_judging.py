"""Judging an answer: status, schema, budget."""

from __future__ import annotations

import json

import pytest

from synthmon.policy import Budget
from synthmon.suite.judging import (
    PROBLEM_SCHEMA,
    expected_statuses,
    judge,
    schema_problem,
    schema_to_check,
    status_is_expected,
)
from synthmon.suite.schemas import SchemaVerdict

BUDGET = Budget(budget_ms=50, hard_limit_ms=500, critical=True)
HEALTH = json.dumps({"status": "ok", "build_id": "b1", "git_sha": "abcdef1",
                     "uptime_seconds": 1, "cohort": "control"}).encode()
PROBLEM = json.dumps({"type": "https://x/problems/unavailable", "title": "Unavailable",
                      "status": 503, "detail": "db", "request_id": "req_0000000000000000"}
                     ).encode()


def test_expect_takes_none_one_or_several_statuses():
    assert expected_statuses(None) == frozenset()
    assert expected_statuses(200) == {200}
    assert expected_statuses([401, 403]) == {401, 403}


@pytest.mark.parametrize(("status", "expected", "ok"), [
    (204, frozenset(), True), (302, frozenset(), False), (500, frozenset(), False),
    (401, frozenset({401}), True), (200, frozenset({401}), False),
])
def test_a_status_is_expected_when_listed_or_any_2xx(status, expected, ok):
    assert status_is_expected(status, expected) is ok


def test_error_answers_are_held_against_problem_json_and_successes_against_the_schema():
    assert schema_to_check(503, False, "health") == PROBLEM_SCHEMA
    assert schema_to_check(404, True, None) == PROBLEM_SCHEMA
    assert schema_to_check(200, True, "health") == "health"
    assert schema_to_check(200, False, "health") is None  # expected a 401: no health body


def test_the_content_type_and_json_come_before_the_schema(schemas):
    assert schema_problem(schemas, "health", "text/plain", b"ok").problem == \
        "at $: expected Content-Type application/json, got text/plain (2 bytes)"
    assert schema_problem(schemas, "health", "application/json", b"{").problem == \
        "at $: the body is not JSON (1 bytes of application/json)"
    assert schema_problem(schemas, "health", "application/json", HEALTH).problem is None
    broken = HEALTH.replace(b'"b1"', b"3")
    assert schema_problem(schemas, "health", "application/json", broken).problem == \
        "at $.build_id: 3 is not of type 'string'"


def test_an_unknown_member_is_drift_and_a_secret_looking_one_a_failure(schemas):
    added = HEALTH.replace(b'"b1"', b'"b1", "recommended": "yes"')
    assert schema_problem(schemas, "health", "application/json", added) == \
        SchemaVerdict(None, ("$.recommended",))
    j = judge(200, "application/json", added, expected=frozenset({200}), schema="health",
              schemas=schemas, total_ms=5, budget=Budget(50, 500, True))
    assert j.passed and j.schema_ok and j.schema_drift == ("$.recommended",)
    leaked = HEALTH.replace(b'"b1"', b'"b1", "password_hash": "x"')
    assert "looks like a secret or personal data" in str(
        schema_problem(schemas, "health", "application/json", leaked).problem)


def test_a_good_answer_passes_within_budget(schemas):
    j = judge(200, "application/json", HEALTH, expected=frozenset({200}), schema="health",
              schemas=schemas, total_ms=12.0, budget=BUDGET)
    assert j.passed and j.schema_ok is True and j.error_type is None
    assert j.budget_verdict == "ok"


def test_the_budget_verdict_is_degraded_then_over_limit(schemas):
    def verdict(ms):
        return judge(200, "application/json", HEALTH, expected=frozenset(), schema=None,
                     schemas=schemas, total_ms=ms, budget=BUDGET).budget_verdict
    assert (verdict(50), verdict(50.1), verdict(500.1)) == ("ok", "degraded", "over_limit")


def test_an_unexpected_error_answer_is_labelled_and_its_problem_body_checked(schemas):
    j = judge(503, "application/problem+json", PROBLEM, expected=frozenset({200}),
              schema="health", schemas=schemas, total_ms=1.0, budget=BUDGET)
    assert not j.passed and j.error_type == "http-5xx"
    assert j.schema_name == PROBLEM_SCHEMA and j.schema_ok is True


def test_an_expected_error_answer_passes_when_its_problem_body_conforms(schemas):
    j = judge(503, "application/problem+json", PROBLEM, expected=frozenset({503}),
              schema=None, schemas=schemas, total_ms=1.0, budget=BUDGET)
    assert j.passed and j.error_type is None
    broken = judge(503, "text/html", b"<html/>", expected=frozenset({503}), schema=None,
                   schemas=schemas, total_ms=1.0, budget=BUDGET)
    assert not broken.passed and broken.schema_ok is False
