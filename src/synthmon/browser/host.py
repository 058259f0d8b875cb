"""One Chromium per pytest process (each xdist worker has its own), launched when the first
browser check needs it and closed at the end of the session."""

from __future__ import annotations

from playwright.sync_api import Browser, Playwright, sync_playwright

from synthmon.browser.chromium import launch
from synthmon.browser.settings import BrowserSettings, BrowserSetupError


class BrowserHost:
    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._error: str | None = None

    def browser(self, settings: BrowserSettings, extra_args: list[str] | None = None) -> Browser:
        """The running Chromium; a launch that failed once is not retried for every check.
        `extra_args` count at the first launch (they follow from the run's one target)."""
        if self._error is not None:
            raise BrowserSetupError(self._error)
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        try:
            self._browser = launch(self._playwright, settings, extra_args or [])
        except BrowserSetupError as exc:
            self._error = str(exc)
            raise
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
