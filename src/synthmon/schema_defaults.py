"""Filling in the `default` keywords of a JSON Schema: the policy's defaults live in its
schema only, and the loader hands every stage a policy with them filled in.

JSON Schema validation never changes the instance, so jsonschema does not fill defaults by
itself; its FAQ shows the way used here: a validator whose `properties` keyword also sets
each missing property that declares a default. Because it rides on validation, `$ref`,
`additionalProperties`, `items` and `allOf` are followed exactly as the validator follows
them. It runs only on an instance already found valid, so every subschema it visits is
one the instance really is checked against. A default belongs beside its property, never
inside `anyOf`/`oneOf`/`if`, whose failing branches are walked too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from synthmon.json_schema import Draft202012Validator, ValidationError, Validator, validators

_PROPERTIES = Draft202012Validator.VALIDATORS["properties"]


def _properties_with_defaults(validator: Validator, properties: dict[str, Any],
                              instance: Any, schema: dict[str, Any]
                              ) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                # A copy: two policies (or two places in one) never share a mutable default.
                instance[name] = copy.deepcopy(subschema["default"])
    yield from _PROPERTIES(validator, properties, instance, schema)


DefaultFillingValidator: type[Validator] = validators.extend(
    Draft202012Validator, {"properties": _properties_with_defaults})


def with_defaults(schema: dict[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `instance` with every default of `schema` it lacks filled in.

    Raises ValueError when the filled instance breaks the schema: a default that does not
    satisfy its own property is a fault of the schema, caught here rather than downstream.
    """
    filled = copy.deepcopy(instance)
    for _ in DefaultFillingValidator(schema).iter_errors(filled):
        pass  # the walk fills; whether the result is valid is asked once it is complete
    errors = list(Draft202012Validator(schema).iter_errors(filled))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ValueError(f"the schema's defaults do not validate at {where}: {first.message}")
    return filled
