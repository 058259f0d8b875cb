"""The B2C pages of the sandbox: what docs/api-contract.md ("Web pages") promises a browser
check, checked on the HTML itself: headers and CSP, no inline script, the synthetic tagging
passed on to every URL, the data-testids, the session rules, and the web faults."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .conftest import Api, Faults, assert_problem

PAGES = ("/search?q=nursing", "/login", "/pricing", "/checkout?plan=plan_plus0001",
         "/applications/app_00000000/draft")
HTML = "text/html; charset=utf-8"


class Page(HTMLParser):
    """Every tag with its attributes, and the text of script elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def test_ids(self) -> set[str]:
        return {a["data-testid"] for _, a in self.tags if "data-testid" in a}

    def urls(self) -> list[str]:
        return [a[k] for _, a in self.tags for k in ("href", "src", "action") if k in a]


def details_path(api: Api) -> str:
    return f"/scholarships/{api.first_scholarship()}"


def page(api: Api, path: str, **kwargs: object) -> tuple[requests.Response, Page]:
    response = api.get(path, **kwargs)  # type: ignore[arg-type]
    return response, Page(response.text)


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_with_the_security_headers_and_a_strict_csp(api: Api, path: str) -> None:
    response, html = page(api, path)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == HTML
    assert response.headers["cache-control"] == "no-store"
    for name in ("strict-transport-security", "x-content-type-options", "x-frame-options",
                 "referrer-policy", "x-request-id"):
        assert name in response.headers, name
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert csp.count("default-src") == 1  # one CSP header: the page's, not two
    # no inline script, style attribute or event handler: the CSP would refuse them
    assert html.inline_scripts == []
    assert all("style" not in a and not any(k.startswith("on") for k in a)
               for _, a in html.tags), path
    assert {"main", "nav-search", "nav-pricing", "nav-login"} <= html.test_ids()


def test_the_api_keeps_its_own_csp(api: Api) -> None:
    assert api.get("/health").headers["content-security-policy"] == \
        "default-src 'none'; frame-ancestors 'none'"


def test_a_page_opened_with_e2e_passes_it_on_to_every_url(api: Api) -> None:
    for path in (*PAGES, details_path(api)):
        sep = "&" if "?" in path else "?"
        _, html = page(api, f"{path}{sep}e2e=1")
        assert ("html", {"lang": "en", "data-e2e": "1"}) in html.tags, path
        untagged = [url for url in html.urls()
                    if url.startswith("/") and parse_qs(urlsplit(url).query).get("e2e") != ["1"]
                    and not url.startswith("/search")]  # the search form: a hidden field
        assert untagged == [], path
    _, search = page(api, "/search?q=x&e2e=1")
    assert ("input", {"type": "hidden", "name": "e2e", "value": "1"}) in search.tags


def test_a_page_opened_without_e2e_adds_nothing(api: Api) -> None:
    _, html = page(api, "/search?q=nursing")
    assert not any("e2e" in url for url in html.urls())
    assert not any(a.get("data-e2e") for _, a in html.tags)


def test_each_page_has_the_test_ids_the_checks_rely_on(api: Api) -> None:
    wanted = {
        "/login": {"login-form", "login-email", "login-password", "login-submit", "login-error"},
        "/search?q=scholarship": {"search-form", "search-input", "search-submit", "search-total",
                                  "search-results", "search-result", "search-result-link"},
        details_path(api): {"scholarship", "scholarship-title", "scholarship-amount",
                            "scholarship-description", "save-button", "save-status",
                            "apply-button", "apply-status"},
        "/applications/app_00000000/draft": {"draft-editor", "draft-essay", "autosave-status"},
        "/pricing": {"plan-card", "plan-name", "plan-price", "plan-choose"},
        "/checkout?plan=plan_plus0001": {"checkout-form", "checkout-plan", "checkout-amount",
                                         "checkout-token", "checkout-submit", "checkout-error"},
    }
    for path, ids in wanted.items():
        _, html = page(api, path)
        assert ids <= html.test_ids(), (path, ids - html.test_ids())


def test_the_details_page_shows_what_the_api_answers(api: Api) -> None:
    sid = api.first_scholarship()
    details = api.get(f"/api/v1/scholarships/{sid}").json()
    response, html = page(api, f"/scholarships/{sid}")
    assert ("article", {"class": "scholarship", "data-testid": "scholarship",
                        "data-scholarship-id": sid}) in html.tags
    assert details["title"] in response.text
    assert f"{details['amount']['value']:.2f} {details['amount']['currency']}" in response.text


def test_unknown_things_are_pages_with_their_status(api: Api) -> None:
    for path in ("/scholarships/sch_nope0000", "/checkout?plan=plan_nope"):
        response, html = page(api, path)
        assert response.status_code == 404 and response.headers["content-type"] == HTML
        assert "error-detail" in html.test_ids()


def test_the_confirmation_needs_a_session_and_login_goes_nowhere_else(api: Api) -> None:
    response = api.get("/checkout/chk_00000000/confirmation", allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcheckout%2Fchk_00000000%2Fconfirmation"
    for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        _, html = page(api, "/login", params={"next": evil})
        assert ("form", {"class": "login", "data-testid": "login-form",
                         "data-next": "/search"}) in html.tags, evil


def test_a_signed_in_buyer_sees_the_confirmation(api: Api) -> None:
    session = api.login(session="cookie")
    started = api.post("/api/v1/checkout", json={"plan_id": "plan_plus0001",
                                                 "payment_token": "tok_sandbox_visa"},
                       headers={"X-CSRF-Token": session["csrf_token"]})
    assert started.status_code == 201, started.text
    body = started.json()
    assert api.post(f"/api/v1/checkout/{body['checkout_id']}/validate",
                    json={"nonce": body["nonce"]},
                    headers={"X-CSRF-Token": session["csrf_token"]}).status_code == 200
    response, html = page(api, f"/checkout/{body['checkout_id']}/confirmation")
    assert response.status_code == 200
    assert re.search(r'data-testid="confirmation-status">validated<', response.text)
    assert "9.99 USD" in response.text and "confirmation-plan" in html.test_ids()


def test_static_files_have_their_exact_media_type(api: Api) -> None:
    types = {"app.js": "text/javascript; charset=utf-8", "site.css": "text/css; charset=utf-8",
             "favicon.svg": "image/svg+xml"}
    for name, media_type in types.items():
        response = api.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"] == media_type
    assert_problem(api.get("/static/nope.js"), 404, "not-found")
    assert_problem(api.get("/static/..%2Fapp.py"), 404, "not-found")


def test_pages_stay_out_of_the_openapi_document_but_count_by_template(api: Api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/search", "/scholarships/", "/static")) for p in paths)
    api.get(details_path(api))
    metrics = api.get("/metrics").text
    assert 'route="/scholarships/{scholarship_id}"' in metrics
    assert not re.search(r'route="/scholarships/sch_', metrics)


def test_web_faults_bend_the_pages(api: Api, faults: Faults) -> None:
    details = details_path(api)
    faults.set("dead-save-button", "script-error:route=/scholarships/*",
               "layout-shift:route=/scholarships/*", "slow-paint:ms=1234,route=/scholarships/*",
               "third-party-call:route=/scholarships/*")
    response, html = page(api, details)
    save = next(a for _, a in html.tags if a.get("data-testid") == "save-button")
    assert "data-action" not in save  # drawn, wired to nothing
    scripts = {urlsplit(a["src"]).path for t, a in html.tags if t == "script"}
    assert {"/static/fault-script-error.js", "/static/fault-layout-shift.js",
            "/static/fault-slow-paint.js"} <= scripts
    main = next(a for _, a in html.tags if a.get("data-testid") == "main")
    assert main["class"] == "paint-held" and main["data-paint-delay-ms"] == "1234"
    assert any(a.get("src", "").startswith("https://beacon.thirdparty.example/")
               for _, a in html.tags)
    assert "img-src 'self' https://beacon.thirdparty.example" in \
        response.headers["content-security-policy"]
    # the route glob keeps them to the details page; the API answers as ever
    _, search = page(api, "/search?q=x")
    assert not any(a.get("src", "").startswith(("https://", "/static/fault-"))
                   for _, a in search.tags)
    assert api.get("/api/v1/scholarships").status_code == 200
    faults.clear()
    _, clean = page(api, details)
    save = next(a for _, a in clean.tags if a.get("data-testid") == "save-button")
    assert save.get("data-action") == "save"


def test_slow_paint_needs_its_delay(api: Api, sandbox) -> None:
    response = api.request("PUT", "/__admin/faults", json={"faults": ["slow-paint"]},
                           headers={"X-Admin-Token": sandbox.admin_token})
    assert response.status_code == 422 and "slow-paint needs ms" in response.text
