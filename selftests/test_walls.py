"""DESIGN.md's three walls, held by the imports themselves.

- the sandbox never imports synthmon: the target knows nothing of its monitor;
- the checks in tests/ never import the sandbox: they speak HTTP to the contract;
- the gate, the baseline, the monitor loop and the rules never import the pytest plugin's
  internals: they run pytest as a process or read what it wrote.
Only `synthmon sandbox` (src/synthmon/sandbox_command.py) may import the sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what runs inside pytest: the plugin entry, the suite stage and the reports/telemetry plugins
PLUGIN_INTERNALS = ("synthmon.plugin", "synthmon.suite", "synthmon.telemetry", "synthmon.reports")
READERS = ("gate", "baseline", "monitor", "rules", "alerting")


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
