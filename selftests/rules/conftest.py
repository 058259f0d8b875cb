"""Fixtures of the rules selftests: the repository's policy and the rule file built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synthmon.policy import Policy, load_policy
from synthmon.rules import build_rules, to_yaml
from synthmon.rules.model import RuleInputs, read_inputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(REPO / "canary-policy.yaml")


@pytest.fixture(scope="session")
def inputs(policy: Policy) -> RuleInputs:
    return read_inputs(policy)


@pytest.fixture(scope="session")
def rules(policy: Policy) -> dict[str, Any]:
    return build_rules(policy)


@pytest.fixture(scope="session")
def rule_file(rules: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "synthmon-rules.yml"
    path.write_text(to_yaml(rules), encoding="utf-8")
    return path
