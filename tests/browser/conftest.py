"""Fixtures of the browser checks: signing a test account in through the login page.

The machinery (Chromium, devices, steps, Web Vitals, the page guard) is the `web` fixture of
the synthmon plugin (synthmon.browser); only what is particular to these pages lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from synthmon import ApiClient, account, for_check, register_secret

if TYPE_CHECKING:  # Playwright is imported only when a browser check runs
    from synthmon import BrowserFlow


@pytest.fixture
def sign_in(web: BrowserFlow) -> Callable[[str], None]:
    """sign_in(role): open the login page and log the test account in as a person does,
    landing on the search page. Only test accounts are ever typed into a page."""

    def sign_in(role: str) -> None:
        acct = for_check(lambda: account(role))
        web.open("/login", step="open_login", lands_on="/login", next="/search")
        with web.step("log_in", lands_on="/search"):
            web.fill("login-email", acct.email)
            web.fill("login-password", acct.password)
            web.click("login-submit")
            web.expect("search-form", "the search page after logging in")

    return sign_in


@pytest.fixture(scope="session")
def student_token(api_session: ApiClient, log_in: Callable[..., object]) -> Callable[[], str]:
    """student_token(): a bearer token of the student account for removing, through the API,
    what a check created in the pages; logged in when first needed, so a check that created
    nothing never depends on the API login."""
    cached: list[str] = []

    def token() -> str:
        if not cached:
            body = log_in(api_session, "student").json()  # type: ignore[attr-defined]
            register_secret(body["access_token"], body["refresh_token"])
            cached.append(body["access_token"])
        return cached[0]

    return token
