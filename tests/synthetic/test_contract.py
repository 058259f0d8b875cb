"""Promises every answer keeps (docs/api-contract.md, Conventions): the ids the monitor
sends come back unchanged, every /api/v1 answer states its quota, and synthetic traffic is
never counted as product analytics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.contract]

CORRELATION_HEADERS = ("X-Synthetic-Id", "traceparent")
EXCLUDED = "scholarshipai_analytics_events_excluded_total"
SEARCHES = 3


@pytest.mark.parametrize("path, status", [
    ("/health", 200), ("/api/v1/scholarships", 200), ("/api/v1/no-such-route", 404),
])
def test_correlation_ids_are_echoed_unchanged(api, path, status):
    resp = api.get(path, expect=status)
    sent = resp.raw.request.headers
    changed = [f"{name} {resp.headers.get(name)!r} for {sent.get(name)!r}"
               for name in CORRELATION_HEADERS if resp.headers.get(name) != sent.get(name)]
    resp.ensure(not changed, "X-Synthetic-Id and traceparent echoed unchanged, but got "
                + "; ".join(changed))


@pytest.mark.parametrize("path, status, signed_in", [
    pytest.param("/api/v1/scholarships", 200, False, id="public"),
    pytest.param("/api/v1/me/saved", 200, True, id="signed-in"),
    pytest.param("/api/v1/no-such-route", 404, False, id="error"),
])
def test_rate_limit_headers_on_every_api_answer(api, request, quota_problems, path, status,
                                                signed_in):
    token = request.getfixturevalue("student").access_token if signed_in else None
    resp = api.get(path, token=token, expect=status)
    wrong = quota_problems(resp)
    resp.ensure(not wrong, "X-RateLimit-Limit, -Remaining and -Reset on every /api/v1 "
                           "answer, but " + "; ".join(wrong))


def test_synthetic_traffic_is_kept_out_of_analytics(api):
    """Robust to the counter's value and to other traffic: only synthetic requests move
    the excluded counter, so ours must move it by at least as many events as we caused
    (other monitors can only add to it)."""
    before = _excluded_searches(api)
    for page in range(1, SEARCHES + 1):
        api.get("/api/v1/scholarships", params={"page": page}, expect=200,
                schema="scholarship-search")
    resp, after = _excluded_searches(api, answer=True)
    grew = after - before
    resp.ensure(grew >= SEARCHES,
                f"synthetic searches counted as excluded from analytics ({EXCLUDED}"
                f"{{event=\"search\",reason=\"synthetic\"}} up by {SEARCHES} or more after "
                f"{SEARCHES}), but it moved by {grew:g}: the target counts synthetic traffic "
                f"as product analytics")


def _family_text(exposition, name):
    """The lines of one family (its HELP, TYPE and samples): a whole exposition runs to
    hundreds of histogram lines, and parsing them twice cost this check 60 ms; whether the
    whole exposition parses is test_health's question."""
    base = name.removesuffix("_total")
    return "".join(line + "\n" for line in exposition.splitlines()
                   if line.startswith((base, f"# HELP {base}", f"# TYPE {base}")))


def _excluded_searches(api, answer=False):
    resp = api.get("/metrics", expect=200)
    try:
        families = list(text_string_to_metric_families(_family_text(resp.text, EXCLUDED)))
    except ValueError as exc:
        resp.ensure(False, f"a parseable Prometheus exposition ({exc})")
    family = next((f for f in families if f.name in (EXCLUDED, EXCLUDED.removesuffix("_total"))),
                  None)
    resp.ensure(family is not None, f"the {EXCLUDED} family, which tells a monitor that its "
                                    f"synthetic events are left out of analytics")
    value = sum(s.value for s in family.samples if s.name == EXCLUDED
                and s.labels.get("event") == "search" and s.labels.get("reason") == "synthetic")
    return (resp, value) if answer else value
