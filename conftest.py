"""Suite-level fixtures for the synthetic checks in tests/.

The machinery (target, api client, schemas, budgets, telemetry) lives in the synthmon
pytest plugin (registered through the pytest11 entry point) and its public surface is
`synthmon` (docs/api.md); this file holds only what is particular to this suite: the test
accounts, the scholarships the checks find on the target (never a particular catalogue), and
the synthetic data a check creates (and removes again, whatever happens).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from synthmon import (
    ApiClient,
    ApiResponse,
    RunContext,
    account,
    for_check,
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
    acct = for_check(lambda: account(role))
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


@dataclass(frozen=True)
class Catalogue:
    """What the target offers, found as a student finds it: a word from the title of the
    first scholarship it lists, and what a search for that word returns."""

    word: str
    title: str  # the listed title the word comes from
    found: tuple[str, ...]  # ids, in the order the search returned them
    listed: tuple[str, ...]  # ids on the first page of the unfiltered listing


def title_word(title: str) -> str | None:
    """The longest word of a title (letters and digits), the likeliest to find it again."""
    candidates = re.findall(r"[^\W_]+", title)
    return max(candidates, key=len) if candidates else None


@pytest.fixture(scope="session")
def word_from() -> Callable[[str], str | None]:
    """word_from(title) -> the word of a title a check searches for (see title_word)."""
    return title_word


@pytest.fixture(scope="session")
def catalogue(api_session: ApiClient) -> Catalogue:
    """The B2C flow's own steps, made once for the checks that only need a scholarship."""
    listing = api_session.get("/api/v1/scholarships", expect=200, schema="scholarship-search")
    listed = listing.json()["items"]
    listing.ensure(listed, "the target to list at least one scholarship")
    title = str(listed[0]["title"])
    word = title_word(title)
    listing.ensure(word, f"a word in the title of the first listed scholarship ({title!r})")
    search = api_session.get("/api/v1/scholarships", params={"q": word}, expect=200,
                             schema="scholarship-search")
    found = search.json()["items"]
    search.ensure(found, f"a search for {word!r}, a word of the listed title {title!r}, to "
                         f"find at least one scholarship")
    return Catalogue(str(word), title, tuple(str(i["id"]) for i in found),
                     tuple(str(i["id"]) for i in listed))


@pytest.fixture(scope="session")
def scholarship_id(catalogue: Catalogue) -> str:
    """A scholarship for checks that save or apply: not the first the B2C flow's search
    returns (it saves that one), so that checks running at once (xdist) never save and
    remove the same scholarship for the same account; the same one only when the target
    has no other."""
    others = [sid for sid in (*catalogue.found[1:], *catalogue.listed)
              if sid != catalogue.found[0]]
    return others[-1] if others else catalogue.found[0]


RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# Reset counts the seconds until the window ends; more than a day is a timestamp or another unit.
MAX_RESET_S = 86_400


def rate_limit_problems(resp: ApiResponse) -> list[str]:
    """What is wrong with an answer's quota headers (docs/api-contract.md, Quotas)."""
    values: dict[str, int] = {}
    wrong = []
    for name in RATE_LIMIT_HEADERS:
        raw = resp.headers.get(name)
        if raw is None:
            wrong.append(f"{name} is missing")
        elif not raw.strip().isdigit():
            wrong.append(f"{name} {raw!r} is not a whole number")
        else:
            values[name] = int(raw)
    limit, remaining, reset = (values.get(name) for name in RATE_LIMIT_HEADERS)
    if limit is not None and remaining is not None and remaining > limit:
        wrong.append(f"X-RateLimit-Remaining {remaining} exceeds X-RateLimit-Limit {limit}")
    if limit == 0:
        wrong.append("X-RateLimit-Limit is 0")
    if reset is not None and reset > MAX_RESET_S:
        wrong.append(f"X-RateLimit-Reset {reset} is not the seconds until the window resets")
    return wrong


@pytest.fixture(scope="session")
def quota_problems() -> Callable[[ApiResponse], list[str]]:
    """quota_problems(resp) -> what is wrong with its X-RateLimit-* headers ([] when right)."""
    return rate_limit_problems


@pytest.fixture
def payment_token_value() -> str:
    return for_check(payment_token)


_signups = itertools.count(1)


@pytest.fixture
def synthetic_email(run_context: RunContext) -> str:
    """synthetic+<run id>-<n>@sandbox.scholarshipai.test, unique across xdist workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    email = f"synthetic+{run_context.run_id}-{worker}-{next(_signups)}@sandbox.scholarshipai.test"
    register_secret(email)
    return email


class Cleanup:
    """How to remove what a check creates, registered *before* the call that creates it,
    so that nothing survives a failure of any kind (a slow answer over its hard limit, a
    schema break, an assertion): the removals run at teardown, newest first, each accepting
    a 404 (already gone, or never made). A failed removal is reported as its own error,
    after every other removal has been tried, and never hides the check's failure."""

    def __init__(self) -> None:
        self._actions: list[Callable[[], object]] = []

    def remove(self, action: Callable[[], object]) -> None:
        """For what the check can name before it exists: `cleanup.remove(lambda:
        api.delete(SAVED_ITEM, path_params=..., expect={204, 404}))`, then the save."""
        self._actions.append(action)

    def remove_created(self, action: Callable[[dict[str, Any]], object]
                       ) -> Callable[[int, bytes], None]:
        """For what only the creating answer names (a new id): returns the hook to pass as
        that call's `learn=`; it sees the answer before the call is judged, so even a
        creation that fails its check is removed: `action(body)` per 2xx JSON object."""
        created: list[dict[str, Any]] = []

        def learn(status: int, content: bytes) -> None:
            if 200 <= status < 300:
                try:
                    body = json.loads(content)
                except ValueError:
                    return
                if isinstance(body, dict):
                    created.append(body)

        self._actions.append(lambda: [action(body) for body in created])
        return learn

    def run(self) -> None:
        failures: list[str] = []
        for action in reversed(self._actions):
            try:
                action()
            except (Exception, pytest.fail.Exception) as exc:
                failures.append(str(exc))
        self._actions.clear()
        if failures:
            pytest.fail("clean-up failed: " + " | ".join(failures), pytrace=False)


@pytest.fixture
def cleanup(api: ApiClient) -> Iterator[Cleanup]:
    """Torn down before `api` (which it depends on), so removals still have its sessions."""
    undo = Cleanup()
    yield undo
    undo.run()
