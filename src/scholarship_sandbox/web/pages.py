"""The pages: search, details (save, begin an application), log in, the draft editor,
pricing, checkout and its confirmation. Each reads through the same handlers and storage
as the API, so a page shows exactly what the API would answer."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ..context import current_user, sandbox
from ..problems import SLUGS, Problem
from ..routes import payments, scholarships
from .assets import asset_response
from .render import Page, render

router = APIRouter(include_in_schema=False)


def _error(request: Request, problem: Problem) -> Response:
    title = SLUGS.get(problem.slug, (problem.status, "Error"))[1]
    return render(request, "error.html", status=problem.status, title=title,
                  detail=problem.detail)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


def _to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(Page(request, "login").url("/login", next=here), status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(Page(request, "home").url("/search"), status_code=303)


@router.get("/search")
def search_page(request: Request, q: str = Query("", max_length=200),
                page: int = Query(1, ge=1, le=1000)) -> Response:
    # Without a query the page lists what there is, as the API does for an empty q.
    results = scholarships.search(request, q=q, page=page, per_page=20)
    return render(request, "search.html", q=q, results=results)


@router.get("/scholarships/{scholarship_id}")
def details_page(scholarship_id: str, request: Request) -> Response:
    try:
        scholarship = scholarships.details(scholarship_id, request)
    except Problem as problem:
        return _error(request, problem)
    return render(request, "details.html", s=scholarship)


@router.get("/login")
def login_page(request: Request,
               next_path: str | None = Query(None, alias="next", max_length=500)) -> Response:
    return render(request, "login.html", next_path=safe_next(next_path))


@router.get("/applications/{application_id}/draft")
def draft_page(application_id: str, request: Request) -> Response:
    # The editor reads and autosaves the draft through the API from the browser.
    return render(request, "draft.html", application_id=application_id)


@router.get("/pricing")
def pricing_page(request: Request) -> Response:
    return render(request, "pricing.html", plans=payments.pricing(request)["plans"])


@router.get("/checkout")
def checkout_page(request: Request, plan: str = "") -> Response:
    chosen = next((p for p in payments.pricing(request)["plans"] if p["id"] == plan), None)
    if chosen is None:
        return _error(request, Problem("not-found", f"No plan {plan or '(none given)'}"))
    return render(request, "checkout.html", plan=chosen)


@router.get("/checkout/{checkout_id}/confirmation")
def confirmation_page(checkout_id: str, request: Request) -> Response:
    try:
        user = current_user(request)
    except Problem as problem:
        return _to_login(request) if problem.status == 401 else _error(request, problem)
    row = sandbox(request).storage.one(
        "SELECT c.id, c.status, c.amount_value, c.currency, c.validated_at, p.name AS plan"
        " FROM checkouts c JOIN plans p ON p.id = c.plan_id WHERE c.id = ? AND c.user_id = ?",
        (checkout_id, user.user_id))
    if row is None:
        return _error(request, Problem("not-found", f"No checkout {checkout_id}"))
    return render(request, "confirmation.html", checkout=dict(row))


@router.get("/static/{asset}")
def static_asset(asset: str) -> Response:
    return asset_response(asset)
