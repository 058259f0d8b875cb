"""Public search and details."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from fastapi import APIRouter, Query, Request

from ..context import count_analytics, problems, sandbox
from ..models import Scholarship, SearchOut
from ..problems import Problem

router = APIRouter(prefix="/api/v1/scholarships", tags=["scholarships"])

_COLUMNS = ("s.id, s.title, s.provider_id, p.name AS provider_name, s.amount_value, s.currency,"
            " s.deadline, s.tags")


def summary(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"],
            "provider": {"id": row["provider_id"], "name": row["provider_name"]},
            "amount": {"value": row["amount_value"], "currency": row["currency"]},
            "deadline": row["deadline"], "tags": json.loads(row["tags"])}


@router.get("", response_model=SearchOut, responses=problems(422, 429))
def search(request: Request, q: str = Query("", max_length=200), page: int = Query(1, ge=1),
           per_page: int = Query(20, ge=1, le=50)) -> dict[str, Any]:
    ctx = sandbox(request)
    where = ""
    params: tuple[str, ...] = ()
    terms = q.lower().split()
    if terms:
        where = "WHERE " + " AND ".join("s.search_text LIKE ?" for _ in terms)
        params = tuple(f"%{t}%" for t in terms)
    total = ctx.storage.one(f"SELECT count(*) AS n FROM scholarships s {where}", params)
    rows = ctx.storage.all(
        f"SELECT {_COLUMNS} FROM scholarships s JOIN providers p ON p.id = s.provider_id"
        f" {where} ORDER BY s.id LIMIT ? OFFSET ?", (*params, per_page, (page - 1) * per_page))
    count_analytics(request, "search")
    return {"items": [summary(r) for r in rows], "page": page, "per_page": per_page,
            "total": total["n"] if total else 0}


@router.get("/{scholarship_id}", response_model=Scholarship,
            responses=problems(404, 422, 429))
def details(scholarship_id: str, request: Request) -> dict[str, Any]:
    ctx = sandbox(request)
    row = ctx.storage.one(
        f"SELECT {_COLUMNS}, s.description, s.eligibility, s.created_at FROM scholarships s"
        " JOIN providers p ON p.id = s.provider_id WHERE s.id = ?", (scholarship_id,))
    if row is None:
        raise Problem("not-found", f"No scholarship {scholarship_id}")
    count_analytics(request, "scholarship_view")
    return {**summary(row), "description": row["description"],
            "eligibility": json.loads(row["eligibility"]), "created_at": row["created_at"]}
