"""Strict response schemas: schemas/<name>.schema.json, JSON Schema 2020-12.

Every file in schemas/ goes into one `referencing` registry (so schemas can `$ref` shared
definitions in common.schema.json); each validator is built once, on first use, with format
checking on. A failure is one sentence: the schema, the JSON path, the reason (jsonschema's
best_match).

A schema is held against the 2020-12 meta-schema when an answer fails it (or it cannot be
applied at all), so that a broken schema is named as such rather than blamed on the target:
meta-validating every schema up front cost each run a tenth of a second, and the shipped
schemas are meta-validated by a selftest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from synthmon.json_schema import Draft202012Validator, SchemaError, best_match

SCHEMA_SUFFIX = ".schema.json"
# Base for files that carry no $id, so relative $refs between them still resolve.
_BASE_URI = "https://synthmon.scholarshipai.example/schemas/"
_MAX_REASON = 240  # a reason quotes the offending value; keep reports short


class SchemaStoreError(Exception):
    """A schema file is missing, not JSON, or not a valid 2020-12 schema."""


class SchemaStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
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
        self._validators: dict[str, Draft202012Validator] = {}
        self._checked: set[str] = set()

    @property
    def names(self) -> list[str]:
        return sorted(self._documents)

    def validator(self, name: str) -> Draft202012Validator:
        validator = self._validators.get(name)
        if validator is None:
            document = self._documents.get(name)
            if document is None:
                raise SchemaStoreError(
                    f"no schema named {name!r} in {self.directory} "
                    f"(known: {', '.join(self.names)})"
                )
            validator = Draft202012Validator(
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

    def problem(self, name: str, instance: Any) -> str | None:
        """None when `instance` is valid; else 'at $.path: reason'."""
        validator = self.validator(name)
        try:
            error = best_match(validator.iter_errors(instance))
        except Exception:
            self.check(name)  # a broken schema raises instead of reporting: name it
            raise
        if error is None:
            return None
        self.check(name)
        reason = error.message
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 3] + "..."
        return f"at {error.json_path}: {reason}"
