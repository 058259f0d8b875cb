"""Latency budgets per endpoint, from canary-policy.yaml: ok, degraded or over the hard limit."""

from __future__ import annotations

from synthmon.policy import Budget, Policy
from synthmon.samples import BudgetVerdict


class Budgets:
    """The policy's budgets, looked up once per endpoint (a call should not re-merge dicts)."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._cache: dict[tuple[str, str], Budget] = {}

    def for_endpoint(self, method: str, route: str) -> Budget:
        key = (method, route)
        budget = self._cache.get(key)
        if budget is None:
            budget = self._cache[key] = self._policy.budget(method, route)
        return budget


def verdict(total_ms: float, budget: Budget) -> BudgetVerdict:
    """Over budget_ms is degraded (reported, counted); over hard_limit_ms fails the check."""
    if total_ms > budget.hard_limit_ms:
        return "over_limit"
    if total_ms > budget.budget_ms:
        return "degraded"
    return "ok"
