"""Test accounts and the sandbox payment token, read from the environment.

Defaults are the sandbox's seeded accounts (docs/api-contract.md, "Seeded test accounts"),
so `pytest` against the embedded sandbox needs no setup; against staging or production the
scheduler sets the variables. A wrong or missing credential must say which variable to fix.

A variable that is set but empty is a credential that was removed (a CI secret that no
longer exists expands to an empty string): the checks that need it are skipped, naming the
variable, and the monitor reports them as skipped (never as passed) and pages when critical
checks skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest

from synthmon.privacy import register_secret

_T = TypeVar("_T")

# role -> (email variable, password variable, default email, default password)
_ACCOUNTS: dict[str, tuple[str, str, str, str]] = {
    "student": ("SYNTH_STUDENT_EMAIL", "SYNTH_STUDENT_PASSWORD",
                "student@sandbox.scholarshipai.test", "sandbox-student-pass"),
    "provider": ("SYNTH_PROVIDER_EMAIL", "SYNTH_PROVIDER_PASSWORD",
                 "provider@sandbox.scholarshipai.test", "sandbox-provider-pass"),
    "quota": ("SYNTH_QUOTA_EMAIL", "SYNTH_QUOTA_PASSWORD",
              "quota@sandbox.scholarshipai.test", "sandbox-quota-pass"),
}
PAYMENT_TOKEN_VARIABLE = "SYNTH_PAYMENT_TOKEN"
DEFAULT_PAYMENT_TOKEN = "tok_sandbox_visa"


class CredentialError(Exception):
    """A credential is missing or rejected; the message names the variable to set."""


class CredentialRemoved(CredentialError):
    """The credential's variable is set but empty: the account is not available here."""


@dataclass(frozen=True, slots=True)
class Account:
    role: str
    email: str
    password: str
    email_variable: str
    password_variable: str

    def rejected(self, status: int | None, synthetic_id: str) -> CredentialError:
        return CredentialError(
            f"the {self.role} test account was rejected at login (HTTP {status}, synthetic id "
            f"{synthetic_id}): set {self.email_variable} and {self.password_variable} to a "
            f"valid {self.role} account on this target"
        )

    def __repr__(self) -> str:  # never print the password
        return f"Account(role={self.role!r}, email_variable={self.email_variable!r})"


def account(role: str) -> Account:
    email_var, password_var, email_default, password_default = _ACCOUNTS[role]
    email = os.environ.get(email_var, email_default)
    password = os.environ.get(password_var, password_default)
    for variable, value in ((email_var, email), (password_var, password)):
        if not value.strip():
            what = "email" if variable == email_var else "password"
            raise CredentialRemoved(
                f"{variable} is set but empty, so the {role} test account is not available: "
                f"the checks that need it are skipped (set it to the account's {what})")
    register_secret(email, password)  # removed literally from anything written
    return Account(role, email, password, email_var, password_var)


def payment_token() -> str:
    token = os.environ.get(PAYMENT_TOKEN_VARIABLE, DEFAULT_PAYMENT_TOKEN).strip()
    if not token:
        raise CredentialRemoved(f"{PAYMENT_TOKEN_VARIABLE} is set but empty, so the checks that "
                                "pay are skipped (set it to a sandbox payment token such as "
                                "tok_sandbox_visa)")
    register_secret(token)
    return token


def for_check(credential: Callable[[], _T]) -> _T:
    """`credential()` (`account` with its role bound, or `payment_token`) as a check takes
    it: a removed credential skips the check naming the variable (the monitor reports it as
    skipped, never as passed), a missing or unusable one fails it with the same sentence."""
    try:
        return credential()
    except CredentialRemoved as exc:
        pytest.skip(str(exc))
    except CredentialError as exc:
        pytest.fail(str(exc), pytrace=False)
