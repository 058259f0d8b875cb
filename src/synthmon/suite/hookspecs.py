"""Hooks synthmon adds to pytest, so telemetry and reports plug in without touching the client.

Registered by the plugin through `pytest_addhooks`; called through pluggy as
`config.hook.pytest_synthmon_sample_recorded(sample=..., item=...)`. Implement them in any
plugin or conftest.py like any pytest hook.

Why the `pytest_` prefix: pytest's plugin manager skips every attribute whose name does not
start with "pytest_" before it even looks for a `@pytest.hookimpl` marker
(PytestPluginManager.parse_hookimpl_opts, pytest 7-9), so an implementation named
`synthmon_sample_recorded` is never registered, marked or not. Third-party pytest hooks
(xdist's `pytest_configure_node`, ...) carry the prefix for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from synthmon.samples import Sample
    from synthmon.suite.exchange import Exchange


@pytest.hookspec
def pytest_synthmon_sample_recorded(sample: Sample, item: pytest.Item,
                                    exchange: Exchange | None) -> None:
    """Called on the process that made the call (an xdist worker or the only process)
    right after each HTTP call of a check, with the finished Sample and the Exchange (its
    scrubbed request and response views, built on demand; None when nothing was sent).
    An implementation takes only the arguments it names, e.g. `(sample, item)`.

    A conftest.py that may also be loaded without synthmon (`-p no:synthmon`) marks its
    implementation `@pytest.hookimpl(optionalhook=True)`, or pytest rejects it as unknown."""
