"""What a page may not do while a check drives it, and the tagging of every request it sends.

Every request of the browser context passes through `route`: a request to the target gets
its own X-Synthetic-Id and the check's traceparent (the target logs both), and must carry
`e2e=1` when it is a page or an API call (the page passes the synthetic tagging on, so
analytics can exclude browser traffic too); a request to any other host is blocked and
becomes a problem. Console errors, uncaught exceptions and failed requests to the target are
problems too. The console log of the page is kept for the failure artifacts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from opentelemetry import propagate
from playwright.sync_api import ConsoleMessage, Error, Request, Response, Route

from synthmon.privacy import scrub_text

# Requests that must carry the synthetic tagging: the pages and the API calls they make.
TAGGED_TYPES = frozenset({"document", "fetch", "xhr"})
# problem kind -> how bad: the first problem of the lowest rank names a failure
RANKS = {"exception": 0, "other-host": 1, "untagged": 2, "request": 3, "console": 4}


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # a key of RANKS
    page: str  # the page template it happened on
    text: str  # already scrubbed
    synthetic_id: str


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def path_of(url: str) -> str:
    return urlsplit(url).path or "/"


@dataclass
class PageGuard:
    target: str  # the target's origin, scheme://host:port
    next_id: Callable[[], str]  # the next synthetic id of the running check
    page_route: Callable[[], str]  # the page template the check is on now
    problems: list[Problem] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: int = 0
    _ids: dict[Request, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.target = origin(self.target)
        self._started = time.monotonic()

    def _problem(self, kind: str, text: str, synthetic_id: str = "") -> None:
        self.problems.append(Problem(kind, self.page_route(), scrub_text(text) or "",
                                     synthetic_id))

    def note(self, line: str) -> None:
        """A line of the flow's own (the step it starts) between the page's messages."""
        self._log(line)

    def _log(self, line: str) -> None:
        self.console.append(f"{time.monotonic() - self._started:8.3f}s {scrub_text(line)}")

    # -- the context's handlers ------------------------------------------------------------
    def route(self, route: Route, request: Request) -> None:
        url = request.url
        if not url.startswith(("http://", "https://")):
            route.continue_()
            return
        if origin(url) != self.target:
            self._problem("other-host", f"requested another host than the target: "
                                        f"{origin(url)} ({request.resource_type} {path_of(url)},"
                                        " blocked)")
            self._log(f"[blocked] {request.method} {origin(url)}{path_of(url)}")
            route.abort("blockedbyclient")
            return
        synthetic_id = self.next_id()
        self._ids[request] = synthetic_id
        self.requests += 1
        if request.resource_type in TAGGED_TYPES and ("e2e", "1") not in parse_qsl(
                urlsplit(url).query):
            self._problem("untagged", f"{request.method} {path_of(url)} was sent without e2e=1 "
                                      "(the page dropped the synthetic tagging)", synthetic_id)
        headers = {**request.headers, "x-synthetic-id": synthetic_id}
        propagate.inject(headers)  # the check's span: the target's log joins the trace
        with contextlib.suppress(Error):  # the page went away meanwhile: nothing to send
            route.continue_(headers=headers)

    def on_response(self, response: Response) -> None:
        request = response.request
        if origin(request.url) != self.target or response.status < 400:
            return
        self._problem("request", f"{request.method} {path_of(request.url)} answered "
                                 f"{response.status} {response.status_text}".rstrip(),
                      self._ids.get(request, ""))

    def on_request_failed(self, request: Request) -> None:
        if origin(request.url) != self.target:
            return  # blocked by route(), already a problem
        reason = request.failure or "failed"
        if "ERR_ABORTED" in reason and request.resource_type not in TAGGED_TYPES:
            return  # an asset the browser stopped loading because the page moved on
        self._problem("request", f"{request.method} {path_of(request.url)} failed: {reason}",
                      self._ids.get(request, ""))

    def on_console(self, message: ConsoleMessage) -> None:
        location = message.location
        where = f" ({path_of(location.get('url', ''))}:{location.get('lineNumber', '?')})" \
            if location.get("url") else ""
        self._log(f"[{message.type}] {message.text}{where}")
        if message.type == "error":
            self._problem("console", f"logged a console error: {message.text}{where}")

    def on_page_error(self, error: Error) -> None:
        self._log(f"[uncaught] {error.name}: {error.message}")
        self._problem("exception", f"threw an uncaught exception: {error.name}: {error.message}")

    # -- reading ------------------------------------------------------------------------------
    def worst(self) -> Problem | None:
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: RANKS[p.kind])
