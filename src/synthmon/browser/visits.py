"""The pages a flow visits: one Visit per document, its Web Vitals read in the page
(vitals.js), and when the flow leaves it, the vitals as Samples judged against the policy."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error, Page

from synthmon.browser.records import format_value
from synthmon.browser.settings import VITALS
from synthmon.policy import Budget
from synthmon.samples import Sample

_READ = "window.__synthmonVitals ? window.__synthmonVitals.read() : null"
_HERE = "window.__synthmonVitals ? window.__synthmonVitals.here() : null"
# (vital's name, unit, value, budget, span id) -> its Sample
MakeVital = Callable[[str, str, float, Budget, str], Sample]


@dataclass
class Visit:
    """One document the flow was on: its page template, what the vitals read last, and the
    step that arrived there (its synthetic id and trace are the vitals' own)."""

    route: str
    path: str  # the raw path it was opened at
    document_id: str
    status: int | None
    synthetic_id: str
    trace_id: str
    span_id: str
    vitals: dict[str, Any] | None = None

    def read(self, page: Page) -> None:
        """Read the vitals so far, while the document is still this one."""
        try:
            vitals = page.evaluate(_READ)
        except Error:
            return  # the document is going away: the last reading stands
        if vitals and vitals.get("documentId") == self.document_id:
            self.vitals = vitals

    def close(self, budgets: dict[str, Budget], make: MakeVital,
              record: Callable[[Sample], None]) -> str | None:
        """Record the visit's vitals; what went over a hard limit, or None."""
        over: list[str] = []
        for name, unit in VITALS.items():
            value = (self.vitals or {}).get(name)
            if value is None:
                continue
            budget = budgets[name]
            sample = make(name.upper(), unit, float(value), budget, secrets.token_hex(8))
            record(sample)
            if sample.budget_verdict == "over_limit":
                over.append(f"{name.upper()} of {self.route} was "
                            f"{format_value(float(value), unit)}, over its hard limit of "
                            f"{format_value(budget.hard_limit_ms, unit)} (budget "
                            f"{format_value(budget.budget_ms, unit)})")
        return "; ".join(over) or None


def document_here(page: Page) -> dict[str, Any]:
    """The document the page shows now: its id (from vitals.js) and HTTP status."""
    try:
        return dict(page.evaluate(_HERE) or {})
    except Error:
        return {}
