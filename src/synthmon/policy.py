"""canary-policy.yaml: loading it, and typed access to the parts every stage reads.

The policy is the single source of truth; code never repeats a threshold it holds.
Where it is found: the explicit path, else $SYNTH_POLICY, else ./canary-policy.yaml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_POLICY_FILE = "canary-policy.yaml"


class PolicyError(ValueError):
    """The policy file is missing or malformed; the message names the field and the reason."""


@dataclass(frozen=True, slots=True)
class Budget:
    budget_ms: float
    hard_limit_ms: float
    critical: bool


@dataclass(frozen=True, slots=True)
class Policy:
    path: Path
    data: dict[str, Any]

    @property
    def client(self) -> dict[str, Any]:
        return dict(self.data.get("client", {}))

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("targets", {}))

    def budget(self, method: str, route: str) -> Budget:
        budgets = self.data.get("budgets", {})
        entry = {**budgets.get("default", {}), **budgets.get("endpoints", {}).get(
            f"{method.upper()} {route}", {})}
        return Budget(
            budget_ms=float(entry.get("budget_ms", 150)),
            hard_limit_ms=float(entry.get("hard_limit_ms", 1000)),
            critical=bool(entry.get("critical", False)),
        )

    def phase(self, name: str) -> dict[str, Any]:
        phases = self.data.get("phases", {})
        if name not in phases:
            raise PolicyError(f"phases.{name}: no such phase (known: {', '.join(phases)})")
        return dict(phases[name])


def find_policy_file(path: str | os.PathLike[str] | None = None) -> Path:
    candidate = Path(path or os.environ.get("SYNTH_POLICY") or DEFAULT_POLICY_FILE)
    if not candidate.is_file():
        raise PolicyError(
            f"{candidate}: policy file not found (pass --policy or set SYNTH_POLICY)"
        )
    return candidate.resolve()


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    return _load(find_policy_file(path))


@cache
def _load(path: Path) -> Policy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: the policy must be a mapping at the top level")
    return Policy(path=path, data=data)
