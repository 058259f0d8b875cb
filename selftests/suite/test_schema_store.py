"""The response schemas: every shipped schema is a valid 2020-12 schema (the suite itself
meta-validates a schema only when an answer fails it), and a broken schema is named as
broken, never blamed on the target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from suite_harness import REPO

from synthmon.json_schema import Draft202012Validator
from synthmon.suite.leaks import LeakDetector
from synthmon.suite.schemas import SchemaStore, SchemaStoreError

SHIPPED = sorted((REPO / "schemas").glob("*.schema.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_schema_is_a_valid_2020_12_schema(path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def _store(tmp_path: Path, schema: object) -> SchemaStore:
    (tmp_path / "thing.schema.json").write_text(json.dumps(schema))
    return SchemaStore(tmp_path, LeakDetector(names=[], values={}))  # no leak words: plain 2020-12


def test_a_good_schema_passes_and_fails_answers_as_usual(tmp_path: Path) -> None:
    store = _store(tmp_path, {"type": "object", "required": ["id"]})
    assert store.problem("thing", {"id": 1}) is None
    assert store.problem("thing", {}) == "at $: 'id' is a required property"


@pytest.mark.parametrize("schema", [
    {"type": "object", "required": "id"},   # reports a failure it should not
    {"type": "strng"},                      # cannot be applied at all
], ids=["wrong-keyword-value", "unknown-type"])
def test_a_broken_schema_is_named_when_an_answer_meets_it(tmp_path: Path, schema) -> None:
    store = _store(tmp_path, schema)
    with pytest.raises(SchemaStoreError, match=r"thing\.schema\.json: not a valid 2020-12 schema"):
        store.problem("thing", {"name": "x"})
