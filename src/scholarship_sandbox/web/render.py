"""Rendering a page: the templates, the page's own CSP, the synthetic tagging passed on to
every link, and the web faults (docs/faults.md) that bend what a page contains."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..context import sandbox

HERE = Path(__file__).parent
THIRD_PARTY_BEACON = "https://beacon.thirdparty.example/collect.gif"
_THIRD_PARTY_ORIGIN = "https://beacon.thirdparty.example"
# Scripts, styles and images only from the site itself, no inline script or style
# ('unsafe-inline' never), API calls to the same origin, forms posting nowhere else.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'{img}; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
WEB_FAULTS = ("dead-save-button", "script-error", "layout-shift", "slow-paint",
              "third-party-call")

_env = Environment(loader=FileSystemLoader(HERE / "templates"),
                   autoescape=select_autoescape(("html",)), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
for _name in _env.list_templates():  # compiled at start, not on a first visitor's clock
    _env.get_template(_name)


@dataclass(frozen=True)
class PageFaults:
    """The web faults in effect for this page (each rolled once per request)."""

    on: frozenset[str] = frozenset()
    paint_delay_ms: int = 0

    def __contains__(self, kind: object) -> bool:
        return kind in self.on


@dataclass
class Page:
    request: Request
    name: str
    faults: PageFaults = field(default_factory=PageFaults)

    @property
    def tagged(self) -> bool:
        """Opened with ?e2e=1: every link, form and API call of the page carries it on."""
        return self.request.query_params.get("e2e") == "1"

    def url(self, path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v is not None}
        if self.tagged:
            query["e2e"] = "1"
        return f"{path}?{urlencode(query)}" if query else path


def page_faults(request: Request) -> PageFaults:
    faults = sandbox(request).faults
    if not faults:
        return PageFaults()
    on = frozenset(kind for kind in WEB_FAULTS if faults.on(kind, request.scope))
    slow = faults.active("slow-paint", request.scope)
    return PageFaults(on, int(slow.number("ms")) if slow else 0)


def render(request: Request, template: str, *, status: int = 200,
           **values: Any) -> HTMLResponse:
    page = Page(request, template.removesuffix(".html"), page_faults(request))
    html = _env.get_template(template).render(page=page, faults=page.faults,
                                              third_party_beacon=THIRD_PARTY_BEACON, **values)
    img = f" {_THIRD_PARTY_ORIGIN}" if "third-party-call" in page.faults else ""
    return HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": PAGE_CSP.format(img=img),
        # pages show a signed-in user's data: never from a shared cache
        "Cache-Control": "no-store",
    })
