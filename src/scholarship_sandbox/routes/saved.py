"""/api/v1/me/saved: any signed-in user's saved scholarships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..context import CurrentUser, count_analytics, problems, sandbox
from ..ids import utc_iso
from ..models import SavedItem, SavedList, ScholarshipRef
from ..problems import Problem

router = APIRouter(prefix="/api/v1/me/saved", tags=["saved"])
AUTH_ERRORS = (400, 401, 403, 413, 415, 422, 429)


@router.post("", status_code=201, response_model=SavedItem,
             responses={200: {"model": SavedItem, "description": "already saved"},
                        **problems(*AUTH_ERRORS, 404)})
def save(body: ScholarshipRef, request: Request, response: Response,
         user: CurrentUser) -> dict[str, Any]:
    ctx = sandbox(request)
    with ctx.storage.write() as conn:
        scholarship = conn.execute("SELECT title FROM scholarships WHERE id = ?",
                                   (body.scholarship_id,)).fetchone()
        if scholarship is None:
            raise Problem("not-found", f"No scholarship {body.scholarship_id}")
        existing = conn.execute("SELECT saved_at FROM saved WHERE user_id = ? AND"
                                " scholarship_id = ?", (user.user_id, body.scholarship_id)
                                ).fetchone()
        if existing is None:
            saved_at = utc_iso()
            conn.execute("INSERT INTO saved VALUES (?, ?, ?)",
                         (user.user_id, body.scholarship_id, saved_at))
        else:
            saved_at = existing["saved_at"]
            response.status_code = 200
    if existing is None:
        count_analytics(request, "save")
    return {"scholarship_id": body.scholarship_id, "title": scholarship["title"],
            "saved_at": saved_at}


@router.get("", response_model=SavedList, responses=problems(401, 403, 429))
def list_saved(request: Request, user: CurrentUser) -> dict[str, Any]:
    rows = sandbox(request).storage.all(
        "SELECT s.scholarship_id, c.title, s.saved_at FROM saved s JOIN scholarships c"
        " ON c.id = s.scholarship_id WHERE s.user_id = ? ORDER BY s.saved_at, s.scholarship_id",
        (user.user_id,))
    return {"items": [dict(row) for row in rows]}


@router.delete("/{scholarship_id}", status_code=204, response_class=Response,
               responses=problems(401, 403, 404, 422, 429))
def unsave(scholarship_id: str, request: Request,
           user: CurrentUser) -> Response:
    with sandbox(request).storage.write() as conn:
        deleted = conn.execute("DELETE FROM saved WHERE user_id = ? AND scholarship_id = ?",
                               (user.user_id, scholarship_id)).rowcount
    if not deleted:
        raise Problem("not-found", f"{scholarship_id} is not saved")
    return Response(status_code=204)
