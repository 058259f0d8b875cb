"""allure-results/ for every run: labels, a step per HTTP call of a flow, scrubbed attachments.

allure-pytest does the writing; we point it at reports/<run-id>/allure-results/ and add what
it cannot know: epic/feature/story/severity from our markers, one step per call (each call
is a stage of the flow: search, details, save, ...), and the run's environment.properties.
Each step carries two attachments, the request and the response as synthmon.suite.exchange
describes them (method, route, URL without query secrets, allow-listed headers, the body's
shape hash, never a body, token, cookie, password or email), plus the call's verdicts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from synthmon.outcomes import AREAS
from synthmon.privacy import scrub_text, scrub_value
from synthmon.run_context import RunContext
from synthmon.samples import Sample
from synthmon.suite.exchange import Exchange

EPIC = "ScholarshipAI synthetic monitor"
_FEATURES = {
    "health": "Health and readiness",
    "b2c": "Student flow (B2C)",
    "auth": "Auth and security",
    "provider": "Provider dashboard",
    "payments": "Payments",
    "negative": "Negative paths",
    "contract": "Contract promises (ids, quotas, analytics, HTTPS)",
}


def configure(config: pytest.Config, results_dir: Path) -> None:
    """Make allure-pytest write to results_dir unless the user chose --alluredir.

    Runs at session start, after every pytest_configure: if allure-pytest already configured
    itself without a directory, register its listener the way it would have.
    """
    # allure-pytest's options exist only when its plugin is loaded: `-p no:allure_pytest`
    # leaves it unconfigured, and its listener would then crash the run.
    if not hasattr(config.option, "attach_capture") \
            or getattr(config.option, "allure_report_dir", None):
        return
    config.option.allure_report_dir = str(results_dir)
    if config.pluginmanager.get_plugin("allure_listener") is not None:
        return
    import allure_commons
    from allure_commons.logger import AllureFileLogger
    from allure_pytest.listener import AllureListener
    from allure_pytest.plugin import cleanup_factory

    listener = AllureListener(config)
    config.pluginmanager.register(listener, "allure_listener")
    allure_commons.plugin_manager.register(listener)
    config.add_cleanup(cleanup_factory(listener))
    file_logger = AllureFileLogger(str(results_dir), False)
    allure_commons.plugin_manager.register(file_logger)
    config.add_cleanup(cleanup_factory(file_logger))


def label_item(item: pytest.Item) -> None:
    """epic / feature / story / severity from the check's markers (worker side)."""
    import allure

    names = {m.name for m in item.iter_markers()}
    area = next((a for a in AREAS if a in names), None)
    allure.dynamic.epic(EPIC)
    if area:
        allure.dynamic.feature(_FEATURES.get(area, area))
    module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    allure.dynamic.story(module.removeprefix("test_").replace("_", " "))
    if "critical" in names:
        allure.dynamic.severity(allure.severity_level.CRITICAL)
    elif "negative" in names:
        allure.dynamic.severity(allure.severity_level.MINOR)
    else:
        allure.dynamic.severity(allure.severity_level.NORMAL)


def exchange_views(sample: Sample,
                   exchange: Exchange | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, response) as an Allure step shows them: the client's scrubbed views of
    the exchange (no bodies: shape hashes) with the call's ids and verdicts."""
    request: dict[str, Any] = exchange.request_view() if exchange is not None else {
        "method": sample.method, "route": sample.route, "sent": False}
    request.update(synthetic_id=sample.synthetic_id, trace_id=sample.trace_id,
                   span_id=sample.span_id, attempts=sample.attempts)
    answered = exchange.response_view() if exchange is not None else None
    response: dict[str, Any] = answered or {"status": None, "answered": False}
    response.update(
        expected_status=sample.expected_status, error_type=sample.error_type,
        total_ms=sample.total_ms, ttfb_ms=sample.ttfb_ms, schema_ok=sample.schema_ok,
        schema_error=sample.schema_error, schema_drift=list(sample.schema_drift),
        phases=sample.phases, budget_ms=sample.budget_ms,
        budget_verdict=sample.budget_verdict)
    return request, response


def step_for_sample(sample: Sample, exchange: Exchange | None = None) -> None:
    """One Allure step per call, named like the flow stage it is, with the scrubbed request
    and response attached (scrubbed once more here, so a slip upstream stays in-process)."""
    import allure

    if not sample.is_http:
        _browser_step(sample)
        return
    status = sample.status if sample.status is not None else (sample.error_type or "no response")
    title = f"{sample.method} {sample.route} -> {status} in {sample.total_ms:.1f} ms"
    request, response = exchange_views(sample, exchange)
    with allure.step(title):
        for part, view in (("request", request), ("response", response)):
            allure.attach(json.dumps(scrub_value(view), indent=2),
                          name=f"{part} {sample.synthetic_id}",
                          attachment_type=allure.attachment_type.JSON)


def _browser_step(sample: Sample) -> None:
    """A browser step (`step save: 312 ms`) or a page's vital (`LCP /search: 820 ms`), with
    its budget verdict; no request or response to attach."""
    import allure

    value = f"{sample.total_ms:.3f}" if sample.unit == "score" else f"{sample.total_ms:.0f} ms"
    title = (f"step {sample.route}: {value}" if sample.kind == "step"
             else f"{sample.method} {sample.route}: {value}")
    if sample.budget_verdict != "ok":
        title += f" ({sample.budget_verdict.replace('_', ' ')})"
    with allure.step(title):
        allure.attach(json.dumps(scrub_value({
            "kind": sample.kind, "synthetic_id": sample.synthetic_id, "trace_id": sample.trace_id,
            "value": sample.total_ms, "unit": sample.unit, "budget": sample.budget_ms,
            "hard_limit": sample.hard_limit_ms, "budget_verdict": sample.budget_verdict,
            "page_status": sample.status, "error_type": sample.error_type}), indent=2),
            name=f"{sample.kind} {sample.synthetic_id}",
            attachment_type=allure.attachment_type.JSON)


def write_environment(results_dir: Path, ctx: RunContext) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    rows = {
        "run_id": ctx.run_id, "target": scrub_text(ctx.target), "target_name": ctx.target_name,
        "environment": ctx.environment, "cohort": ctx.cohort, "region": ctx.region,
        "device": ctx.device, "build_id": ctx.build_id, "git_sha": ctx.git_sha,
    }
    text = "".join(f"{k}={str(v).replace(chr(10), ' ')}\n" for k, v in rows.items())
    (results_dir / "environment.properties").write_text(text)


def scrub_results(results_dir: Path) -> int:
    """The last net: scrub every string in every result and text attachment allure-pytest
    wrote. It writes exception messages and traces as they are; a check's assertion could
    have echoed a value from a response. The JSON attachments are the request and response
    views of step_for_sample, scrubbed as they were written, and are left as they are.
    Returns how many files changed.
    """
    changed = 0
    if not results_dir.is_dir():
        return 0
    for path in results_dir.iterdir():
        if not path.is_file() or path.suffix not in (".json", ".txt", ".properties") \
                or path.name.endswith("-attachment.json"):
            continue
        try:
            original = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        cleaned = _scrub_file_text(original, as_json=path.suffix == ".json")
        if cleaned == original:
            continue
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(cleaned)
        os.replace(tmp, path)
        changed += 1
    return changed


def _scrub_file_text(text: str, as_json: bool) -> str:
    if as_json:
        try:
            data = json.loads(text)
        except ValueError:
            pass
        else:
            cleaned = scrub_value(data)
            return text if cleaned == data else json.dumps(cleaned)
    return scrub_text(text) or ""
