"""HTTPS as a user's browser sees it: the certificate chains to a trusted root, names the
host, and is not about to expire (canary-policy.yaml `tls`)."""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.contract, pytest.mark.critical]


def test_certificate_is_trusted_valid_for_the_host_and_not_expiring(api, policy, run_context,
                                                                     inspect_certificate,
                                                                     request):
    check = request.node.nodeid
    url = urlsplit(run_context.target)
    if url.scheme == "https":
        # before any request: with a refused certificate every call fails, and this check
        # is the one that says why in words
        cert = inspect_certificate(run_context.target)
        if cert.refused:
            pytest.fail(f"{check}: {cert.refused}", pytrace=False)
        days = cert.days_left()
        failing, degraded = (policy.data["tls"][k] for k in ("expiry_failing_days",
                                                              "expiry_degraded_days"))
        if days < failing:
            pytest.fail(f"{check}: {cert.expiring(days, failing, 'expiry_failing_days')}",
                        pytrace=False)
        if days < degraded:
            warnings.warn(f"{check}: degraded: "
                          f"{cert.expiring(days, degraded, 'expiry_degraded_days')}",
                          stacklevel=1)
    health = api.get("/health", expect=200)  # the client trusts what was just inspected
    health.ensure(url.scheme == "https" or run_context.environment != "production",
                  f"HTTPS on a production target, not {url.scheme}://")
