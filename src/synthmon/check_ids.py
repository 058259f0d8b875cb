"""The synthetic ids of checks: `<run id>.<check>`, the prefix of the ids of its calls
(`<run id>.<check>.<seq>`, made by the api client), so one log search finds them all."""

from __future__ import annotations

import hashlib
import re

import pytest

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def short_check_id(item: pytest.Item) -> str:
    """tests/synthetic/test_auth.py::test_refresh[x] -> auth-refresh-x (header- and log-safe)."""
    module = item.path.stem.removeprefix("test_") if hasattr(item, "path") else "check"
    name = item.name.removeprefix("test_")
    short = _UNSAFE.sub("-", f"{module}-{name}").strip("-")
    if len(short) <= 60:
        return short
    # two parametrizations may differ only past the cut: keep ids unique with a digest
    return f"{short[:51]}-{hashlib.sha256(item.nodeid.encode()).hexdigest()[:8]}"


def check_synthetic_id(run_id: str, item: pytest.Item) -> str:
    return f"{run_id}.{short_check_id(item)}"
