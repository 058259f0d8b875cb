"""BrowserFlow, the `web` fixture: a check walks the user's flow through it, step by step.

    with web.step("save"):
        web.click("save-button")
        web.expect("save-status", "the save to be acknowledged", state="saved")

A step is timed from its first action to its expected result and judged against its budget
in the policy (browser.steps). Before a step the flow reads the Web Vitals of the page it is
on; when the step leaves that page, they become the page's vitals, judged against
browser.vitals. After every step the page's problems (PageGuard) fail the check. Nothing
starts before the first step: the browser is launched then, so a missing Chromium fails the
check itself, with one sentence, in its call phase.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from playwright.sync_api import BrowserContext, Error, Locator, Page, expect

from synthmon.browser.artifacts import Artifacts
from synthmon.browser.emulation import new_context, new_page
from synthmon.browser.guard import PageGuard, path_of
from synthmon.browser.host import BrowserHost
from synthmon.browser.records import CheckInfo, browser_sample
from synthmon.browser.settings import BrowserSettings, BrowserSetupError, Device
from synthmon.browser.trust import pinned_keys
from synthmon.browser.visits import Visit, document_here
from synthmon.policy import Budget
from synthmon.privacy import scrub_text
from synthmon.run_context import RunContext
from synthmon.samples import STEP_FAILED, STEP_TIMEOUT, Sample

_tracer = trace.get_tracer("synthmon.browser")


@dataclass(frozen=True)
class FlowEnv:
    """What the flow needs from the suite: kept to plain callables."""

    settings: Callable[[], BrowserSettings]
    target: Callable[[], str]
    run_context: Callable[[], RunContext]
    next_id: Callable[[], str]
    record: Callable[[Sample], None]
    artifacts_dir: Path | None
    ca_bundle: str | None  # the run's private CA, or None for the public roots


class BrowserFlow:
    def __init__(self, host: BrowserHost, env: FlowEnv, check: CheckInfo) -> None:
        self.host, self.env, self.check = host, env, check
        self.settings: BrowserSettings | None = None
        self.device: Device | None = None
        self.base = ""
        self.guard: PageGuard | None = None
        self.artifacts: Artifacts | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._visit: Visit | None = None
        self._step = "start"
        self._step_id = ""
        self._deadline = 0.0  # perf_counter() at which the running step hits its hard limit
        self._where = "on about:blank"  # the running step's page, for failure messages
        self._landing: str | None = None  # the page template the running step lands on

    # -- start (lazily, in the check's call phase) -------------------------------------------
    @property
    def page(self) -> Page:
        if self._page is None:
            self._start()
        assert self._page is not None
        return self._page

    def _start(self) -> None:
        try:
            self.settings = settings = self.env.settings()
            self.device = device = settings.device(self.env.run_context().device)
            self.base = self.env.target().rstrip("/")
            pins = pinned_keys(self.base, self.env.ca_bundle, settings.action_timeout_s)
            browser = self.host.browser(settings, pins)
        except BrowserSetupError as exc:
            pytest.fail(f"{self.check.nodeid}: {exc}", pytrace=False)
        self._context = context = new_context(browser, settings, device)
        self.guard = guard = PageGuard(self.base, self.env.next_id, self._page_now)
        if settings.artifacts != "never":
            self.artifacts = Artifacts(context, settings.artifacts, self.env.artifacts_dir)
        self._page = new_page(context, device, guard)

    # -- what a check writes -------------------------------------------------------------------
    @property
    def route(self) -> str:
        """The template of the page the flow is on (about:blank before the first step)."""
        return self._visit.route if self._visit else "about:blank"

    def _page_now(self) -> str:
        """The template of the page showing at this moment: the one the flow is on, or the
        one the running step is landing on once the browser has moved there."""
        path = path_of(self._page.url) if self._page is not None else ""
        if self._visit is not None and path == self._visit.path:
            return self._visit.route
        return self._landing or path or "about:blank"

    def param(self, template: str, name: str) -> str | None:
        """The value of `{name}` in the page's URL when it is a `template` page, else None:
        `web.param("/applications/{application_id}/draft", "application_id")`."""
        if self._page is None:
            return None
        parts = re.split(r"\{([a-z_]+)\}", template)  # text, name, text, name, ...
        pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                          for i, part in enumerate(parts))
        match = re.fullmatch(pattern, path_of(self._page.url))
        return match.group(name) if match and name in match.groupdict() else None

    def url(self, path: str, **params: str) -> str:
        """The target's URL of `path`, tagged synthetic (the page passes the tag on)."""
        return f"{self.base}{path}?{urlencode({**params, 'e2e': '1'})}"

    def open(self, path: str, *, step: str, lands_on: str, **params: str) -> None:
        """A step that types the URL of a page, as a user arriving from elsewhere does."""
        with self.step(step, lands_on=lands_on):
            self.page.goto(self.url(path, **params))

    def by_test_id(self, test_id: str) -> Locator:
        return self.page.get_by_test_id(test_id)

    def click(self, test_id: str) -> None:
        self.by_test_id(test_id).click()

    def fill(self, test_id: str, text: str) -> None:
        self.by_test_id(test_id).fill(text)

    def type(self, test_id: str, text: str) -> None:
        """Key by key, as a person types: every key is an interaction INP measures."""
        self.by_test_id(test_id).press_sequentially(text)

    def expect(self, test_id: str, expected: str, *, state: str | None = None,
               text: str | None = None, value: str | None = None) -> Locator:
        """Wait until the element shows what the flow expects: its data-state, a text it
        contains, an input's value, or else that it is visible; at most until the running
        step's hard limit (or the action timeout). `expected` says it in the user's words,
        for the failure message."""
        assert self.settings is not None
        locator = self.by_test_id(test_id).first  # of a list (search results), the first
        left_ms = (self._deadline - time.perf_counter()) * 1000
        timeout = max(250.0, min(self.settings.action_timeout_s * 1000, left_ms))
        try:
            if state is not None:
                expect(locator).to_have_attribute("data-state", state, timeout=timeout)
            elif text is not None:
                expect(locator).to_contain_text(text, timeout=timeout)
            elif value is not None:
                expect(locator).to_have_value(value, timeout=timeout)
            else:
                expect(locator).to_be_visible(timeout=timeout)
            return locator
        except AssertionError:
            pass  # failed below, outside the handler: Playwright's own text adds nothing
        self._fail(f"step {self._step} {self._where} ended, but expected {expected} within "
                   f"{timeout:.0f} ms ({test_id} {self._shows(locator, state, value)})",
                   self._step_id)
        raise AssertionError("unreachable")  # pytest.fail raised

    def ensure(self, condition: object, expected: str) -> None:
        """Fail the check unless `condition` holds, saying what the flow expected of the page
        it is on: `web.ensure(sid, "the search page to list a second scholarship")`."""
        if not condition:
            self._fail(f"{self.route} showed, but expected {expected}", self._step_id)

    def _shows(self, locator: Locator, state: str | None, value: str | None) -> str:
        try:
            if not locator.count():
                return "is not on the page"
            if state is not None:
                return f"is in state {locator.get_attribute('data-state', timeout=1000)!r}"
            if value is not None:
                shown = locator.input_value(timeout=1000)
            else:
                shown = locator.inner_text(timeout=1000)
        except Error:
            return "could not be read"
        return f"shows {scrub_text(shown[:80])!r}"

    # -- steps ---------------------------------------------------------------------------------
    @contextmanager
    def step(self, name: str, *, lands_on: str | None = None) -> Iterator[Page]:
        page = self.page
        assert self.settings is not None
        if lands_on is not None:
            self._snapshot()  # the step leaves this page: what its vitals are so far
        budget = self.settings.step(name)
        self._landing = lands_on
        self._step, self._step_id = name, self.env.next_id()
        self._deadline = time.perf_counter() + budget.hard_limit_ms / 1000
        self._where = f"to {lands_on}" if lands_on else f"on {self.route}"
        if self.guard is not None:
            self.guard.note(f"--- step {name} {self._where} [synthetic id {self._step_id}]")
        attributes = {"synthmon.step": name, "synthetic.id": self._step_id,
                      "synthmon.page.from": self.route}
        with _tracer.start_as_current_span(f"browser step {name}", kind=SpanKind.INTERNAL,
                                           attributes=attributes) as span:
            trace_id, span_id = _ids(span)
            started_at, t0 = time.time(), time.perf_counter()
            failure: BaseException | None = None
            try:
                yield page
            except BaseException as exc:
                ms = (time.perf_counter() - t0) * 1000
                self._record_step(name, ms, budget, trace_id, span_id, started_at,
                                  self._visit.status if self._visit else None,
                                  error_type=STEP_TIMEOUT if _timed_out(exc) else STEP_FAILED)
                failure = exc
            else:
                ms = (time.perf_counter() - t0) * 1000
        if failure is not None:
            self._raise_problem()  # a script error explains a stuck step best
            if isinstance(failure, Error):
                first = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
                self._fail(f"step {name} {self._where} failed after {ms:.0f} ms: "
                           f"{first[:200]}", self._step_id)
            raise failure
        here = document_here(page)
        left = self._visit
        arrived = left is None or here.get("documentId") != left.document_id
        status = here.get("status") if arrived or left is None else left.status
        sample = self._record_step(name, ms, budget, trace_id, span_id, started_at, status)
        over = None
        if arrived:
            self._visit = Visit(lands_on or path_of(page.url), path_of(page.url),
                                str(here.get("documentId") or ""), here.get("status"),
                                self._step_id, trace_id, span_id)
            over = self._close_visit(left) if left is not None else None
            self._settle()
        self._raise_problem()
        if over:
            self._fail(over, left.synthetic_id if left else self._step_id)
        if sample.budget_verdict == "over_limit":
            self._fail(f"step {name} took {ms:.0f} ms, over its hard limit of "
                       f"{budget.hard_limit_ms:.0f} ms (budget {budget.budget_ms:.0f} ms, "
                       f"on {self.route})", self._step_id)

    def finish(self) -> None:
        """The end of the check: the last page's vitals, and anything that went wrong since."""
        if self._page is None or self._visit is None:
            return
        self._snapshot()
        over = self._close_visit(self._visit)
        self._raise_problem()
        if over:
            self._fail(over, self._visit.synthetic_id)

    def _record_step(self, name: str, ms: float, budget: Budget, trace_id: str, span_id: str,
                     started_at: float, status: int | None,
                     error_type: str | None = None) -> Sample:
        sample = browser_sample(
            self.env.run_context(), self.check, kind="step", name="STEP", route=name, value=ms,
            unit="ms", budget=budget, status=status,
            synthetic_id=self._step_id, trace_id=trace_id, span_id=span_id,
            started_at=started_at, error_type=error_type)
        self.env.record(sample)
        return sample

    # -- pages and their vitals ----------------------------------------------------------------
    def _snapshot(self) -> None:
        """Read the vitals of the page the flow is on, before a step that may leave it."""
        if self._visit is not None and self._page is not None:
            self._visit.read(self._page)

    def _settle(self) -> None:
        """Let the page it arrived at finish loading before the user acts on it, as a person
        waits for a page (not timed: the step ended when its result showed), and read its
        vitals once loaded (what shifts or paints at load belongs to the page)."""
        with contextlib.suppress(Error):
            self.page.wait_for_load_state("load")
        self._snapshot()

    def _close_visit(self, visit: Visit) -> str | None:
        """Record the visit's vitals as Samples; what went over a hard limit, or None."""
        assert self.settings is not None

        def make(name: str, unit: str, value: float, budget: Budget, span_id: str) -> Sample:
            return browser_sample(
                self.env.run_context(), self.check, kind="vital", name=name,
                route=visit.route, value=value, unit=unit, budget=budget, status=visit.status,
                synthetic_id=visit.synthetic_id, trace_id=visit.trace_id, span_id=span_id)

        return visit.close(self.settings.vitals, make, self.env.record)

    # -- failing -------------------------------------------------------------------------------
    def _raise_problem(self) -> None:
        problem = self.guard.worst() if self.guard else None
        if problem is None:
            return
        more = len(self.guard.problems) - 1 if self.guard else 0
        also = f" ({more} more problems in the console log)" if more > 0 else ""
        self._fail(f"{problem.page} {problem.text}{also}",
                   problem.synthetic_id or self._step_id)

    def _fail(self, text: str, synthetic_id: str) -> None:
        pytest.fail(f"{self.check.nodeid}: {text} [synthetic id {synthetic_id}]",
                    pytrace=False)

    # -- the end -------------------------------------------------------------------------------
    def keep_artifacts(self, failed: bool) -> list[Path]:
        if self.artifacts is None or self._page is None:
            return []
        return self.artifacts.keep(self._page, self.guard.console if self.guard else [],
                                   failed=failed, name=self.check.nodeid)

    def close(self) -> None:
        if self.artifacts is not None:
            self.artifacts.discard()
        if self._context is not None:
            with contextlib.suppress(Error):  # the browser may be gone already
                self._context.close()
            self._context = self._page = None


def _ids(span: Any) -> tuple[str, str]:
    context = span.get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x"), format(context.span_id, "016x")
    return secrets.token_hex(16), secrets.token_hex(8)


def _timed_out(exc: BaseException) -> bool:
    """A Playwright timeout, or a wait of `expect` that ran to the step's hard limit."""
    return "Timeout" in type(exc).__name__ or " within " in str(exc)
