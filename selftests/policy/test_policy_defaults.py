"""The policy's defaults live in its schema only: the loader fills every optional setting in,
and no stage keeps a default of its own (which could point the other way, as a gate reading
`rate_bound` with a fallback of `wilson` while the policy says exact once did)."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthmon.gate.decide import evaluate
from synthmon.gate.model import GateInput
from synthmon.policy import Policy, load_policy

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "canary-policy.schema.json").read_text(encoding="utf-8"))


def _defaults(node: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every property name the schema gives a default, with that default."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and "default" in sub:
                found[name] = sub["default"]
        for value in node.values():
            _defaults(value, found)
    elif isinstance(node, list):
        for value in node:
            _defaults(value, found)
    return found


DEFAULTS = _defaults(SCHEMA, {})


def _write(tmp_path: Path, data: dict[str, Any]) -> Policy:
    (tmp_path / "canary-policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False),
                                                 encoding="utf-8")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas", dirs_exist_ok=True)
    return load_policy(tmp_path / "canary-policy.yaml")


def _shipped() -> dict[str, Any]:
    return yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))


def test_a_policy_giving_only_what_is_required_gets_every_default(tmp_path: Path) -> None:
    data = _shipped()
    for section in ("client", "gate"):
        for name in [n for n in data[section] if n in DEFAULTS]:
            del data[section][name]
    for entry in [data["budgets"]["default"], *data["budgets"]["endpoints"].values()]:
        entry.pop("critical", None)
    for criterion in data["criteria"]:
        for name in ("min_runs", "markers", "early_rollback"):
            criterion.pop(name, None)
        if criterion["source"] == "synthetic":
            criterion.pop("promql", None)
    policy = _write(tmp_path, data)
    for section in ("client", "gate"):
        props = SCHEMA["properties"][section]["properties"]
        for name, schema in props.items():
            if "default" in schema:
                assert policy.data[section][name] == schema["default"], f"{section}.{name}"
    assert all(e["critical"] is False for e in policy.data["budgets"]["endpoints"].values())
    assert policy.critical_endpoints() == []
    for criterion in policy.criteria:
        assert (criterion.min_runs, criterion.markers, criterion.early_rollback) == (0, (), False)
        if criterion.source == "synthetic":
            assert criterion.promql == {}


def test_the_shipped_policy_keeps_what_it_says(tmp_path: Path) -> None:
    policy = load_policy(REPO / "canary-policy.yaml")
    assert policy.gate["rate_bound"] == _shipped()["gate"]["rate_bound"] == "exact"
    assert policy.criterion("latency_p95_regression").min_runs == 8
    assert policy.criterion("http_5xx_rate").early_rollback is True


def _five_xx_bound(policy: Policy) -> dict[str, Any]:
    from gate.factory import make_samples  # selftests/gate: constructed cohorts

    inp = GateInput(canary=make_samples(2400, "canary", 2, error_rate=0.002),
                    control=make_samples(2400, "control", 3), elapsed_s=900, phase="25",
                    traffic_share=0.25, phase_duration_s=3600, window_s=900)
    decision = evaluate(policy, inp, only={"http_5xx_rate"})
    return next(c for c in decision.criteria if c.id == "http_5xx_rate").bound


def test_the_gate_bounds_rates_as_the_policy_says(tmp_path: Path) -> None:
    exact = _five_xx_bound(load_policy(REPO / "canary-policy.yaml"))
    data = _shipped()
    data["gate"]["rate_bound"] = "wilson"
    wilson = _five_xx_bound(_write(tmp_path, data))
    assert exact["confidence"] == wilson["confidence"]
    assert exact["upper"] != pytest.approx(wilson["upper"], rel=1e-6), "rate_bound is ignored"


# --- no default in code ----------------------------------------------------------------
def defaults_in_code(files: list[Path]) -> list[str]:
    """`.get("<a setting the schema defaults>", fallback)` calls: a second default."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get" and len(node.args) == 2
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in DEFAULTS):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_stage_repeats_a_default_of_the_schema() -> None:
    files = [p for p in (REPO / "src" / "synthmon").rglob("*.py")]
    assert defaults_in_code(files) == []


def test_the_default_checker_can_fail(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text('pace = policy.gate.get("pacing_s", 1.0)\n', encoding="utf-8")
    assert defaults_in_code([planted]) == ['planted.py:1: policy.gate.get(\'pacing_s\', 1.0)']
