"""schemas/ (what the monitor enforces) against the sandbox's OpenAPI (what it implements).

Both are written from docs/api-contract.md; this holds them together so neither drifts
silently: every JSON success response in the OpenAPI has a schema here, with the same
property names, required members, types, enums and date formats, all the way down.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from suite_harness import REPO, sandbox

# (method, route, status) -> schemas/<name>.schema.json
SCHEMA_FOR = {
    ("get", "/health", "200"): "health",
    ("get", "/ready", "200"): "ready",
    ("post", "/api/v1/auth/signup", "201"): "signup",
    ("post", "/api/v1/auth/login", "200"): ("token-login", "cookie-login"),
    ("post", "/api/v1/auth/refresh", "200"): "token-login",
    ("get", "/api/v1/scholarships", "200"): "scholarship-search",
    ("get", "/api/v1/scholarships/{scholarship_id}", "200"): "scholarship",
    ("get", "/api/v1/me/saved", "200"): "saved-list",
    ("post", "/api/v1/me/saved", "201"): "saved-item",
    ("post", "/api/v1/me/saved", "200"): "saved-item",
    ("post", "/api/v1/applications", "201"): "application",
    ("get", "/api/v1/applications/{application_id}", "200"): "application",
    ("get", "/api/v1/applications/{application_id}/draft", "200"): "draft",
    ("put", "/api/v1/applications/{application_id}/draft", "200"): "draft",
    ("get", "/api/v1/provider/dashboard", "200"): "provider-dashboard",
    ("get", "/api/v1/pricing", "200"): "pricing",
    ("post", "/api/v1/checkout", "201"): "checkout",
    ("post", "/api/v1/checkout/{checkout_id}/validate", "200"): "checkout-validation",
}
NOT_JSON = {("get", "/metrics", "200")}  # Prometheus text exposition


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    with sandbox() as url, urllib.request.urlopen(url + "/openapi.json", timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_text())
            for p in (REPO / "schemas").glob("*.schema.json")}


def _responses(openapi: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for route, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema:
                    found[(method, route, status)] = schema
    return found


def test_every_json_success_response_has_a_schema(openapi):
    missing = sorted(set(_responses(openapi)) - set(SCHEMA_FOR) - NOT_JSON)
    assert not missing, f"responses in the sandbox's OpenAPI with no schema in schemas/: {missing}"


def test_schemas_agree_with_the_openapi(openapi, ours):
    problems: list[str] = []
    for key, theirs in _responses(openapi).items():
        if key in NOT_JSON or key not in SCHEMA_FOR:
            continue
        names = SCHEMA_FOR[key]
        variants = [names] if isinstance(names, str) else list(names)
        their_variants = _variants(_deref(theirs, openapi, "openapi"), openapi)
        for name, their in zip(variants, _pair(variants, their_variants), strict=True):
            _compare(_deref(ours[name], ours, "ours"), _deref(their, openapi, "openapi"),
                     ours, openapi, f"{key[0].upper()} {key[1]} {key[2]} [{name}]", problems)
    assert not problems, "schemas/ and the OpenAPI disagree:\n" + "\n".join(problems)


def _pair(variants: list[str], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A response with several shapes (login: token or cookie) is an anyOf/oneOf there;
    pair each of ours with theirs by the token_type const."""
    if len(variants) == 1:
        return theirs[:1] if len(theirs) == 1 else [{"anyOf": theirs}]
    return theirs


def _variants(schema: dict[str, Any], doc: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [_deref(s, doc, "openapi") for s in schema[key]]
    return [schema]


def _deref(schema: dict[str, Any], doc: dict[str, Any], kind: str) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        if kind == "openapi":
            schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        else:
            file, _, pointer = ref.rpartition("/schemas/")[2].partition("#")
            node: Any = doc[file.removesuffix(".schema.json")]
            for part in filter(None, pointer.split("/")):
                node = node[part]
            schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _strip_null(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(options) == 1:
            return _deref(options[0], doc, "openapi")
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None and "const" in schema:
        kind = type(schema["const"]).__name__.replace("str", "string")
    kinds = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    return kinds - {"null"}


def _compare(mine: dict[str, Any], theirs: dict[str, Any], ours: dict[str, Any],
             openapi: dict[str, Any], where: str, problems: list[str]) -> None:
    theirs = _strip_null(_deref(theirs, openapi, "openapi"), openapi)
    mine = _deref(mine, ours, "ours")
    if "properties" in theirs:
        mp, tp = set(mine.get("properties", {})), set(theirs["properties"])
        if mp != tp:
            problems.append(f"{where}: properties differ: only ours {sorted(mp - tp)}, "
                            f"only theirs {sorted(tp - mp)}")
        mr, tr = set(mine.get("required", [])), set(theirs.get("required", []))
        if mr != tr:
            problems.append(f"{where}: required differs: ours {sorted(mr)}, theirs {sorted(tr)}")
        for name in mp & tp:
            _compare(mine["properties"][name], theirs["properties"][name], ours, openapi,
                     f"{where}.{name}", problems)
        return
    mt, tt = _types(mine), _types(theirs)
    if mt and tt and mt != tt and not (mt == {"number"} and tt == {"integer"}):
        problems.append(f"{where}: type ours {sorted(mt)}, theirs {sorted(tt)}")
    their_enum = set(theirs.get("enum", [])) or ({theirs["const"]} if "const" in theirs else set())
    my_enum = set(mine.get("enum", [])) or ({mine["const"]} if "const" in mine else set())
    if their_enum and my_enum and their_enum != my_enum:
        problems.append(f"{where}: enum ours {sorted(my_enum)}, theirs {sorted(their_enum)}")
    if theirs.get("format") in ("date", "date-time") and mine.get("format") != theirs["format"]:
        problems.append(f"{where}: format ours {mine.get('format')}, theirs {theirs['format']}")
    if "items" in theirs and "items" in mine:
        _compare(mine["items"], theirs["items"], ours, openapi, f"{where}[*]", problems)
