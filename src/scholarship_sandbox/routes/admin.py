"""/__admin/faults: switch faults at run time. Loopback clients with the token only;
everyone else gets the same 404 as an unknown route, so the route does not advertise itself."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request

from ..context import sandbox
from ..faults import CERTIFICATE_KINDS, FaultSpecError, parse_specs
from ..models import FaultsIn, FaultsOut
from ..problems import Problem

_LOOPBACK = {"127.0.0.1", "::1"}


def _guard(request: Request) -> None:
    token = request.headers.get("x-admin-token", "")
    client = request.client.host if request.client else ""
    expected = sandbox(request).settings.admin_token
    if client not in _LOOPBACK or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem("not-found", f"No resource at {request.url.path}")


router = APIRouter(prefix="/__admin", include_in_schema=False, dependencies=[Depends(_guard)])


@router.get("/faults", response_model=FaultsOut)
def get_faults(request: Request) -> dict[str, list[str]]:
    return {"faults": sandbox(request).faults.specs()}


@router.put("/faults", response_model=FaultsOut)
def put_faults(body: FaultsIn, request: Request) -> dict[str, list[str]]:
    try:
        parsed = parse_specs(body.faults)
    except FaultSpecError as exc:
        raise Problem("validation-error", str(exc),
                      errors=[{"loc": "body.faults", "msg": str(exc)}]) from None
    at_start = sorted({fault.kind for fault in parsed} & CERTIFICATE_KINDS)
    if at_start:
        message = (f"{', '.join(at_start)} acts on the certificate made at start: pass it to "
                   f"synthmon sandbox --tls --fault")
        raise Problem("validation-error", message, errors=[{"loc": "body.faults",
                                                             "msg": message}])
    sandbox(request).faults.replace(parsed)
    return {"faults": sandbox(request).faults.specs()}


@router.delete("/faults", response_model=FaultsOut)
def clear_faults(request: Request) -> dict[str, list[str]]:
    sandbox(request).faults.replace([])
    return {"faults": []}
