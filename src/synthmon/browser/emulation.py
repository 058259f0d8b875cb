"""A fresh browser context and page for one check, as the run's device: viewport, scale,
touch, user agent, and the CPU and network throttling of the profile (through CDP, which
Playwright's own options lack); the vitals script in every document and the page guard on
every request and console line."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

from synthmon.browser.guard import PageGuard
from synthmon.browser.settings import BrowserSettings, Device

VITALS_JS = (Path(__file__).parent / "vitals.js").read_text(encoding="utf-8")


def new_context(browser: Browser, settings: BrowserSettings, device: Device) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": device.width, "height": device.height},
        device_scale_factor=device.device_scale_factor, is_mobile=device.mobile,
        has_touch=device.touch, locale="en-US", timezone_id="UTC",
        user_agent=device.user_agent_for(settings.user_agent, browser.version),
        service_workers="block")
    context.set_default_timeout(settings.action_timeout_s * 1000)
    context.add_init_script(VITALS_JS)
    return context


def new_page(context: BrowserContext, device: Device, guard: PageGuard) -> Page:
    context.route("**/*", guard.route)
    page = context.new_page()
    page.on("console", guard.on_console)
    page.on("pageerror", guard.on_page_error)
    page.on("response", guard.on_response)
    page.on("requestfailed", guard.on_request_failed)
    cdp = context.new_cdp_session(page)
    if device.cpu_slowdown > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": device.cpu_slowdown})
    if device.network is not None:
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", device.network.cdp())
    return page
