"""Loaded for `pytest selftests` and for `pytest selftests/<area>` alike (selftests/pytest.ini
makes selftests/ the rootdir): puts selftests/ on sys.path, so every area imports the shared
helpers as `from support.http_stub import serving`. selftests/ is not a package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_SELFTESTS = str(Path(__file__).resolve().parent)
if _SELFTESTS not in sys.path:
    sys.path.insert(0, _SELFTESTS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a `slow` test first, each module kept whole and in order: `make test`
    runs two xdist workers by module (--dist loadfile), and starting the long modules first
    lets both workers end together instead of one finishing a long module alone."""
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)
