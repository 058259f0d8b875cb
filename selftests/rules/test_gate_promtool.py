"""promtool unit tests of the gate's alerts: a rollback verdict pages once per criterion that
tripped (and still pages when it names none), a hold or a go pages nobody; a gate that stops
evaluating pages once past the stale time it exports, and one nobody scrapes pages after the
same tolerance (the absent() form); evaluations that keep failing open a ticket, a failure
now and then does not.

The series are what one `synthmon gate serve` exposes on /metrics, one scrape a minute; the
severities, counts, windows and the stale time come from the policy (alerting.gate, gate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from promtool_support import Scenario, gauge, promtool_test_doc, run_promtool_test

from synthmon.gate.serve.metrics import CRITERION_VERDICTS, VERDICTS
from synthmon.rules import gate
from synthmon.rules.model import RuleInputs

MINUTES = 30
PHASE = "5"
SERVER = {"job": "synthmon-gate", "instance": "gate:8787"}


class Gate(Scenario):
    """One gate serve's series; `verdicts` gives the served verdict minute by minute."""

    def verdicts(self, per_minute: list[str], criteria: dict[str, list[str]]) -> Gate:
        for verdict in VERDICTS:
            self.add(gate.VERDICT, {**SERVER, "phase": PHASE, "verdict": verdict},
                     " ".join("1" if v == verdict else "0" for v in per_minute))
        for criterion, states in criteria.items():
            for verdict in CRITERION_VERDICTS:
                self.add(gate.CRITERION_VERDICT,
                         {**SERVER, "phase": PHASE, "criterion": criterion, "verdict": verdict},
                         " ".join("1" if v == verdict else "0" for v in states))
        return self

    def timing(self, inputs: RuleInputs, ages: list[float], errors: list[int]) -> Gate:
        self.add(gate.AGE, SERVER, " ".join(f"{a:g}" for a in ages))
        self.add(gate.STALE_AFTER, SERVER, gauge(inputs.alerting.gate.stale_after_s, MINUTES))
        self.add(gate.ERRORS, SERVER, " ".join(str(e) for e in errors))
        return self


def until(change_at: int, before: str, after: str) -> list[str]:
    return [before if m < change_at else after for m in range(MINUTES + 1)]


def _rollback(inputs: RuleInputs) -> list[Scenario]:
    tripped = Gate("a rollback verdict pages once per criterion that tripped", MINUTES)
    tripped.verdicts(until(5, "go", "rollback"), {
        "http_5xx_rate": until(5, "go", "rollback"),
        "no_answer_rate": until(5, "go", "rollback"),
        "latency_p95_critical": until(5, "go", "go"),
    })
    tripped.expect(4, gate.ROLLBACK)
    tripped.expect(6, gate.ROLLBACK, *({**SERVER, "phase": PHASE, "verdict": "rollback",
                                        "criterion": c}
                                       for c in ("http_5xx_rate", "no_answer_rate")))
    unnamed = Gate("a rollback verdict without a criterion series still pages", MINUTES)
    unnamed.verdicts(until(5, "hold", "rollback"), {})
    unnamed.expect(6, gate.ROLLBACK, {**SERVER, "phase": PHASE, "verdict": "rollback",
                                      "criterion": gate.NO_CRITERION})
    held = Gate("a hold, or a stale verdict served as error, pages no rollback", MINUTES)
    held.verdicts(until(10, "hold", "error"), {"http_5xx_rate": until(10, "hold", "hold")})
    held.expect(MINUTES, gate.ROLLBACK)
    return [tripped, unnamed, held]


def _stale(inputs: RuleInputs) -> list[Scenario]:
    stale_after = inputs.alerting.gate.stale_after_s
    hung_at = 5
    # evaluated every minute (age 30 s at each scrape), then no evaluation after hung_at
    ages = [30 if m < hung_at else 30 + 60 * (m - hung_at + 1) for m in range(MINUTES + 1)]
    crossing = next(m for m, age in enumerate(ages) if age > stale_after)
    assert crossing < MINUTES, "the scenario must outlast the policy's stale time"
    hangs = Gate("a gate that stops evaluating pages once past the stale time it exports",
                 MINUTES)
    hangs.verdicts(until(crossing, "go", "error"), {}).timing(inputs, ages, [0] * (MINUTES + 1))
    hangs.expect(crossing - 1, gate.STALE)
    hangs.expect(crossing, gate.STALE, {**SERVER, "reason": "stale"})
    tolerance = int(inputs.alerting.gate.stale_after_s // 60)
    never = Scenario("no gate scraped at all pages after the same tolerance (absent)", MINUTES)
    never.add("scholarshipai_build_info", {"cohort": "canary", "job": "scholarshipai"},
              gauge(1, MINUTES))
    never.expect(tolerance - 1, gate.STALE)  # Prometheus just started: no page yet
    never.expect(tolerance + 1, gate.STALE, {"reason": "absent"})
    return [hangs, never]


def _failing(inputs: RuleInputs) -> list[Scenario]:
    watch = inputs.alerting.gate
    window = int(watch.failing_window.removesuffix("m"))
    count = watch.failing_evaluations
    assert window < MINUTES and count >= 2, "the scenarios are written for a window in minutes"
    fails = Gate("every evaluation failing opens a ticket once the policy's count is reached",
                 MINUTES)
    errors = [max(0, m - 5) for m in range(MINUTES + 1)]  # one failed evaluation a minute
    fails.verdicts(until(6, "go", "error"), {}).timing(inputs, [30] * (MINUTES + 1), errors)
    fails.expect(5 + count - 1, gate.FAILING)
    fails.expect(5 + count, gate.FAILING, dict(SERVER))  # exactly the count
    now_and_then = Gate("fewer failed evaluations than the count in any window: no ticket",
                        MINUTES)
    spacing = window // (count - 1) + 1  # count - 1 failures at most in any window
    sparse = [m // spacing for m in range(MINUTES + 1)]
    now_and_then.verdicts(until(0, "go", "go"), {}).timing(
        inputs, [30] * (MINUTES + 1), sparse)
    now_and_then.expect(MINUTES, gate.FAILING)
    healthy = Gate("a gate evaluating on time with go verdicts: nothing", MINUTES)
    healthy.verdicts(until(0, "go", "go"), {"http_5xx_rate": until(0, "go", "go")})
    healthy.timing(inputs, [30] * (MINUTES + 1), [0] * (MINUTES + 1))
    for name in (gate.ROLLBACK, gate.STALE, gate.FAILING):
        healthy.expect(MINUTES, name)
    return [fails, now_and_then, healthy]


GROUPS = {"rollback": _rollback, "stale": _stale, "failing": _failing}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_gate_alerts(group: str, inputs: RuleInputs, rules: dict[str, Any], rule_file: Path,
                     tmp_path: Path) -> None:
    doc = promtool_test_doc(rules, rule_file, GROUPS[group](inputs))
    result = run_promtool_test(tmp_path / f"gate-{group}.test.yml", doc)
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"


def test_every_gate_rule_has_a_scenario_that_fires_it(rules: dict[str, Any],
                                                      inputs: RuleInputs) -> None:
    """Each form of each alert (GateStale's two by their reason label)."""
    fired = {(alertname, alert.get("reason")) for make in GROUPS.values()
             for s in make(inputs) for _, alertname, alerts in s.expectations
             for alert in alerts}
    raised = {(rule["alert"], rule["labels"].get("reason")) for group in rules["groups"]
              for rule in group["rules"] if rule.get("labels", {}).get("component") == "gate"}
    assert raised == fired, f"gate rules no scenario fires: {sorted(raised - fired)}"


def test_the_gate_alerts_read_what_gate_serve_exposes() -> None:
    """The series names the rules read are the ones gate serve's collector writes."""
    from synthmon.gate.serve.metrics import exposition, registry_for
    from synthmon.gate.serve.state import ServeState

    text = exposition(registry_for(ServeState(served_phase=PHASE, phases=[PHASE],
                                              stale_after_s=480.0))).decode()
    for series in (gate.VERDICT, gate.AGE, gate.STALE_AFTER, gate.ERRORS):
        assert f"\n{series}" in f"\n{text}", f"gate serve exposes no {series}"
    assert f"# TYPE {gate.CRITERION_VERDICT} gauge" in text
