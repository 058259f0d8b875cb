"""The fixtures a check asks for: `api`, `api_session`, `run_context`, `policy` and
`inspect_certificate`.

Module-level functions, registered as a plugin by synthmon.plugin: pytest collects
fixtures from any registered plugin, and these need nothing but the suite of this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from synthmon.policy import Policy
from synthmon.run_context import RUN_CONTEXT_KEY, RunContext
from synthmon.suite.certificates import Certificate, inspect_url
from synthmon.suite.client import ApiClient
from synthmon.suite.hooks import SUITE_KEY


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """The client a check uses: `api.get(path, expect=200, schema="...")`; see docs/api.md."""
    # one client per check: its first call measures the phases of a fresh connection
    client = ApiClient(request.config.stash[SUITE_KEY].core, phases=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def api_session(request: pytest.FixtureRequest) -> ApiClient:
    """The same client for session-scoped fixtures (logins shared by many checks); its
    calls are recorded against the check that is running when they are made."""
    return ApiClient(request.config.stash[SUITE_KEY].core)


@pytest.fixture(scope="session")
def run_context(request: pytest.FixtureRequest) -> RunContext:
    """Who runs what against which build (the controller's, on every xdist worker)."""
    return request.config.stash[RUN_CONTEXT_KEY]


@pytest.fixture(scope="session")
def policy(request: pytest.FixtureRequest) -> Policy:
    """canary-policy.yaml as the run loaded it, for checks judged by its thresholds."""
    loaded = request.config.stash[SUITE_KEY].policy
    assert loaded is not None  # the suite's configure loaded it or stopped the run
    return loaded


@pytest.fixture(scope="session")
def inspect_certificate(request: pytest.FixtureRequest) -> Callable[[str], Certificate]:
    """inspect_certificate(https_url) -> what a browser would say of its certificate (chain,
    host name, dates), trusting what the run's client trusts (--ca-bundle=FILE, ...)."""
    suite = request.config.stash[SUITE_KEY]
    assert suite.settings is not None
    timeout = suite.settings.connect_timeout_s
    return lambda url: inspect_url(url, suite.ca_bundle, timeout)
