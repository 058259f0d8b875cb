"""Each fault the sandbox can inject makes the suite fail, naming the check and the cause.

All cases run at once in a small pool (each: one sandbox with the fault, one suite run
scoped to the checks that guard against it); the parametrized tests then read the results.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from suite_harness import REPO, SuiteRun, run_suite, sandbox_process


@dataclass(frozen=True)
class Case:
    spec: str
    scope: tuple[str, ...]  # -m / -k arguments for the suite run
    # Every check that must fail, as pytest names it after "::" (parametrized id included);
    # test_every_check_is_proven_by_a_fault holds these against the collected suite.
    checks: tuple[str, ...]
    cause: tuple[str, ...]  # fragments of the failure message that name the cause
    tls: bool = False  # an HTTPS sandbox, its CA trusted with --ca-bundle=FILE


B2C_FLOW = "test_student_searches_saves_and_drafts_an_application"
B2C_PAGES = "test_student_saves_and_drafts_an_application_in_the_browser"
CHECKOUT_PAGES = "test_student_buys_a_plan_in_the_browser"
DETAILS_PAGE = "/scholarships/{scholarship_id}"
API_B2C = ("-m", "b2c and critical and not browser")  # the API flow; its pages have own cases
# The web faults bend pages only: selftests/suite/test_web_faults.py shows the API checks pass
# with all of them on, so each needs only its own browser check here.
PAGES_FLOW = ("-k", B2C_PAGES)
CHECKOUT_FLOW = ("-k", CHECKOUT_PAGES)
SECURITY_HEADERS = tuple(f"test_security_headers[{case}]" for case in (
    "/health-200", "/api/v1/scholarships-200", "/api/v1/no-such-route-404"))
CSRF = ("test_cookie_session_enforces_csrf",
        "test_cookie_session_without_matching_csrf_is_403[missing]",
        "test_cookie_session_without_matching_csrf_is_403[mismatched]")
INVALID_BODIES = ("test_malformed_json_is_400", "test_signup_with_wrong_types_is_422",
                  *(f"test_invalid_login_body_is_422[{case}]"
                    for case in ("wrong-types", "missing-field", "unknown-field")))
DASHBOARD_WRITES = tuple(f"test_dashboard_is_read_only[{method}]"
                         for method in ("POST", "PUT", "DELETE"))
ECHO = tuple(f"test_correlation_ids_are_echoed_unchanged[{case}]" for case in (
    "/health-200", "/api/v1/scholarships-200", "/api/v1/no-such-route-404"))
QUOTA_HEADERS = (*(f"test_rate_limit_headers_on_every_api_answer[{case}]"
                   for case in ("public", "signed-in", "error")),
                 "test_over_quota_is_429_with_retry_after")
CERTIFICATE = "test_certificate_is_trusted_valid_for_the_host_and_not_expiring"

CASES: dict[str, Case] = {
    "latency": Case("latency:ms=600,route=/health", ("-k", "health_is_ok"),
                    ("test_health_is_ok",), ("GET /health took", "over its hard limit of 500 ms")),
    "error": Case("error:status=500,route=/api/v1/scholarships*", API_B2C,
                  (B2C_FLOW,),
                  ("GET /api/v1/scholarships expected 200, got 500", "internal-error")),
    "error-503-retried": Case("error:status=503,route=/ready", ("-k", "ready_with"),
                              ("test_ready_with_every_dependency_ok",),
                              ("GET /ready expected 200, got 503",)),
    "drop-field": Case("drop-field:field=items.*.amount.currency,route=/api/v1/scholarships",
                       API_B2C, (B2C_FLOW,),
                       ("breaks schema scholarship-search at $.items[",
                        ".amount: 'currency' is a required property")),
    "retype-field": Case("retype-field:field=build_id,to=number,route=/health",
                         ("-k", "health_is_ok"), ("test_health_is_ok",),
                         ("breaks schema health at $.build_id", "is not of type 'string'")),
    "strip-headers": Case("strip-headers:headers=X-Frame-Options", ("-k", "security_headers"),
                          SECURITY_HEADERS, ("X-Frame-Options",)),
    "strip-headers-no-store": Case("strip-headers:headers=Cache-Control,route=/api/v1/auth/*",
                                   ("-k", "auth_answers_are_not_cached"),
                                   ("test_auth_answers_are_not_cached",),
                                   ("Cache-Control: no-store on an auth answer",)),
    "slow-body": Case("slow-body:ms=700,route=/health", ("-k", "health_is_ok"),
                      ("test_health_is_ok",), ("over its hard limit of 500 ms",)),
    "no-rbac": Case("no-rbac", ("-k", "denied_the_provider"),
                    ("test_student_is_denied_the_provider_dashboard",),
                    ("GET /api/v1/provider/dashboard expected 403, got 200",)),
    "no-csrf": Case("no-csrf", ("-k", "csrf"), CSRF,
                    ("POST /api/v1/me/saved expected 403, got 20",)),
    "no-validation": Case("no-validation",
                          ("-k", "malformed_json or invalid_login_body or signup_with_wrong_types"),
                          INVALID_BODIES,
                          ("POST /api/v1/auth/login expected 422, got 5",
                           "POST /api/v1/auth/login expected 400, got 500",
                           "POST /api/v1/auth/signup expected 422, got 500")),
    "no-rate-limit": Case("no-rate-limit", ("-k", "over_quota"),
                          ("test_over_quota_is_429_with_retry_after",),
                          ("the 4th call within a minute refused with 429",)),
    "nonce-reuse": Case("nonce-reuse", ("-k", "replayed_nonce"), ("test_replayed_nonce_is_409",),
                        ("/validate expected 409, got 200",)),
    "lose-draft-writes": Case("lose-draft-writes", API_B2C, (B2C_FLOW,),
                              ("the draft read back exactly as autosaved",)),
    "not-ready": Case("not-ready", ("-k", "ready_with"), ("test_ready_with_every_dependency_ok",),
                      ("GET /ready expected 200, got 503", "not-ready")),
    "auth-errors": Case("auth-errors", ("-m", "critical and (b2c or provider) and not browser"),
                        (B2C_FLOW, "test_provider_reads_the_dashboard"),
                        ("got 401", "invalid-token",
                         "GET /api/v1/provider/dashboard expected 200, got 401")),
    "signup-failures": Case("signup-failures", ("-k", "signup_login"),
                            ("test_signup_login_and_refresh_rotation",),
                            ("POST /api/v1/auth/signup expected 201, got 503",)),
    "capture-failures": Case("capture-failures", ("-m", "payments and not (negative or browser)"),
                             ("test_checkout_with_the_sandbox_token_validates_once",),
                             ("POST /api/v1/checkout expected 201, got 402",)),
    "refresh-reuse": Case("refresh-reuse", ("-k", "signup_login"),
                          ("test_signup_login_and_refresh_rotation",),
                          ("POST /api/v1/auth/refresh expected 401, got 200",)),
    "server-header": Case("server-header", ("-k", "version_leaking"),
                          ("test_no_version_leaking_headers",),
                          ("no Server header naming the software (got 'uvicorn/0.30",)),
    "cors-wildcard": Case("cors-wildcard", ("-k", "cors"), ("test_no_credentialed_wildcard_cors",),
                          ("never Access-Control-Allow-Origin: * together with credentials",)),
    "leak-pii": Case("leak-pii:route=/health", ("-k", "health_is_ok"), ("test_health_is_ok",),
                     ("breaks schema health at $.debug_user.",
                      "looks like a secret or personal data")),
    "add-field-secret": Case("add-field:field=password_hash,route=/health", ("-k", "health_is_ok"),
                             ("test_health_is_ok",),
                             ("breaks schema health at $.password_hash: an unknown member that "
                              "looks like a secret or personal data (its name says password)",)),
    "add-field-secret-value": Case(
        "add-field:field=contact,value=jane.doe@example.com,route=/api/v1/scholarships/*",
        API_B2C, (B2C_FLOW,),
        ("breaks schema scholarship at $.contact", "its value looks like an email address")),
    "alter-echo": Case("alter-echo", ("-k", "correlation_ids"), ECHO,
                       ("X-Synthetic-Id and traceparent echoed unchanged, but got",)),
    "strip-echo": Case("strip-headers:headers=X-Synthetic-Id|traceparent",
                       ("-k", "correlation_ids"), ECHO, ("X-Synthetic-Id None for",)),
    "strip-quota-headers": Case("strip-headers:headers=X-RateLimit-Remaining",
                                ("-k", "rate_limit_headers or over_quota"), QUOTA_HEADERS,
                                ("X-RateLimit-Remaining is missing",)),
    "analytics-synthetic": Case("analytics-synthetic", ("-k", "kept_out_of_analytics"),
                                ("test_synthetic_traffic_is_kept_out_of_analytics",),
                                ("the target counts synthetic traffic as product analytics",)),
    "server-header-bare": Case("server-header:value=nginx", ("-k", "version_leaking"),
                               ("test_no_version_leaking_headers",),
                               ("no Server header naming the software (got 'nginx')",)),
    "cert-expiring": Case("cert-expiring:days=3", ("-k", "certificate"), (CERTIFICATE,),
                          ("expires in 3 days", "under the 7 days of canary-policy.yaml "
                                                "tls.expiry_failing_days: renew it"), tls=True),
    "cert-wrong-host": Case("cert-wrong-host", ("-k", "certificate"), (CERTIFICATE,),
                            ("is not valid for 127.0.0.1: it names only "
                             "wrong-host.scholarshipai.test, so browsers refuse the site",),
                            tls=True),
    "no-auth": Case("no-auth", ("-k", "missing_token"), ("test_missing_token_is_401",),
                    ("GET /api/v1/me/saved expected 401, got 200",)),
    "no-token-expiry": Case("no-token-expiry", ("-k", "expired_token"),
                            ("test_expired_token_is_401",),
                            ("GET /api/v1/me/saved expected 401, got 200",)),
    "no-signature-check": Case("no-signature-check", ("-k", "tampered_token"),
                               ("test_tampered_token_is_401",),
                               ("GET /api/v1/me/saved expected 401, got 200",)),
    "no-version-check": Case("no-version-check", ("-k", "stale_draft"),
                             ("test_stale_draft_version_is_409",),
                             ("PUT /api/v1/applications/{application_id}/draft expected 409, "
                              "got 200",)),
    "no-body-limit": Case("no-body-limit", ("-k", "oversized_body"),
                          ("test_oversized_body_is_413",),
                          ("POST /api/v1/auth/signup expected 413, got 422",)),
    "no-content-type-check": Case("no-content-type-check", ("-k", "wrong_content_type"),
                                  ("test_wrong_content_type_is_415",),
                                  ("POST /api/v1/auth/login expected 415, got 422",)),
    "provider-writes": Case("provider-writes", ("-k", "dashboard_is_read_only"),
                            DASHBOARD_WRITES,
                            tuple(f"{method} /api/v1/provider/dashboard expected 405, got 200"
                                  for method in ("POST", "PUT", "DELETE"))),
    # The web faults and the API faults a page shows: each trips its browser check alone.
    "dead-save-button": Case("dead-save-button", PAGES_FLOW, (B2C_PAGES,),
                             (f"step save on {DETAILS_PAGE} ended",
                              "expected the save to be acknowledged")),
    "lose-draft-writes-pages": Case("lose-draft-writes", PAGES_FLOW, (B2C_PAGES,),
                                    ("expected the typed text after a reload",)),
    "script-error": Case("script-error:route=/scholarships/*", PAGES_FLOW, (B2C_PAGES,),
                         (f"{DETAILS_PAGE} threw an uncaught exception: TypeError",),
),
    "layout-shift": Case("layout-shift:route=/scholarships/*", PAGES_FLOW, (B2C_PAGES,),
                         (f"CLS of {DETAILS_PAGE} was", "over its hard limit of 0.250"),
),
    "slow-paint": Case("slow-paint:ms=4300,route=/scholarships/*", PAGES_FLOW,
                       (B2C_PAGES,), (f"LCP of {DETAILS_PAGE} was",
                                      "over its hard limit of 4000 ms")),
    "slow-paint-pricing": Case("slow-paint:ms=4300,route=/pricing", CHECKOUT_FLOW,
                               (CHECKOUT_PAGES,), ("LCP of /pricing was",)),
    "third-party-call": Case("third-party-call:route=/scholarships/*", PAGES_FLOW,
                             (B2C_PAGES,), (f"{DETAILS_PAGE} requested another host than the "
                                            "target: https://beacon.thirdparty.example",),
    ),
    "capture-failures-pages": Case("capture-failures", CHECKOUT_FLOW, (CHECKOUT_PAGES,),
                                   ("/checkout POST /api/v1/checkout answered 402",),
          ),
    "drop-metric": Case("drop-metric:family=scholarshipai_build_info", ("-k", "slo_families"),
                        ("test_metrics_expose_the_slo_families",),
                        ("GET /metrics answered 200", "missing scholarshipai_build_info")),
}


def _run(case: Case) -> SuiteRun:
    with sandbox_process(case.spec, args=("--tls",) if case.tls else ()) as box:
        trust = (f"--ca-bundle={box.ca_file}",) if case.tls else ()
        return run_suite(box.url, *trust, *case.scope)


@pytest.fixture(scope="module")
def results() -> dict[str, SuiteRun]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, case) for name, case in CASES.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.slow
# the first case waits for every suite run of the pool (about a minute on a quiet 2-core
# machine, several when it is shared): more than the default 300 s may be needed
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", list(CASES))
def test_fault_fails_the_check_that_guards_against_it(results, name):
    case, run = CASES[name], results[name]
    where = f"{case.spec}, suite output:\n{run.output}"
    assert run.returncode == 1, f"the suite should fail (rc {run.returncode}) with {where}"
    failed = _failed_checks(run.output)
    missing = [check for check in case.checks if check not in failed]
    assert not missing, f"{missing} did not fail with {where}"
    for fragment in case.cause:
        assert fragment in run.output, f"the cause {fragment!r} is not named with {where}"
    if not case.tls:  # a refused certificate fails before any request has an id
        assert "synthetic id " in run.output


def test_every_fault_kind_is_covered():
    """docs/faults.md's table against CASES: a new fault kind needs a check and a case."""
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "faults.md").read_text()
    kinds = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    covered = {case.spec.split(":")[0] for case in CASES.values()}
    assert kinds - covered == set(), f"fault kinds no case covers: {sorted(kinds - covered)}"


def _failed_checks(output: str) -> set[str]:
    """The checks of the `FAILED <node id> - <message>` summary lines, named after "::"."""
    return {line.split()[1].split("::")[-1] for line in output.splitlines()
            if line.startswith("FAILED ") and "::" in line}


def test_every_check_is_proven_by_a_fault(tmp_path):
    """The collected suite against CASES: a new check (or a new parametrized case of one)
    needs a fault case that shows it fails, and a case may not name a check that is gone."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "SYNTH_", "SANDBOX_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         f"--reports-dir={tmp_path}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"collecting the suite failed:\n{done.stdout}{done.stderr}"
    collected = {line.split("::")[-1] for line in done.stdout.splitlines()
                 if line.startswith("tests/") and "::" in line}
    assert len(collected) >= 20, f"too few checks collected:\n{done.stdout}"
    named = {check for case in CASES.values() for check in case.checks}
    assert collected - named == set(), (
        f"checks no fault case proves (add a Case): {sorted(collected - named)}")
    assert named - collected == set(), (
        f"cases name checks the suite lacks: {sorted(named - collected)}")
