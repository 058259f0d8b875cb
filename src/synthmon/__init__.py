"""synthmon: ScholarshipAI's synthetic monitor and canary release gate.

The public surface for checks and conftest.py files (docs/api.md): the api client and its
answer, the browser flow, the run's context and samples, the test accounts and the secret
registry. Names
are imported on first use, so `import synthmon` stays cheap (the pytest plugin is loaded
into every pytest run of the environment).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthmon.browser.flow import BrowserFlow
    from synthmon.privacy import register_secret
    from synthmon.run_context import RunContext
    from synthmon.samples import Sample
    from synthmon.suite.client import ApiClient, ApiResponse, TargetDown
    from synthmon.suite.credentials import (
        Account,
        CredentialError,
        CredentialRemoved,
        account,
        for_check,
        payment_token,
    )

__version__ = "0.1.0"

# public name -> the module that holds it
_EXPORTS: dict[str, str] = {
    "Account": "synthmon.suite.credentials",
    "ApiClient": "synthmon.suite.client",
    "ApiResponse": "synthmon.suite.client",
    "BrowserFlow": "synthmon.browser.flow",
    "CredentialError": "synthmon.suite.credentials",
    "CredentialRemoved": "synthmon.suite.credentials",
    "RunContext": "synthmon.run_context",
    "Sample": "synthmon.samples",
    "TargetDown": "synthmon.suite.client",
    "account": "synthmon.suite.credentials",
    "for_check": "synthmon.suite.credentials",
    "payment_token": "synthmon.suite.credentials",
    "register_secret": "synthmon.privacy",
}
__all__ = [
    "Account",
    "ApiClient",
    "ApiResponse",
    "BrowserFlow",
    "CredentialError",
    "CredentialRemoved",
    "RunContext",
    "Sample",
    "TargetDown",
    "account",
    "for_check",
    "payment_token",
    "register_secret",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthmon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
