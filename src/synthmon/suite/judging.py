"""Judging an answer: the status the check expects, the schema of the body, the budget.

Pure: an answer (status, content type, body, time) and what the check asked for go in, a
Judgement comes out. The api client turns it into a span status, a Sample and, for a
checked call, the failure sentence.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from synthmon.policy import Budget
from synthmon.samples import HTTP_4XX, HTTP_5XX, SCHEMA, UNEXPECTED_STATUS, BudgetVerdict
from synthmon.suite.budgets import verdict
from synthmon.suite.schemas import SchemaStore, SchemaVerdict

PROBLEM_SCHEMA = "problem"


def expected_statuses(expect: int | Collection[int] | None) -> frozenset[int]:
    """What a check passes as `expect=`: none (any 2xx), one status, or several."""
    if expect is None:
        return frozenset()
    if isinstance(expect, int):
        return frozenset((expect,))
    return frozenset(expect)


def status_is_expected(status: int, expected: frozenset[int]) -> bool:
    return status in expected if expected else 200 <= status < 300


def schema_to_check(status: int, status_ok: bool, schema: str | None) -> str | None:
    """An error answer is always held against problem+json; an expected success against the
    check's schema; anything else is not schema-checked."""
    if status >= 400:
        return PROBLEM_SCHEMA
    return schema if status_ok else None


def schema_problem(store: SchemaStore, name: str, content_type: str,
                   content: bytes) -> SchemaVerdict:
    """Where and why the body breaks schema `name` ('at $.build_id: 3 is not of type
    'string''), None when it conforms; with the members it has that no schema names."""
    wanted = "application/problem+json" if name == PROBLEM_SCHEMA else "application/json"
    if content_type != wanted:
        return SchemaVerdict(f"at $: expected Content-Type {wanted}, got "
                             f"{content_type or 'none'} ({len(content)} bytes)")
    try:
        body = json.loads(content)
    except ValueError:
        return SchemaVerdict(f"at $: the body is not JSON ({len(content)} bytes of "
                             f"{content_type})")
    return store.verdict(name, body)


@dataclass(frozen=True, slots=True)
class Judgement:
    status_ok: bool
    schema_name: str | None  # the schema the body was held against, if any
    schema_error: str | None  # where and why it broke it
    error_type: str | None  # what a failed answer was, for the sample and the span
    budget_verdict: BudgetVerdict
    schema_drift: tuple[str, ...] = ()  # members no schema names: reported, never failed on

    @property
    def passed(self) -> bool:
        """The answer is what the check asked for (its time is judged apart)."""
        return self.status_ok and self.schema_error is None

    @property
    def schema_ok(self) -> bool | None:
        return None if self.schema_name is None else self.schema_error is None


def judge(status: int, content_type: str, content: bytes, *, expected: frozenset[int],
          schema: str | None, schemas: SchemaStore, total_ms: float,
          budget: Budget) -> Judgement:
    status_ok = status_is_expected(status, expected)
    schema_name = schema_to_check(status, status_ok, schema)
    checked = None if schema_name is None else schema_problem(
        schemas, schema_name, content_type, content)
    return Judgement(
        status_ok=status_ok, schema_name=schema_name,
        schema_error=checked.problem if checked else None,
        error_type=error_type_of(status, status_ok, checked.problem if checked else None),
        budget_verdict=verdict(total_ms, budget),
        schema_drift=checked.drift if checked else (),
    )


def error_type_of(status: int, status_ok: bool, schema_error: str | None) -> str | None:
    """What was wrong with an answer: its status first (a 5xx is a 5xx, whatever its body),
    then its body."""
    if not status_ok:
        if status >= 500:
            return HTTP_5XX
        return HTTP_4XX if status >= 400 else UNEXPECTED_STATUS
    return SCHEMA if schema_error is not None else None
