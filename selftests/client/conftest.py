"""Fixtures of the client selftests: an api client in this process, recording its samples."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from client_harness import CHECK, POLICY, REPO, SETTINGS, Recorded

from synthmon.run_context import RunContext
from synthmon.suite.budgets import Budgets
from synthmon.suite.client import ApiClient, ClientCore
from synthmon.suite.leaks import LeakDetector
from synthmon.suite.schemas import SchemaStore


@pytest.fixture(scope="session")
def schemas() -> SchemaStore:
    return SchemaStore(REPO / "schemas", LeakDetector.from_policy(POLICY))


@pytest.fixture
def make_client(schemas: SchemaStore) -> Iterator[Callable[..., tuple[ApiClient, Recorded]]]:
    """make_client(url, retries=0, ...) -> (client, recorded): settings from the policy,
    with the given fields replaced; no backoff waits."""
    made: list[ApiClient] = []

    def make(url: str | Callable[[], str], **overrides: Any) -> tuple[ApiClient, Recorded]:
        settings = dataclasses.replace(SETTINGS, **overrides)
        context = RunContext("run-1", url if isinstance(url, str) else "", "url", "control",
                             "local", "selftest", "b1", "abcdef1", "sandbox", time.time())
        recorded = Recorded()
        core = ClientCore(base_url=url if callable(url) else (lambda: url), settings=settings,
                          schemas=schemas, budgets=Budgets(POLICY),
                          run_context=lambda: context,
                          current_check=lambda: (CHECK, "x-x"), record=recorded)
        client = ApiClient(core)
        client.transport.sleep = lambda seconds: None
        made.append(client)
        return client, recorded

    yield make
    for client in made:
        client.close()
        client.core.session.close()
