"""The package ships py.typed, and mypy (in `make test`) holds src/ to what it promises. Two
ways around mypy stay visible: a `# type: ignore[code]` says why in a comment just above
it (only where the code is right and the tool is wrong), and every third-party module whose
missing types mypy is told to ignore says why in pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IGNORE = re.compile(r"#\s*type:\s*ignore\b")


def unexplained_ignores(text: str) -> list[int]:
    """Line numbers of `# type: ignore` comments with no comment line right above them."""
    lines = text.splitlines()
    return [number for number, line in enumerate(lines, start=1)
            if IGNORE.search(line)
            and not (number > 1 and lines[number - 2].lstrip().startswith("#"))]


def unexplained_overrides(pyproject: str) -> list[str]:
    """Modules of [[tool.mypy.overrides]] tables with ignore_missing_imports whose table has
    no comment of its own."""
    tables = pyproject.split("[[tool.mypy.overrides]]")[1:]
    found = []
    for table in tables:
        body = table.split("\n[", 1)[0]
        parsed = tomllib.loads(body)
        if parsed.get("ignore_missing_imports") and not re.search(r"^\s*#", body, re.M):
            found.append(str(parsed.get("module")))
    return found


def test_every_type_ignore_in_src_says_why() -> None:
    found = [f"{path.relative_to(REPO)}:{number}"
             for path in sorted((REPO / "src").rglob("*.py"))
             for number in unexplained_ignores(path.read_text(encoding="utf-8"))]
    assert not found, f"a `# type: ignore` without a reason in the comment above it: {found}"


def test_every_ignored_import_says_why() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "[tool.mypy]" in pyproject
    assert not unexplained_overrides(pyproject)


def test_the_checks_find_what_they_guard_against() -> None:
    assert unexplained_ignores("x = f()\ny: int = x  # type: ignore[assignment]\n") == [2]
    assert unexplained_ignores("# f is untyped upstream\ny: int = f()  # type: ignore[misc]\n") \
        == []
    planted = ('[tool.mypy]\nstrict = true\n\n[[tool.mypy.overrides]]\nmodule = "untyped.*"\n'
               "ignore_missing_imports = true\n")
    assert unexplained_overrides(planted) == ["untyped.*"]
    explained = planted.replace('module = "untyped.*"',
                                '# untyped ships no stubs\nmodule = "untyped.*"')
    assert unexplained_overrides(explained) == []
