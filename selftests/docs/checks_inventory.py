"""A pytest plugin (-p checks_inventory) that writes the collected checks as JSON, no run.

Used by test_checks_doc.py: `pytest --collect-only -p checks_inventory` with
CHECKS_INVENTORY=<file> lists every check with its markers, file, function and docstring.
"""

from __future__ import annotations

import json
import os

import pytest

_OWN = {"parametrize", "usefixtures", "filterwarnings", "timeout", "skip", "skipif", "xfail"}


def pytest_collection_finish(session: pytest.Session) -> None:
    out = os.environ.get("CHECKS_INVENTORY")
    if not out:
        return
    checks: dict[str, dict] = {}
    for item in session.items:
        function = getattr(item, "function", None)
        name = function.__name__ if function else item.name
        entry = checks.setdefault(name, {
            "name": name,
            "file": str(item.path.relative_to(session.config.rootpath)),
            "node_ids": [],
            "markers": sorted({m.name for m in item.iter_markers()} - _OWN),
            "doc": (function.__doc__ or "").strip() if function else "",
        })
        entry["node_ids"].append(item.nodeid)
    with open(out, "w") as fh:
        json.dump(sorted(checks.values(), key=lambda c: (c["file"], c["name"])), fh, indent=1)
