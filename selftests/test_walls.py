"""DESIGN.md's three walls, and the shape of the run inside pytest, held by the imports.

- the sandbox never imports synthmon: the target knows nothing of its monitor;
- the checks in tests/ never import the sandbox: they speak HTTP to the contract; they and
  conftest.py import synthmon only through its public surface (`synthmon`, docs/api.md);
- the gate, the baseline, the monitor loop and the rules never import the pytest plugin's
  internals: they run pytest as a process or read what it wrote (they may start a sandbox
  through the one launcher, synthmon.sandbox_process, which is no plugin internal);
- the three plugins of a run (suite, reports, telemetry) sit side by side: none imports
  another (the reports take the hook's Exchange type from the suite, nothing else);
- the shared modules at the top of src/synthmon import no stage.
Only `synthmon sandbox` (src/synthmon/sandbox_command.py) may import the sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import synthmon

REPO = Path(__file__).resolve().parents[1]
# what runs inside pytest: the plugin entry, the suite stage and the reports/telemetry plugins
PLUGIN_INTERNALS = ("synthmon.plugin", "synthmon.suite", "synthmon.telemetry", "synthmon.reports")
READERS = ("gate", "baseline", "monitor", "rules", "alerting")
STAGES = ("synthmon.plugin", "synthmon.suite", "synthmon.telemetry", "synthmon.reports",
          "synthmon.history", "synthmon.baseline", "synthmon.gate", "synthmon.rules",
          "synthmon.monitor", "synthmon.alerting", "synthmon.cli", "synthmon.sandbox_command")
# package -> what it must not import
PLUGINS = {
    "suite": ("synthmon.reports", "synthmon.telemetry", "synthmon.plugin"),
    "telemetry": ("synthmon.suite", "synthmon.reports", "synthmon.plugin"),
    "reports": ("synthmon.telemetry", "synthmon.plugin", "synthmon.suite"),
}
# the sample hook hands reporters an Exchange: its type is the one thing they take from the suite
HOOK_TYPES = ("synthmon.suite.exchange",)


def imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def violations(files: Iterable[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
                             f" imports {module}")
    return sorted(set(found))


def python_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py"))
            if "__pycache__" not in p.parts]


def test_the_sandbox_never_imports_synthmon():
    assert violations(python_files(REPO / "src/scholarship_sandbox"), ("synthmon",)) == []


def test_the_checks_never_import_the_sandbox():
    files = python_files(REPO / "tests", REPO / "conftest.py")
    assert files, "no checks found under tests/"
    assert violations(files, ("scholarship_sandbox",)) == []


def beyond_the_public_surface(files: Iterable[Path]) -> list[str]:
    """Imports of synthmon that go past `synthmon.__all__` (synthmon.suite.client, ...)."""
    return sorted({f"{path.name} imports {module}" for path in files
                   for module in imported_modules(path)
                   if module.startswith("synthmon.")
                   and module.removeprefix("synthmon.") not in synthmon.__all__})


def test_the_checks_use_only_the_public_surface(tmp_path):
    assert beyond_the_public_surface(python_files(REPO / "tests", REPO / "conftest.py")) == []
    planted = tmp_path / "conftest.py"
    planted.write_text("from synthmon import ApiClient\nfrom synthmon.suite.client import "
                       "ApiResponse\n")
    assert beyond_the_public_surface([planted]) == [
        "conftest.py imports synthmon.suite.client",
        "conftest.py imports synthmon.suite.client.ApiResponse"]


@pytest.mark.parametrize("package", sorted(PLUGINS))
def test_the_run_plugins_never_import_each_other(package):
    files = python_files(REPO / "src/synthmon" / package)
    assert files, f"src/synthmon/{package} has no modules"
    found = [v for v in violations(files, PLUGINS[package])
             if not any(v.endswith(f" imports {t}") or f" imports {t}." in v for t in HOOK_TYPES)]
    assert found == []


def test_the_shared_modules_import_no_stage():
    shared = [p for p in (REPO / "src/synthmon").glob("*.py")
              if p.name not in ("__init__.py", "plugin.py", "cli.py", "sandbox_command.py")]
    assert {p.stem for p in shared} >= {"policy", "samples", "run_context", "privacy",
                                         "outcomes", "sandbox_process"}
    assert violations(shared, STAGES) == []


def test_only_the_sandbox_command_imports_the_sandbox():
    files = [p for p in python_files(REPO / "src/synthmon")
             if p.name != "sandbox_command.py"]
    assert violations(files, ("scholarship_sandbox",)) == []


@pytest.mark.parametrize("package", READERS)
def test_readers_never_import_the_plugin_internals(package):
    files = python_files(REPO / "src/synthmon" / package)
    assert files, f"src/synthmon/{package} has no modules"
    assert violations(files, PLUGIN_INTERNALS) == []


def test_a_crossed_wall_is_reported(tmp_path):
    # The checker itself must be able to fail: plant each kind of import it looks for.
    planted = tmp_path / "bad.py"
    planted.write_text("import synthmon.suite.client\nfrom synthmon.telemetry import sdk\n"
                       "from scholarship_sandbox.app import create_app\n")
    assert violations([planted], PLUGIN_INTERNALS) == [
        f"{planted} imports synthmon.suite.client", f"{planted} imports synthmon.telemetry",
        f"{planted} imports synthmon.telemetry.sdk"]
    assert violations([planted], ("scholarship_sandbox",)) == [
        f"{planted} imports scholarship_sandbox.app",
        f"{planted} imports scholarship_sandbox.app.create_app"]
