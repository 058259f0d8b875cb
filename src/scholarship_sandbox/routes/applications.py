"""Applications and draft autosave (students only) with optimistic concurrency."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from ..auth import Principal
from ..context import (
    CurrentUser,
    count_analytics,
    fault,
    problems,
    require_role,
    sandbox,
    synthetic,
)
from ..ids import new_id, utc_iso
from ..models import Application, Draft, DraftIn, ScholarshipRef
from ..problems import Problem

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
ERRORS = (400, 401, 403, 404, 413, 415, 422, 429)


def student(request: Request, user: CurrentUser) -> Principal:
    require_role(user, request, "student")
    return user


Student = Annotated[Principal, Depends(student)]


def _owned(request: Request, user: Principal, application_id: str) -> dict[str, Any]:
    row = sandbox(request).storage.one(
        "SELECT a.id, a.scholarship_id, a.status, a.created_at, d.version, d.content,"
        " d.updated_at FROM applications a JOIN drafts d ON d.application_id = a.id"
        " WHERE a.id = ? AND a.user_id = ?", (application_id, user.user_id))
    if row is None:  # someone else's application is as absent as a missing one
        raise Problem("not-found", f"No application {application_id}")
    return dict(row)


def _draft(row: dict[str, Any]) -> dict[str, Any]:
    return {"application_id": row["id"], "version": row["version"],
            "content": json.loads(row["content"]), "updated_at": row["updated_at"]}


def _application(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "scholarship_id": row["scholarship_id"], "status": row["status"],
            "created_at": row["created_at"], "draft": _draft(row)}


@router.post("", status_code=201, response_model=Application, responses=problems(*ERRORS))
def begin(body: ScholarshipRef, request: Request,
          user: Student) -> dict[str, Any]:
    ctx = sandbox(request)
    application_id, now = new_id("app"), utc_iso()
    with ctx.storage.write() as conn:
        if conn.execute("SELECT 1 FROM scholarships WHERE id = ?",
                        (body.scholarship_id,)).fetchone() is None:
            raise Problem("not-found", f"No scholarship {body.scholarship_id}")
        conn.execute("INSERT INTO applications VALUES (?, ?, ?, 'draft', ?)",
                     (application_id, user.user_id, body.scholarship_id, now))
        conn.execute("INSERT INTO drafts VALUES (?, 0, '{}', ?)", (application_id, now))
    count_analytics(request, "application_started")
    return _application({"id": application_id, "scholarship_id": body.scholarship_id,
                         "status": "draft", "created_at": now, "version": 0, "content": "{}",
                         "updated_at": now})


@router.get("/{application_id}", response_model=Application, responses=problems(*ERRORS))
def read(application_id: str, request: Request,
         user: Student) -> dict[str, Any]:
    return _application(_owned(request, user, application_id))


@router.delete("/{application_id}", status_code=204, response_class=Response,
               responses=problems(*ERRORS))
def withdraw(application_id: str, request: Request,
             user: Student) -> Response:
    with sandbox(request).storage.write() as conn:
        changed = conn.execute("UPDATE applications SET status = 'withdrawn' WHERE id = ? AND"
                               " user_id = ?", (application_id, user.user_id)).rowcount
    if not changed:
        raise Problem("not-found", f"No application {application_id}")
    return Response(status_code=204)


@router.get("/{application_id}/draft", response_model=Draft, responses=problems(*ERRORS))
def read_draft(application_id: str, request: Request,
               user: Student) -> dict[str, Any]:
    return _draft(_owned(request, user, application_id))


@router.put("/{application_id}/draft", response_model=Draft,
            responses=problems(*ERRORS, 409))
def autosave(application_id: str, body: DraftIn, request: Request,
             user: Student) -> dict[str, Any]:
    ctx = sandbox(request)
    content = json.dumps(body.content, separators=(",", ":"), ensure_ascii=False)
    if len(content.encode()) > ctx.settings.max_draft_bytes:
        raise Problem("validation-error",
                      f"body.content: over {ctx.settings.max_draft_bytes} bytes serialised",
                      errors=[{"loc": "body.content", "msg": "too large"}])
    _owned(request, user, application_id)
    now = utc_iso()
    lose = fault(request, "lose-draft-writes")
    # The fault no-version-check: last write wins, a stale version overwrites newer content.
    expected = None if fault(request, "no-version-check") else body.version
    saved_version = body.version + 1
    with ctx.storage.write() as conn:
        current = conn.execute("SELECT version FROM drafts WHERE application_id = ?",
                               (application_id,)).fetchone()
        if lose and current is not None and current["version"] == body.version:
            updated = 1  # the fault: claim success, store nothing
        elif expected is None:
            updated = conn.execute(
                "UPDATE drafts SET content = ?, version = version + 1, updated_at = ?"
                " WHERE application_id = ?", (content, now, application_id)).rowcount
            saved_version = (current["version"] if current is not None else 0) + 1
        else:
            updated = conn.execute(
                "UPDATE drafts SET content = ?, version = version + 1, updated_at = ?"
                " WHERE application_id = ? AND version = ?",
                (content, now, application_id, body.version)).rowcount
        first_value = None
        if updated and not lose:
            first_value = conn.execute(
                "UPDATE users SET first_value_at = ? WHERE id = ? AND first_value_at IS NULL"
                " RETURNING created_ts", (now, user.user_id)).fetchone()
    if not updated:
        version = current["version"] if current is not None else 0
        raise Problem("version-conflict",
                      f"Draft is at version {version}, not {body.version}",
                      current_version=version)
    if first_value is not None and ctx.slo is not None:
        ctx.slo.time_to_value.labels("true" if synthetic(request) else "false").observe(
            max(0.0, time.time() - first_value["created_ts"]))
    return {"application_id": application_id, "version": saved_version,
            "content": body.content, "updated_at": now}
