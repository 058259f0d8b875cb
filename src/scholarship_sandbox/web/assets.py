"""The front end's static files: read once at start, served with their exact media type
(the edge sends nosniff, so a wrong type would be refused by the browser)."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import Response

from ..problems import Problem

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml"}
_ASSETS = {path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
           for path in sorted(STATIC.iterdir()) if path.suffix in MEDIA_TYPES}


def asset_response(name: str) -> Response:
    found = _ASSETS.get(name)
    if found is None:
        raise Problem("not-found", f"No static file {name}")
    body, media_type = found
    return Response(body, media_type=media_type,
                    headers={"Cache-Control": "public, max-age=300"})
