"""GET /api/v1/provider/dashboard (providers only, read-only)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request

from ..context import CurrentUser, problems, require_role, sandbox
from ..ids import utc_iso
from ..models import Dashboard
from ..problems import Problem

router = APIRouter(prefix="/api/v1/provider", tags=["provider"])


@router.get("/dashboard", response_model=Dashboard, responses=problems(401, 403, 405, 429))
def dashboard(request: Request, user: CurrentUser) -> dict[str, Any]:
    require_role(user, request, "provider")
    storage = sandbox(request).storage
    provider = storage.one("SELECT p.id, p.name FROM users u JOIN providers p"
                           " ON p.id = u.provider_id WHERE u.id = ?", (user.user_id,))
    if provider is None:
        if user.role == "provider":
            raise Problem("not-found", "This account has no provider profile")
        # no-rbac fault: a student sees the seeded provider's dashboard, as a broken
        # role check would show it.
        provider = storage.one("SELECT id, name FROM providers ORDER BY id LIMIT 1")
        assert provider is not None
    rows = storage.all(
        "SELECT s.id, s.title, s.deadline,"
        " (SELECT count(*) FROM saved v WHERE v.scholarship_id = s.id) AS saves,"
        " (SELECT count(*) FROM applications a WHERE a.scholarship_id = s.id) AS applications"
        " FROM scholarships s WHERE s.provider_id = ? ORDER BY s.id", (provider["id"],))
    today = datetime.now(UTC).date()
    items = [{"id": r["id"], "title": r["title"],
              "status": "open" if date.fromisoformat(r["deadline"]) >= today else "closed",
              "saves": r["saves"], "applications": r["applications"]} for r in rows]
    return {"provider": {"id": provider["id"], "name": provider["name"]},
            "scholarships": items,
            "totals": {"scholarships": len(items), "saves": sum(i["saves"] for i in items),
                       "applications": sum(i["applications"] for i in items)},
            "generated_at": utc_iso()}
