"""Loaded for `pytest selftests` and for `pytest selftests/<area>` alike (selftests/pytest.ini
makes selftests/ the rootdir): puts selftests/ on sys.path, so every area imports the shared
helpers as `from support.http_stub import serving`. selftests/ is not a package."""

from __future__ import annotations

import sys
from pathlib import Path

_SELFTESTS = str(Path(__file__).resolve().parent)
if _SELFTESTS not in sys.path:
    sys.path.insert(0, _SELFTESTS)
