"""Hooks synthmon adds to pytest, so telemetry and reports plug in without touching the client.

Registered by the plugin through `pytest_addhooks`. Implement them in any plugin or
conftest.py like any pytest hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from synthmon.samples import Sample


# The marker lets pytest_addhooks register the spec (pytest only infers specs for names
# starting with "pytest_"). pytest also ignores *implementations* whose name does not start
# with "pytest_", so the plugin calls every registered plugin that defines
# `synthmon_sample_recorded` itself (see synthmon.suite); implement it as a plain method.
@pytest.hookspec
def synthmon_sample_recorded(sample: Sample, item: pytest.Item) -> None:
    """Called on the process that made the call (an xdist worker or the only process)
    right after each HTTP call of a check, with the finished Sample."""
