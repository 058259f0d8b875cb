"""Suite-level fixtures for the synthetic checks in tests/.

The machinery (target, api client, schemas, budgets, telemetry) lives in the synthmon
pytest plugin (registered through the pytest11 entry point) and its public surface is
`synthmon` (docs/api.md); this file holds only what is particular to this suite: the test
accounts and the synthetic data a check creates (and removes again).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from synthmon import (
    ApiClient,
    ApiResponse,
    CredentialError,
    CredentialRemoved,
    RunContext,
    account,
    payment_token,
    register_secret,
)


@dataclass(frozen=True)
class Session:
    """A logged-in test account: what a check needs to act as it."""

    role: str
    user_id: str
    access_token: str
    refresh_token: str


def login(api: ApiClient, role: str, schema: str = "token-login", **extra: object) -> ApiResponse:
    """Log a seeded test account in; a rejected credential names the variable to fix."""
    try:
        acct = account(role)
    except CredentialRemoved as exc:
        pytest.skip(str(exc))  # reported as skipped, never as passed (docs/alerting.md)
    except CredentialError as exc:
        pytest.fail(str(exc), pytrace=False)
    resp = api.post("/api/v1/auth/login", json={"email": acct.email, "password": acct.password,
                                                **extra},
                    expect={200, 401}, schema=schema)
    if resp.status_code != 200:
        pytest.fail(str(acct.rejected(resp.status_code, resp.synthetic_id)), pytrace=False)
    return resp


def _session(resp: ApiResponse, role: str) -> Session:
    body = resp.json()
    # registered at once: a check may echo a token before it sends it (the user id is no secret)
    register_secret(body["access_token"], body["refresh_token"])
    return Session(role, body["user"]["id"], body["access_token"], body["refresh_token"])


@pytest.fixture(scope="session")
def log_in() -> Callable[..., ApiResponse]:
    """log_in(client, role, **login fields) -> the 200 login answer."""
    return login


@pytest.fixture(scope="session")
def student(api_session: ApiClient) -> Session:
    return _session(login(api_session, "student"), "student")


@pytest.fixture(scope="session")
def provider(api_session: ApiClient) -> Session:
    return _session(login(api_session, "provider"), "provider")


@pytest.fixture(scope="session")
def scholarship_id(api_session: ApiClient) -> str:
    """A scholarship for checks that save or apply: the last of the search the B2C flow
    makes, whose first it saves, so that checks running at once (xdist) never save and
    remove the same scholarship for the same account."""
    resp = api_session.get("/api/v1/scholarships", params={"q": "scholarship"}, expect=200,
                           schema="scholarship-search")
    items = resp.json()["items"]
    resp.ensure(len(items) >= 2, "at least two scholarships found for 'scholarship'")
    return str(items[-1]["id"])


@pytest.fixture
def payment_token_value() -> str:
    try:
        return payment_token()
    except CredentialRemoved as exc:
        pytest.skip(str(exc))
    except CredentialError as exc:
        pytest.fail(str(exc), pytrace=False)


_signups = itertools.count(1)


@pytest.fixture
def synthetic_email(run_context: RunContext) -> str:
    """synthetic+<run id>-<n>@sandbox.scholarshipai.test, unique across xdist workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    email = f"synthetic+{run_context.run_id}-{worker}-{next(_signups)}@sandbox.scholarshipai.test"
    register_secret(email)
    return email


@pytest.fixture
def cleanup(api: ApiClient) -> Iterator[list[Callable[[], object]]]:
    """Register how to remove what a check created; runs at teardown, newest first, so a
    failed clean-up is reported as its own error and never hides the check's failure."""
    undo: list[Callable[[], object]] = []
    yield undo
    for action in reversed(undo):
        action()
