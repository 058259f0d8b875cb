"""Browser checks: the B2C pages in Debian's Chromium, driven by Playwright.

A check (tests/browser) asks for the `web` fixture, a BrowserFlow, and walks the user's
flow step by step; each step is timed against its budget, every page's Web Vitals are
measured in the page, and the page must log no error, throw nothing, fail no request to the
target and call no other host. Steps and vitals become Samples like HTTP calls do.
"""
