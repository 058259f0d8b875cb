"""Response schemas: schemas/<name>.schema.json, JSON Schema 2020-12, strict where the
contract is: types, required members, formats, enums.

A member a schema does not name (`additionalProperties: false`) is *schema drift*, not a
failure: an additive, backward-compatible change is what a canary exists to let through. It
is reported (JSON paths, list indexes folded to `[*]`) and counted, never failed on by
itself. An unknown member whose name or value looks like a secret or personal data fails at
once, wherever the schema allows extra members (problem+json's RFC 9457 extension members
too): a leak is never additive (leaks.py, the policy's words and patterns).


Every file in schemas/ goes into one `referencing` registry (so schemas can `$ref` shared
definitions in common.schema.json); each validator is built once, on first use, with format
checking on. A failure is one sentence: the schema, the JSON path, the reason (jsonschema's
best_match; a leak comes first).

A schema is held against the 2020-12 meta-schema when an answer fails it (or it cannot be
applied at all), so that a broken schema is named as such rather than blamed on the target:
meta-validating every schema up front cost each run a tenth of a second, and the shipped
schemas are meta-validated by a selftest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from synthmon.json_schema import (
    Draft202012Validator,
    SchemaError,
    ValidationError,
    Validator,
    best_match,
    validators,
)
from synthmon.suite.leaks import LeakDetector

SCHEMA_SUFFIX = ".schema.json"
# Base for files that carry no $id, so relative $refs between them still resolve.
_BASE_URI = "https://synthmon.scholarshipai.example/schemas/"
_MAX_REASON = 240  # a reason quotes the offending value; keep reports short
DRIFT = "additionalProperties"  # the keyword whose errors are drift, not failures
LEAK = "x-leak"  # the pseudo-keyword of an unknown member that looks like a secret
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class SchemaVerdict:
    problem: str | None  # None when the body keeps the contract; else 'at $.path: reason'
    drift: tuple[str, ...] = ()  # members no schema names, e.g. '$.items[*].recommended'


def _additional_properties(leaks: LeakDetector) -> Any:
    """The additionalProperties keyword, seeing every member the schema does not name: a
    leak is an error wherever it is; under `false` the rest is drift, one error each."""

    def keyword(validator: Validator, allowed: Any, instance: Any,
                schema: dict[str, Any]) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        properties = schema.get("properties", {})
        patterns = "|".join(schema.get("patternProperties", {}))
        extras = [name for name in instance if name not in properties
                  and not (patterns and re.search(patterns, name))]
        for name in extras:
            leaked = list(leaks.leaks(name, instance[name]))
            for below, reason in leaked:
                yield ValidationError(
                    f"an unknown member that looks like a secret or personal data ({reason}); "
                    f"a leak is never additive", validator=LEAK, path=[name, *below])
            if leaked:
                continue
            if allowed is False:
                yield ValidationError(f"unknown member {name!r}", validator=DRIFT, path=[name])
            elif validator.is_type(allowed, "object"):
                # descend is every jsonschema validator's, but not in the Validator protocol
                descend = validator.descend  # type: ignore[attr-defined]
                yield from descend(instance[name], allowed, path=name)

    return keyword




class SchemaStoreError(Exception):
    """A schema file is missing, not JSON, or not a valid 2020-12 schema."""


class SchemaStore:
    def __init__(self, directory: Path, leaks: LeakDetector) -> None:
        self.directory = directory
        self._validator_class = validators.extend(
            Draft202012Validator, {"additionalProperties": _additional_properties(leaks)})
        self._documents: dict[str, dict[str, Any]] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        for path in sorted(directory.glob(f"*{SCHEMA_SUFFIX}")):
            name = path.name[: -len(SCHEMA_SUFFIX)]
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise SchemaStoreError(f"{path}: not readable JSON: {exc}") from exc
            self._documents[name] = document
            uri = document.get("$id") or _BASE_URI + path.name
            resource = Resource.from_contents(document, default_specification=DRAFT202012)
            resources.append((uri, resource))
        self._registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Validator] = {}
        self._checked: set[str] = set()

    @property
    def names(self) -> list[str]:
        return sorted(self._documents)

    def validator(self, name: str) -> Validator:
        validator = self._validators.get(name)
        if validator is None:
            document = self._documents.get(name)
            if document is None:
                raise SchemaStoreError(
                    f"no schema named {name!r} in {self.directory} "
                    f"(known: {', '.join(self.names)})"
                )
            validator = self._validator_class(
                self._inline(document), registry=self._registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[name] = validator
        return validator

    def _inline(self, node: Any, depth: int = 0) -> Any:
        """Replace `$ref`s into other files of this store by their target, once, at build
        time: resolving them through the registry on every array element made validating
        a 20-item search answer ~3x slower. Anything else (and recursion past a sane depth)
        is left to the registry."""
        if isinstance(node, list):
            return [self._inline(item, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        target = self._local_target(ref) if isinstance(ref, str) and depth < 32 else None
        if target is None:
            return {key: self._inline(value, depth) for key, value in node.items()}
        inlined = self._inline(target, depth + 1)
        rest = {key: self._inline(value, depth) for key, value in node.items() if key != "$ref"}
        return {"allOf": [inlined], **rest} if rest else inlined

    def _local_target(self, ref: str) -> Any:
        file, _, pointer = ref.partition("#")
        name = file.rsplit("/", 1)[-1].removesuffix(SCHEMA_SUFFIX)
        if not file.endswith(SCHEMA_SUFFIX) or name not in self._documents:
            return None
        node: Any = self._documents[name]
        for part in filter(None, pointer.split("/")):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def check(self, name: str) -> None:
        """SchemaStoreError unless the schema is a valid 2020-12 schema (checked once)."""
        if name in self._checked:
            return
        try:
            Draft202012Validator.check_schema(self._documents[name])
        except SchemaError as exc:
            raise SchemaStoreError(
                f"{self.directory / (name + SCHEMA_SUFFIX)}: not a valid 2020-12 schema: "
                f"{exc.message}"
            ) from exc
        self._checked.add(name)

    def verdict(self, name: str, instance: Any) -> SchemaVerdict:
        """Where and why `instance` breaks the schema (None: it keeps it, drift allowed),
        with the members it has that no schema names."""
        validator = self.validator(name)
        try:
            failures, drift = _split(validator.iter_errors(instance))
        except Exception:
            self.check(name)  # a broken schema raises instead of reporting: name it
            raise
        paths = tuple(dict.fromkeys(_INDEX.sub("[*]", e.json_path) for e in drift))
        leak = next((e for e in failures if e.validator == LEAK), None)
        error = leak or best_match(failures)
        if error is None:
            return SchemaVerdict(None, paths)
        self.check(name)
        reason = error.message
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 3] + "..."
        return SchemaVerdict(f"at {error.json_path}: {reason}", paths)

    def problem(self, name: str, instance: Any) -> str | None:
        """None when `instance` keeps the contract (drift allowed); else 'at $.path: reason'."""
        return self.verdict(name, instance).problem


def _split(errors: Iterable[ValidationError]) -> tuple[list[ValidationError],
                                                       list[ValidationError]]:
    """(failures, drift). An anyOf/oneOf whose only mismatch, in some branch, is drift is
    that branch's drift (the body matches it but for members it does not name)."""
    failures: list[ValidationError] = []
    drift: list[ValidationError] = []
    for error in errors:
        if error.validator == DRIFT and error.validator_value is False:
            drift.append(error)
            continue
        if error.validator in ("anyOf", "oneOf") and error.context:
            branches: dict[Any, list[ValidationError]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            for branch in branches.values():
                branch_failures, branch_drift = _split(branch)
                if not branch_failures:
                    drift.extend(branch_drift)
                    break
            else:
                failures.append(error)
            continue
        failures.append(error)
    return failures, drift
