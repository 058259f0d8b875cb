"""The provider dashboard: a provider reads it, nobody writes it."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.provider]

DASHBOARD = "/api/v1/provider/dashboard"


@pytest.mark.critical
def test_provider_reads_the_dashboard(api, provider):
    resp = api.get(DASHBOARD, token=provider.access_token, expect=200,
                   schema="provider-dashboard")
    body = resp.json()
    resp.ensure(body["totals"]["scholarships"] == len(body["scholarships"]),
                "totals.scholarships to count the scholarships listed")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_dashboard_is_read_only(api, provider, method):
    resp = api.request(method, DASHBOARD, token=provider.access_token, json={},
                       expect=405, idempotent=False)
    resp.ensure(resp.problem_slug == "method-not-allowed", "problem type method-not-allowed")
    resp.ensure("GET" in resp.headers.get("Allow", ""), "an Allow header naming GET")
