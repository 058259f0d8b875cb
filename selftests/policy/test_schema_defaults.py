"""Filling a JSON Schema's `default` keywords: through $ref, additionalProperties, items and
allOf; never over a value given; never shared between two instances."""

from __future__ import annotations

from typing import Any

import pytest

from synthmon.schema_defaults import with_defaults

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "gate": {"type": "object", "properties": {
            "pacing_s": {"type": "number", "default": 1.0},
            "mode": {"enum": ["a", "b"], "default": "a"}}},
        "tags": {"type": "array", "default": []},
        "targets": {"type": "object", "additionalProperties": {"$ref": "#/$defs/target"}},
        "criteria": {"type": "array", "items": {"$ref": "#/$defs/criterion"}},
        "nested": {"type": "object", "default": {},
                   "properties": {"inner": {"type": "integer", "default": 3}}},
    },
    "$defs": {
        "target": {"type": "object", "properties": {"region": {"default": "local"}}},
        "criterion": {"type": "object", "allOf": [
            {"properties": {"markers": {"type": "array", "default": []}}}]},
    },
}


def test_missing_properties_get_their_defaults_everywhere_the_schema_reaches() -> None:
    filled = with_defaults(SCHEMA, {"gate": {}, "targets": {"a": {}, "b": {"region": "eu"}},
                                    "criteria": [{}, {"markers": ["x"]}]})
    assert filled["gate"] == {"pacing_s": 1.0, "mode": "a"}
    assert filled["tags"] == []
    assert filled["targets"] == {"a": {"region": "local"}, "b": {"region": "eu"}}
    assert filled["criteria"] == [{"markers": []}, {"markers": ["x"]}]
    # A filled-in object gets its own defaults too.
    assert filled["nested"] == {"inner": 3}


def test_given_values_win_and_the_input_is_left_alone() -> None:
    given = {"gate": {"pacing_s": 0, "mode": "b"}}
    filled = with_defaults(SCHEMA, given)
    assert filled["gate"] == {"pacing_s": 0, "mode": "b"}
    assert given == {"gate": {"pacing_s": 0, "mode": "b"}}, "the caller's dict was changed"


def test_a_mutable_default_is_never_shared() -> None:
    first, second = with_defaults(SCHEMA, {}), with_defaults(SCHEMA, {})
    first["tags"].append("changed")
    assert second["tags"] == [] and SCHEMA["properties"]["tags"]["default"] == []
    filled = with_defaults(SCHEMA, {"criteria": [{}, {}]})
    filled["criteria"][0]["markers"].append("x")
    assert filled["criteria"][1]["markers"] == []


def test_a_default_that_breaks_its_own_property_is_an_error() -> None:
    broken = {"type": "object", "properties": {
        "gate": {"type": "object", "default": {},
                 "properties": {"mode": {"enum": ["a"], "default": "c"}}}}}
    with pytest.raises(ValueError, match=r"gate/mode.*'c' is not one of"):
        with_defaults(broken, {})
