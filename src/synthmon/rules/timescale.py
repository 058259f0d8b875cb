"""`synthmon rules --time-scale F`: every duration Prometheus waits for or looks back over,
multiplied by F, for end-to-end tests that replay an hour in minutes.

Range windows (`[15m]`) and `for:` are scaled; thresholds stay as they are, and so does
every ratio of two durations (a burn rate, a phase's share of the budget period), since both
sides scale alike. Record names and alert texts keep the policy's durations: a scaled file
is for tests, never for production, and says so in its header.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from synthmon import durations

_RANGE = re.compile(r"\[(\d+(?:ms|s|m|h|d|w))\]")


def _scaled(duration: str, factor: float) -> str:
    return durations.prometheus_form(durations.parse(duration) * factor)


def scale_durations(rules: dict[str, Any], factor: float) -> dict[str, Any]:
    """A copy of the rule file with every range window and `for:` multiplied by factor."""
    if not 0 < factor <= 1000:
        raise ValueError(f"--time-scale {factor:g}: must be above 0 and at most 1000")
    scaled = copy.deepcopy(rules)
    for group in scaled["groups"]:
        for rule in group["rules"]:
            rule["expr"] = _RANGE.sub(lambda m: f"[{_scaled(m.group(1), factor)}]", rule["expr"])
            if "for" in rule:
                rule["for"] = _scaled(rule["for"], factor)
    return scaled


def header(factor: float) -> str:
    return (f"# TIME-SCALED by {factor:g} (--time-scale): windows and `for:` are not the "
            "policy's. For tests only.\n")
