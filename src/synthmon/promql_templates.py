"""The policy's PromQL templates and how their placeholders are filled.

A criterion's queries in canary-policy.yaml carry three placeholders: `{cohort}` (a regex:
canary, control or both), `{window}` (a PromQL range such as 15m or 900s) and `{route}` (a
regex of the critical route templates). A query answers one series per cohort. The gate
sends it for one cohort, `synthmon rules` records it for both at once, both through
`render`, so the two read exactly the same series.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

COHORTS = ("canary", "control")
# `{cohort}` is a regex (the templates match `cohort=~"{cohort}"`): both cohorts at once.
BOTH_COHORTS = "|".join(COHORTS)


def render(template: str, cohort: str, window: str, route: str = ".*") -> str:
    """Fill the three placeholders only: PromQL's own braces are left alone."""
    return (template.replace("{cohort}", cohort).replace("{window}", window)
            .replace("{route}", route))


def route_regex(routes: Iterable[str]) -> str:
    """A PromQL-safe regex matching exactly these route templates."""
    escaped = []
    for route in sorted(set(routes)):
        # Braces of the templates become classes, so no engine mistakes them for repeats;
        # dots are the only other regex character route templates contain.
        escaped.append(re.sub(r"[{}.]", lambda m: f"[{m.group(0)}]", route))
    return "|".join(escaped) or ".*"


def output_labels(template: str) -> tuple[str, ...]:
    """The labels a query's result keeps besides the cohort: those of its outermost
    `by (...)` clause, less the histogram's `le` (a quantile consumes it)."""
    match = re.search(r"\bby\s*\(([^)]*)\)", template)
    if match is None:
        return ()
    return tuple(label for part in match.group(1).split(",")
                 if (label := part.strip()) and label not in ("le", "cohort"))
