"""Each fault the sandbox can inject makes the suite fail, naming the check and the cause.

All cases run at once in a small pool (each: one sandbox with the fault, one suite run
scoped to the checks that guard against it); the parametrized tests then read the results.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from suite_harness import SuiteRun, run_suite, sandbox


@dataclass(frozen=True)
class Case:
    spec: str
    scope: tuple[str, ...]  # -m / -k arguments for the suite run
    check: str  # the check that must fail (its name in the output)
    cause: tuple[str, ...]  # fragments of the failure message that name the cause


CASES: dict[str, Case] = {
    "latency": Case("latency:ms=600,route=/health", ("-k", "health_is_ok"),
                    "test_health_is_ok", ("GET /health took", "over its hard limit of 500 ms")),
    "error": Case("error:status=500,route=/api/v1/scholarships*", ("-m", "b2c and critical"),
                  "test_student_searches_saves_and_drafts_an_application",
                  ("GET /api/v1/scholarships expected 200, got 500", "internal-error")),
    "error-503-retried": Case("error:status=503,route=/ready", ("-k", "ready_with"),
                              "test_ready_with_every_dependency_ok",
                              ("GET /ready expected 200, got 503",)),
    "drop-field": Case("drop-field:field=items.*.amount.currency,route=/api/v1/scholarships",
                       ("-m", "b2c and critical"),
                       "test_student_searches_saves_and_drafts_an_application",
                       ("breaks schema scholarship-search at $.items[",
                        ".amount: 'currency' is a required property")),
    "retype-field": Case("retype-field:field=build_id,to=number,route=/health",
                         ("-k", "health_is_ok"), "test_health_is_ok",
                         ("breaks schema health at $.build_id", "is not of type 'string'")),
    "strip-headers": Case("strip-headers:headers=X-Frame-Options", ("-k", "security_headers"),
                          "test_security_headers", ("X-Frame-Options",)),
    "slow-body": Case("slow-body:ms=700,route=/health", ("-k", "health_is_ok"),
                      "test_health_is_ok", ("over its hard limit of 500 ms",)),
    "no-rbac": Case("no-rbac", ("-k", "denied_the_provider"),
                    "test_student_is_denied_the_provider_dashboard",
                    ("GET /api/v1/provider/dashboard expected 403, got 200",)),
    "no-csrf": Case("no-csrf", ("-k", "csrf"), "test_cookie_session",
                    ("POST /api/v1/me/saved expected 403, got 20",)),
    "no-validation": Case("no-validation", ("-k", "invalid_login_body"),
                          "test_invalid_login_body_is_422",
                          ("POST /api/v1/auth/login expected 422, got 5",)),
    "no-rate-limit": Case("no-rate-limit", ("-k", "over_quota"),
                          "test_over_quota_is_429_with_retry_after",
                          ("the 4th call within a minute refused with 429",)),
    "nonce-reuse": Case("nonce-reuse", ("-k", "replayed_nonce"), "test_replayed_nonce_is_409",
                        ("/validate expected 409, got 200",)),
    "lose-draft-writes": Case("lose-draft-writes", ("-m", "b2c and critical"),
                              "test_student_searches_saves_and_drafts_an_application",
                              ("the draft read back exactly as autosaved",)),
    "not-ready": Case("not-ready", ("-k", "ready_with"), "test_ready_with_every_dependency_ok",
                      ("GET /ready expected 200, got 503", "not-ready")),
    "auth-errors": Case("auth-errors", ("-m", "b2c and critical"),
                        "test_student_searches_saves_and_drafts_an_application",
                        ("got 401", "invalid-token")),
    "signup-failures": Case("signup-failures", ("-k", "signup_login"),
                            "test_signup_login_and_refresh_rotation",
                            ("POST /api/v1/auth/signup expected 201, got 503",)),
    "capture-failures": Case("capture-failures", ("-m", "payments and not negative"),
                             "test_checkout_with_the_sandbox_token_validates_once",
                             ("POST /api/v1/checkout expected 201, got 402",)),
    "refresh-reuse": Case("refresh-reuse", ("-k", "signup_login"),
                          "test_signup_login_and_refresh_rotation",
                          ("POST /api/v1/auth/refresh expected 401, got 200",)),
    "server-header": Case("server-header", ("-k", "version_leaking"),
                          "test_no_version_leaking_headers",
                          ("no software version in the Server header",)),
    "cors-wildcard": Case("cors-wildcard", ("-k", "cors"), "test_no_credentialed_wildcard_cors",
                          ("never Access-Control-Allow-Origin: * together with credentials",)),
    "leak-pii": Case("leak-pii:route=/health", ("-k", "health_is_ok"), "test_health_is_ok",
                     ("breaks schema health", "Additional properties are not allowed")),
}


def _run(case: Case) -> SuiteRun:
    with sandbox(case.spec) as url:
        return run_suite(url, *case.scope)


@pytest.fixture(scope="module")
def results() -> dict[str, SuiteRun]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, case) for name, case in CASES.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_fault_fails_the_check_that_guards_against_it(results, name):
    case, run = CASES[name], results[name]
    where = f"{case.spec}, suite output:\n{run.output}"
    assert run.returncode == 1, f"the suite should fail (rc {run.returncode}) with {where}"
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED")]
    assert any(case.check in line for line in failed), f"{case.check} did not fail with {where}"
    for fragment in case.cause:
        assert fragment in run.output, f"the cause {fragment!r} is not named with {where}"
    assert "synthetic id " in run.output


def test_every_fault_kind_is_covered():
    """docs/faults.md's table against CASES: a new fault kind needs a check and a case."""
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "faults.md").read_text()
    kinds = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    covered = {case.spec.split(":")[0] for case in CASES.values()}
    assert kinds - covered == set(), f"fault kinds no case covers: {sorted(kinds - covered)}"
