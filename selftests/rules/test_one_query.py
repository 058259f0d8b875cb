"""One query per criterion: the gate sends the policy's PromQL and `synthmon rules` records
exactly it, so a change in the policy moves both, and they cannot disagree."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from synthmon.gate.decide import evaluate
from synthmon.gate.model import GateInput
from synthmon.gate.prometheus import PrometheusClient
from synthmon.policy import Policy, load_policy
from synthmon.rules import build_rules

REPO = Path(__file__).resolve().parents[2]
OLD, NEW = "scholarshipai_signup_completed_total", "scholarshipai_signup_finished_total"


class AnsweringPrometheus(PrometheusClient):
    """Answers every query with 1000 and keeps what was sent."""

    def query(self, promql: str, window_s: float | None = None
              ) -> tuple[float | None, dict[str, str]]:
        self.sent.append(promql)
        return 1000.0, {}


def _changed_policy(tmp_path: Path) -> Policy:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))
    signup = next(c for c in data["criteria"] if c["id"] == "signup_completion")
    assert OLD in signup["promql"]["numerator"]
    signup["promql"]["numerator"] = signup["promql"]["numerator"].replace(OLD, NEW)
    (tmp_path / "canary-policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False),
                                                 encoding="utf-8")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    return load_policy(tmp_path / "canary-policy.yaml")


def _gate_queries(policy: Policy, window_s: float) -> list[str]:
    prometheus = AnsweringPrometheus("http://127.0.0.1:9")
    inp = GateInput(canary=[], control=[], elapsed_s=window_s, phase="25", traffic_share=0.25,
                    phase_duration_s=3600, window_s=window_s)
    evaluate(policy, inp, prometheus, only={"signup_completion"})
    return prometheus.sent


def _for_both_cohorts(queries: list[str]) -> set[str]:
    """The gate asks one cohort at a time and writes its window in seconds; the rules record
    the same query for both cohorts, the window in its largest unit (900s is 15m)."""
    both = 'cohort=~"canary|control"'
    return {q.replace('cohort=~"canary"', both).replace('cohort=~"control"', both)
            .replace("[900s]", "[15m]") for q in queries}


def _recorded(rules: dict[str, Any]) -> set[str]:
    return {rule["expr"] for group in rules["groups"] for rule in group["rules"]
            if "record" in rule}


def test_the_rules_record_exactly_the_queries_the_gate_sends(policy: Policy) -> None:
    sent = _gate_queries(policy, 900)
    assert len(sent) == 4, sent  # numerator and denominator, canary and control
    assert all(q.count('cohort=~"canary"') + q.count('cohort=~"control"') == 1
               for q in sent), sent
    # The gate writes its window in seconds; the same window given to the rules.
    assert _for_both_cohorts(sent) <= _recorded(build_rules(policy, window="900s"))


def test_a_changed_policy_query_changes_the_gate_and_the_rules(policy: Policy,
                                                               tmp_path: Path) -> None:
    changed = _changed_policy(tmp_path)
    before, after = _gate_queries(policy, 900), _gate_queries(changed, 900)
    assert any(OLD in q for q in before) and not any(NEW in q for q in before)
    assert any(NEW in q for q in after) and not any(OLD in q for q in after)
    recorded = _recorded(build_rules(changed, window="900s"))
    assert _for_both_cohorts(after) <= recorded
    assert not any(OLD in expr for expr in recorded), "the rules still read the old family"
    assert any(OLD in expr for expr in _recorded(build_rules(policy, window="900s")))
