"""The browser checks' fixtures and hooks, registered by synthmon.plugin.

Playwright is imported only when a check asks for `web`, so an API-only run pays nothing.
The flow's last word (`finish`: the last page's vitals and problems) runs at the end of the
check's call phase, so what it finds fails the check rather than erroring its teardown;
failure artifacts are kept before the fixtures close the browser context.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from synthmon.run_context import RUN_CONTEXT_KEY, RUN_DIR_KEY

if TYPE_CHECKING:
    from synthmon.browser.flow import BrowserFlow
    from synthmon.browser.host import BrowserHost

FLOW_KEY = pytest.StashKey["BrowserFlow"]()


@pytest.fixture(scope="session")
def browser_host() -> Iterator[BrowserHost]:
    """The process's Chromium, launched by the first browser check that needs it."""
    from synthmon.browser.host import BrowserHost

    host = BrowserHost()
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def web(request: pytest.FixtureRequest, browser_host: BrowserHost) -> Iterator[BrowserFlow]:
    """The check's browser: `with web.step("search", lands_on="/search"): ...`; see
    synthmon.browser.flow.BrowserFlow."""
    from synthmon.browser.flow import BrowserFlow, FlowEnv
    from synthmon.browser.records import CheckInfo
    from synthmon.browser.settings import BrowserSettings, BrowserSetupError
    from synthmon.check_ids import short_check_id
    from synthmon.suite.client import TargetDown
    from synthmon.suite.hooks import SUITE_KEY

    item, config = request.node, request.config
    suite = config.stash[SUITE_KEY]
    short = short_check_id(item)

    def settings() -> BrowserSettings:
        assert suite.policy is not None  # a run without one stops at configure
        return BrowserSettings.from_policy(suite.policy)

    def target() -> str:
        try:
            return str(suite.core.base_url())
        except TargetDown as exc:
            raise BrowserSetupError(f"the pages were not opened: {exc}") from exc

    def next_id() -> str:
        return str(suite.core.next_synthetic_id(config.stash[RUN_CONTEXT_KEY].run_id, short))

    run_dir = config.stash.get(RUN_DIR_KEY, None)  # None: the run writes no reports
    env = FlowEnv(settings=settings, target=target,
                  run_context=lambda: config.stash[RUN_CONTEXT_KEY], next_id=next_id,
                  record=suite.record,
                  artifacts_dir=run_dir / "browser" / short if run_dir else None,
                  ca_bundle=suite.ca_bundle)
    flow = BrowserFlow(browser_host, env, CheckInfo(item.nodeid, item.get_closest_marker(
        "critical") is not None))
    item.stash[FLOW_KEY] = flow
    try:
        yield flow
    finally:
        flow.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    result = yield
    flow = item.stash.get(FLOW_KEY, None)
    if flow is not None:
        flow.finish()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    flow = item.stash.get(FLOW_KEY, None)
    if flow is not None and report.when == "call":
        kept = flow.keep_artifacts(failed=report.failed)
        if kept:
            _attach(kept)
            report.user_properties.append(("synthmon.browser_artifacts",
                                           [str(path) for path in kept]))
    return report


def _attach(paths: list[Path]) -> None:
    try:
        import allure
    except ImportError:
        return
    kinds = {".png": allure.attachment_type.PNG, ".log": allure.attachment_type.TEXT}
    for path in paths:
        if path.suffix == ".zip":
            allure.attach.file(str(path), name="Playwright trace (playwright show-trace)",
                               extension="zip")
        else:
            allure.attach.file(str(path), name=path.name, attachment_type=kinds[path.suffix])
