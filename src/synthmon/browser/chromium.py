"""Starting Debian's Chromium under Playwright, kept off every network but the target's.

Playwright cannot download a browser of its own here, so it drives the system Chromium
(`executable_path`). Chromium's background services (component updates, sync, safe
browsing lists, field trials) would call Google's hosts at every start: the flags below
switch them off, and the page-level routing of BrowserFlow blocks anything a page asks for
outside the target.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Error, Playwright

from synthmon.browser.settings import CHROMIUM_VARIABLE, BrowserSettings, BrowserSetupError

LAUNCH_ARGS = (
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers' /dev/shm is small
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=OptimizationHints,MediaRouter,Translate,InterestFeedContentSuggestions",
    "--metrics-recording-only",
)


def find_chromium(settings: BrowserSettings) -> str:
    """The Chromium binary, or BrowserSetupError saying how to get one or leave the checks out."""
    wanted = settings.executable
    found = wanted if os.path.isabs(wanted) else shutil.which(wanted)
    if found and Path(found).is_file() and os.access(found, os.X_OK):
        return found
    raise BrowserSetupError(
        f"Chromium was not found at {wanted}: install Debian's chromium package (as root: "
        f"apt-get install chromium, which `make run` does), point {CHROMIUM_VARIABLE} at a "
        "Chromium binary, or leave the browser checks out with -m \"not browser\"")


def launch(playwright: Playwright, settings: BrowserSettings,
           extra_args: list[str] | None = None) -> Browser:
    executable = find_chromium(settings)
    try:
        return playwright.chromium.launch(
            executable_path=executable, headless=True, args=[*LAUNCH_ARGS, *(extra_args or [])],
            timeout=settings.launch_timeout_s * 1000)
    except Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrowserSetupError(
            f"Chromium at {executable} did not start ({first[:200]}): check that it runs "
            "(chromium --headless --no-sandbox --version), or leave the browser checks out "
            "with -m \"not browser\"") from exc
