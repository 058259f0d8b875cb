"""Which criteria a phase can judge: the phase's scope is a pytest marker expression (phase 5
runs `-m "not provider and not payments"`), and a criterion whose data comes only from
checks or routes carrying certain markers (policy: `markers`) has no data while the scope
excludes them. Such a criterion is 'not applicable in this phase', said with the reason,
rather than a hold that no amount of waiting could lift."""

from __future__ import annotations

import itertools
import re

from _pytest.mark.expression import Expression  # the -m grammar itself, so both agree

from synthmon.policy import Criterion

_KEYWORDS = {"and", "or", "not"}
_NAME = re.compile(r"[A-Za-z_][\w.-]*")


def _matches(expression: Expression, markers: set[str]) -> bool:
    # pytest >= 8.4 passes keyword arguments to the matcher; older ones only the name.
    return expression.evaluate(lambda name, /, **_kw: name in markers)


def marker_excluded(scope: str, marker: str) -> bool:
    """True when no check carrying `marker` can be selected by `scope`, whatever other
    markers it carries: every assignment of the names the expression mentions, with
    `marker` set, evaluates to False. (Conservative: a criterion is only set aside when
    the scope certainly starves it.)"""
    if not scope.strip():
        return False
    expression = Expression.compile(scope)
    others = sorted({n for n in _NAME.findall(scope) if n not in _KEYWORDS} - {marker})
    for values in itertools.product((False, True), repeat=len(others)):
        present = {marker} | {name for name, on in zip(others, values, strict=True) if on}
        if _matches(expression, present):
            return False
    return True


def out_of_scope_reason(criterion: Criterion, scope: str, phase: str) -> str | None:
    """Why the phase cannot judge this criterion, or None when it can."""
    if not criterion.markers:
        return None
    if all(marker_excluded(scope, m) for m in criterion.markers):
        return (f"not applicable in phase {phase}: its data comes only from checks and routes "
                f"marked {', '.join(criterion.markers)}, which the phase's scope `{scope}` "
                "excludes (no canary traffic reaches them yet)")
    return None


def scope_problem(scope: str) -> str | None:
    """Why a phase's scope is not a pytest marker expression, or None when it is one."""
    if not scope.strip():
        return None
    try:
        Expression.compile(scope)
    except SyntaxError as exc:  # what pytest's -m grammar raises
        return f"`{scope}` is not a pytest marker expression ({exc.msg})"
    return None
