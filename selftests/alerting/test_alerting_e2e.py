"""From a detection to a person, end to end with real engines (support/alerting_stack.py):
three monitors in three regions, Prometheus with the generated rules (time-scaled through
`synthmon rules --time-scale`, never edited), Alertmanager with the generated configuration
delivering to receivers inside the test. Each scenario asserts what was delivered, to whom,
and what was not; one set of processes serves them all, each leaving it healthy.

To whom: `oncall` is the PagerDuty Events v2 receiver (a page is one incident, one dedup
key; updates to it are not new pages), `chat` the Slack-compatible one, `tickets` the
generic webhook.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.alerting_stack import FLOW, Stack, alerting_stack
from support.receivers import Delivery, describe

from synthmon.alerting import names
from synthmon.run_verdict_names import RUN_LATENCY_CHECK

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WAIT = 150.0  # the longest any one notification may take on a busy two-core machine
FAULT = "error:status=503,route=/api/v1/scholarships"  # the student flow's search answers 503


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with alerting_stack(tmp_path_factory.mktemp("alerting")) as running:
        running.wait_until(
            "every region's first completed run",
            lambda: running.regions_where(
                'synthmon_monitor_last_run_checks{outcome="passed"} > 0') == set(
                running.regions), WAIT)
        yield running


# -- reading what arrived ------------------------------------------------------------------
def details(d: Delivery) -> dict[str, str]:
    found: dict[str, str] = d.body["payload"]["custom_details"]
    return found


def pages(stack: Stack, since: float, alert: str, action: str = "trigger") -> list[Delivery]:
    return [d for d in stack.inbox.since(since, "oncall")
            if d.body.get("event_action") == action and details(d)["alert"] == alert]


def regions_of(d: Delivery) -> set[str]:
    return {r.strip() for r in details(d)["regions"].split(",") if r.strip()}


def chat_titles(stack: Stack, since: float) -> list[str]:
    return [str(a.get("title", "")) for d in stack.inbox.since(since, "chat")
            for a in d.body.get("attachments") or []]


def tickets(stack: Stack, since: float) -> list[dict[str, Any]]:
    return [alert for d in stack.inbox.since(since, "tickets") for alert in d.body["alerts"]]


def wait_page(stack: Stack, since: float, alert: str, regions: int = 1,
              action: str = "trigger") -> list[Delivery]:
    def enough(_: list[Delivery]) -> bool:
        got = pages(stack, since, alert, action)
        return bool(got) and len(set().union(*map(regions_of, got))) >= regions \
            if action == "trigger" else bool(got)

    stack.inbox.wait_for(f"a {action} of {alert} naming {regions} region(s)", enough, since,
                         WAIT)
    return pages(stack, since, alert, action)


def firing(stack: Stack, alert: str) -> set[str]:
    return stack.regions_where(f'ALERTS{{alertname="{alert}",alertstate="firing"}}')


def wait_closed(stack: Stack, since: float) -> None:
    """The failing check's incident closed for every receiver: resolved to on-call, and its
    RESOLVED line in the chat, which may come a group interval later (and would otherwise
    land in the next scenario)."""
    wait_page(stack, since, names.CHECK_FAILING, action="resolve")

    def closed(_: list[Delivery]) -> bool:
        return any(t.startswith(f"RESOLVED {names.CHECK_FAILING}")
                   for t in chat_titles(stack, since))

    stack.inbox.wait_for(f"the chat's RESOLVED {names.CHECK_FAILING}", closed, since, WAIT)


def quiet(stack: Stack) -> None:
    """Nothing of the synthetic monitor firing: the next scenario starts clean."""
    stack.wait_until("no synthetic alert firing", lambda: not stack.query(
        f'ALERTS{{component="{names.COMPONENT}",alertstate="firing"}}'), WAIT)


# -- the scenarios, in order --------------------------------------------------------------
def test_a_flow_broken_for_everyone_is_one_page_naming_the_check_and_every_region(
        stack: Stack) -> None:
    quiet(stack)
    assert stack.inbox.since(0) == [], "the healthy start delivered something"
    start = time.time()
    stack.sandbox.set_faults(FAULT)
    triggers = wait_page(stack, start, names.CHECK_FAILING, regions=len(stack.regions))
    incidents = {d.body["dedup_key"] for d in triggers}
    assert len(incidents) == 1, f"one incident, one page: {describe(triggers)}"
    first = triggers[0]
    assert len(regions_of(first)) >= 2, "it pages once the quorum agrees"
    assert set().union(*map(regions_of, triggers)) == set(stack.regions)
    assert details(first)["check"] == FLOW and details(first)["target"] == stack.sandbox.url
    assert details(first)["runbook"].endswith("RUNBOOK.md#syntheticcheckfailing")
    assert first.body["routing_key"] and first.body["payload"]["summary"].startswith(
        f"{names.CHECK_FAILING} [page]: {FLOW}")
    # the synthetic id of a failing run, really in the sandbox's access log (a 503 search)
    named = {pair.split("=", 1)[1] for d in triggers
             for pair in details(d)["synthetic_ids"].split(", ") if "=" in pair}
    logged = {line["synthetic_id"] for line in stack.sandbox.log_lines()
              if line.get("status") == 503 and line.get("route") == "/api/v1/scholarships"}
    assert named and named & logged, (named, sorted(logged)[:5])
    assert any(names.CHECK_FAILING in t and FLOW in t for t in chat_titles(stack, start))
    # A page inhibits its own ticket. (A region far behind the others for longer than the
    # policy's location_for may ticket before the quorum is reached: that is the rule.)
    assert [a for a in tickets(stack, first.at) if a["labels"]["check"] == FLOW] == []
    # fault off: the incident resolves, and nothing else was ever triggered
    stop = time.time()
    stack.sandbox.clear_faults()
    resolved = wait_page(stack, stop, names.CHECK_FAILING, action="resolve")
    assert {d.body["dedup_key"] for d in resolved} == incidents
    wait_closed(stack, stop)
    others = [d for d in stack.inbox.since(start, "oncall")
              if details(d)["alert"] != names.CHECK_FAILING]
    assert others == [], describe(others)


def test_a_silence_during_the_fault_holds_delivery_until_it_expires(stack: Stack) -> None:
    quiet(stack)
    # as on-call silences a check while working on it: every alert about it
    silence = stack.silence({"component": names.COMPONENT, "check": FLOW}, 600,
                            "working on the search outage")
    start = time.time()
    stack.sandbox.set_faults(FAULT)
    try:
        def suppressed() -> bool:
            held = [a for a in stack.alertmanager_alerts(silenced="true", active="false")
                    if a["labels"]["alertname"] == names.CHECK_FAILING
                    and silence in a["status"]["silencedBy"]]
            return len(held) >= 2
        stack.wait_until("the failing check's alerts held by the silence", suppressed, WAIT)
        time.sleep(8)  # group_wait and two group_intervals: nothing may go out
        assert pages(stack, start, names.CHECK_FAILING) == []
        assert stack.inbox.since(start) == [], describe(stack.inbox.since(start))
        assert firing(stack, names.CHECK_FAILING), "Prometheus still fires: only muted"
        ends = time.time() + 2
        stack.end_silence_in(silence, 2)
        triggers = wait_page(stack, ends, names.CHECK_FAILING, regions=2)
        assert all(d.at >= ends for d in triggers)
    finally:
        stop = time.time()
        stack.sandbox.clear_faults()
    wait_closed(stack, stop)


def test_a_target_nobody_reaches_is_one_page_and_the_per_check_pages_are_held_back(
        stack: Stack) -> None:
    quiet(stack)
    start = time.time()
    stack.stop_sandbox()
    try:
        triggers = wait_page(stack, start, names.TARGET_UNREACHABLE,
                             regions=len(stack.regions))
        assert len({d.body["dedup_key"] for d in triggers}) == 1
        assert details(triggers[0])["target"] == stack.sandbox.url
        # the check's own page fires in Prometheus, and Alertmanager holds it back
        def inhibited() -> bool:
            return len([a for a in stack.alertmanager_alerts(inhibited="true", active="false")
                        if a["labels"]["alertname"] == names.CHECK_FAILING
                        and a["status"]["inhibitedBy"]]) >= 2
        stack.wait_until("the per-check pages inhibited", inhibited, WAIT)
        assert pages(stack, start, names.CHECK_FAILING) == []
        assert tickets(stack, start) == []
        assert not any(names.CHECK_FAILING in t for t in chat_titles(stack, start)), \
            chat_titles(stack, start)
    finally:
        back = time.time()
        stack.restart_sandbox()
    wait_page(stack, back, names.TARGET_UNREACHABLE, action="resolve")
    stack.wait_until("the target reached from every region", lambda: stack.regions_where(
        "synthmon_target_up == 1") == set(stack.regions), WAIT)


def test_a_dropping_proxy_is_a_ticket_for_its_region_and_a_killed_monitor_pages(
        stack: Stack) -> None:
    quiet(stack)
    proxied = stack.proxied
    killed = next(r for r in stack.regions if r != proxied)
    start = time.time()
    stack.proxy.dropping.set()
    stack.kill_monitor(killed)
    try:
        down = wait_page(stack, start, names.MONITOR_DOWN)
        assert set().union(*map(regions_of, down)) == {killed}
        stack.inbox.wait_for(f"a ticket for {proxied}", lambda _: any(
            a["labels"]["alertname"] == names.PROBE_LOCATION_FAILING
            for a in tickets(stack, start)), start, WAIT)
        located = [a for a in tickets(stack, start)
                   if a["labels"]["alertname"] == names.PROBE_LOCATION_FAILING]
        assert {a["labels"]["region"] for a in located} == {proxied}
        # Behind the dropping proxy every run is target-unreachable (no call answered, no
        # run latency judged), and an unreachable region counts against every critical
        # check it exports: the flow, and the run-level latency verdict, which no run
        # there can pass either. Nothing else (the negative check is not critical).
        assert {a["labels"]["check"] for a in located} == {FLOW, RUN_LATENCY_CHECK}
        assert stack.proxy.dropped > 0
        paged = {details(d)["alert"] for d in stack.inbox.since(start, "oncall")}
        assert paged == {names.MONITOR_DOWN}, "one region's network is no page"
    finally:
        stack.proxy.dropping.clear()
        # the credentials removed from the killed region's monitor, for the next scenario;
        # in `finally`, so that a failure here is not also the next scenario's
        stack.restart_monitor(killed, env={"SYNTH_STUDENT_PASSWORD": ""})


def test_a_monitor_whose_credentials_were_removed_pages_checks_skipped(stack: Stack) -> None:
    region = next(r for r in stack.regions if r != stack.proxied)
    monitor = stack.monitors[region]
    assert monitor.env.get("SYNTH_STUDENT_PASSWORD") == "", \
        f"the previous scenario restarts the {region} monitor with the credential removed"
    start = monitor.started
    skipped = wait_page(stack, start, names.CHECKS_SKIPPED)
    assert set().union(*map(regions_of, skipped)) == {region}
    assert details(skipped[0])["check"] == FLOW
    wait_page(stack, start, names.MONITOR_DOWN, action="resolve")
    assert firing(stack, names.CHECKS_SKIPPED) == {region}
    assert not firing(stack, names.CHECK_FAILING), "a skip is not a failure either"
