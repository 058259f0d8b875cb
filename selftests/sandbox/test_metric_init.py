"""A fresh sandbox exposes a series for every metric family of docs/api-contract.md, each
labelled business family with every label set it knows at zero (so rate() and absent() mean
something from the first scrape), and the suite's traffic adds no label set it did not know.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from synthmon.sandbox_process import SandboxProcess, running_sandbox

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "docs" / "api-contract.md"
# The families whose label values are business events (the request families follow the routes).
BUSINESS = ("signup_started", "signup_completed", "time_to_value_seconds", "auth_failures",
            "waf_rule_hits", "payment_captures", "payment_capture_failures",
            "analytics_events", "abuse_signals")


def contract_families() -> list[str]:
    """`scholarshipai_*` family names from the contract's /metrics table, as exposed (no
    _total: prometheus_client names the family without it)."""
    rows = re.findall(r"^\| `(scholarshipai_[a-z_]+)` \|", CONTRACT.read_text(), re.M)
    assert len(rows) >= 10, "the contract's /metrics table was not found"
    return [row.removesuffix("_total") for row in rows]


def series(url: str) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """family -> its label sets (le and quantile dropped), from one scrape."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    found: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for family in text_string_to_metric_families(text):
        sets = found.setdefault(family.name, set())
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            sets.add(tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le")))
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path_factory.mktemp("fresh"), cohort="canary") as box:
        yield box


@pytest.fixture(scope="module")
def first_scrape(fresh: SandboxProcess) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    return series(fresh.url)  # the first request this sandbox ever serves


def test_every_family_of_the_contract_has_a_series_at_the_first_scrape(first_scrape) -> None:
    missing = [f for f in contract_families() if not first_scrape.get(f)]
    assert not missing, f"families with no series on a fresh sandbox: {missing}"


def test_business_families_expose_their_known_label_sets_at_zero(first_scrape) -> None:
    labels = {name: {dict(s).get(key) for s in first_scrape[f"scholarshipai_{name}"]}
              for name, key in (("signup_started", "role"), ("auth_failures", "reason"),
                                ("waf_rule_hits", "rule"), ("payment_captures", "outcome"),
                                ("analytics_events", "event"))}
    assert labels["signup_started"] == {"student", "provider"}
    assert {"invalid-credentials", "token-expired", "csrf-failed"} <= labels["auth_failures"]
    assert {"sql-injection", "xss", "path-traversal"} <= labels["waf_rule_hits"]
    assert labels["payment_captures"] == {"captured", "failed"}
    assert {"search", "signup", "checkout"} <= labels["analytics_events"]


def test_errors_by_class_exist_per_route_before_any_error(first_scrape) -> None:
    requests_ = first_scrape["scholarshipai_http_requests"]
    search = {dict(s)["status_class"] for s in requests_
              if dict(s)["route"] == "/api/v1/scholarships" and dict(s)["synthetic"] == "false"}
    assert search == {"2xx", "4xx", "5xx"}
    assert not any(dict(s)["route"].startswith("/__admin") for s in requests_)


def test_the_suites_traffic_adds_no_label_set_the_sandbox_did_not_know(
        fresh: SandboxProcess, first_scrape, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", f"--target={fresh.url}",
                          f"--reports-dir={tmp_path}", "-q", "-p", "no:cacheprovider"],
                         cwd=REPO, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    # and the events no check causes: a WAF hit and a failed capture
    requests.get(f"{fresh.url}/api/v1/scholarships", params={"q": "' or 1=1"}, timeout=10)
    fresh.set_faults("capture-failures")
    try:
        token = requests.post(f"{fresh.url}/api/v1/auth/login", timeout=10, json={
            "email": "student@sandbox.scholarshipai.test",
            "password": "sandbox-student-pass"}).json()["access_token"]
        requests.post(f"{fresh.url}/api/v1/checkout", timeout=10,
                      headers={"Authorization": f"Bearer {token}"},
                      json={"plan_id": "plan_plus0001", "payment_token": "tok_sandbox_visa"})
    finally:
        fresh.clear_faults()
    after = series(fresh.url)
    new = {name: after[f"scholarshipai_{name}"] - first_scrape[f"scholarshipai_{name}"]
           for name in BUSINESS}
    assert {k: v for k, v in new.items() if v} == {}, (
        "label sets counted that KNOWN_LABELS (scholarship_sandbox/app.py) does not list")
    waf = {dict(s).get("rule") for s in after["scholarshipai_waf_rule_hits"]}
    assert "sql-injection" in waf


def test_every_analytics_event_and_abuse_signal_the_routes_count_is_known() -> None:
    """The suite's traffic is synthetic, so it never counts analytics or abuse: read the names
    the routes pass instead."""
    from scholarship_sandbox.app import KNOWN_LABELS

    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (REPO / "src" / "scholarship_sandbox").rglob("*.py"))
    events = set(re.findall(r'count_analytics\((?:request, )?"([a-z_]+)"', source))
    signals = set(re.findall(r'count_abuse\("([a-z_]+)"', source))
    assert events and signals, "no count_analytics / count_abuse calls found"
    assert events == set(KNOWN_LABELS.analytics_events)
    assert signals == set(KNOWN_LABELS.abuse_signals)


def test_the_routes_the_sandbox_lists_itself_are_the_ones_its_openapi_document_lists() -> None:
    """create_app hands SLOHealth.install its routers' routes (building the OpenAPI
    document at every start only to read its paths took a tenth of a second): the same
    request series at zero as the document would give, the health module's default."""
    from fnmatch import fnmatchcase

    from prometheus_client import generate_latest

    from scholarship_sandbox import RateLimits, Settings
    from scholarship_sandbox.app import KNOWN_LABELS, create_app
    from scholarship_sandbox.health import SLOHealth, _route_methods

    app = create_app(Settings(admin_token="t" * 24, rate_limits=RateLimits.from_env()))
    assert app.openapi_schema is None  # nothing built the document at start
    from_document = SLOHealth(build_id="x", git_sha="0000000", known=KNOWN_LABELS)
    from_document.initialise(route for route in _route_methods(app)
                             if not any(fnmatchcase(route[0], p) for p in from_document.exclude))

    def request_series(text: str) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("le", "cohort")))
                for f in text_string_to_metric_families(text)
                if f.name.startswith("scholarshipai_http_request") for s in f.samples}

    listed = request_series(generate_latest(app.state.slo.registry).decode())
    documented = request_series(generate_latest(from_document.registry).decode())
    assert listed == documented
    assert len({dict(s)["route"] for s in listed}) >= 15
