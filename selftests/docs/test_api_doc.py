"""docs/api.md describes the whole public surface: every name in `synthmon.__all__`, every
fixture the plugin provides, the sample hook and every option, each in backticks."""

from __future__ import annotations

import ast
from pathlib import Path

import synthmon
from synthmon import plugin
from synthmon.browser import plugin as browser_plugin
from synthmon.suite import fixtures, hookspecs

REPO = Path(__file__).resolve().parents[2]


def fixture_names(module: object) -> list[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("fixture" in ast.unparse(d) for d in node.decorator_list)]


def public_names() -> list[str]:
    hooks = [n for n in vars(hookspecs) if n.startswith("pytest_synthmon_")]
    options = [flag for flag, _, _ in plugin._OPTIONS.values()]
    return [*synthmon.__all__, *fixture_names(fixtures), *fixture_names(browser_plugin), *hooks,
            *options]


def undocumented(page: str, names: list[str]) -> list[str]:
    return [name for name in names if f"`{name}" not in page]


def test_the_api_page_names_the_whole_public_surface():
    names = public_names()
    assert {"ApiClient", "api", "run_context", "pytest_synthmon_sample_recorded",
            "--target"} <= set(names)
    assert undocumented((REPO / "docs/api.md").read_text(encoding="utf-8"), names) == []


def test_a_name_missing_from_the_page_is_reported():
    assert undocumented("`api` and `--target`", ["api", "--target", "ApiClient"]) == [
        "ApiClient"]


def test_every_public_name_resolves():
    for name in synthmon.__all__:
        assert getattr(synthmon, name) is not None, name
    assert sorted(synthmon.__all__) == sorted(synthmon._EXPORTS)
