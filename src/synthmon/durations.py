"""Durations, written one way everywhere: in the policy, the rules, the history and every
command-line flag.

A duration is a number and a unit: `250ms`, `20s`, `1.5m`, `2h`, `7d`, `1w`. A bare number
is seconds (`pacing_s: 1.0` in YAML, `--interval 60` on a command line). Prometheus and
Alertmanager take whole numbers only, so what goes into PromQL or an Alertmanager file is
written back with `prometheus_form` (`1.5m` -> `90s`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
# The policy schema's `$defs/duration` pattern is this one (a selftest holds them together).
PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h|d|w)$"
_DURATION = re.compile(PATTERN)
_BARE_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
EXAMPLES = "250ms, 20s, 1.5m, 2h, 7d, 1w"
# Largest first: the unit `prometheus_form` writes is the largest that divides exactly. No
# weeks: `7d` reads better in an alert than `1w`, and both engines take days.
_FORM_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


class DurationError(ValueError):
    """Not a duration, or one outside the range a setting allows; the message says which."""


def parse(value: str | int | float, *, bare_seconds: bool = True) -> float:
    """'15m' -> 900.0 seconds; a bare number (or a numeric string) is seconds, unless
    `bare_seconds` is off (where a bare number means something else, e.g. a unix time)."""
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration (write e.g. {EXAMPLES})")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise DurationError(f"{value!r} is not a duration (it must be 0 or more)")
        return seconds
    text = str(value).strip()
    match = _DURATION.match(text)
    if match:
        number = text[: -len(match.group(2))]
        return float(number) * UNIT_SECONDS[match.group(2)]
    if bare_seconds and _BARE_NUMBER.match(text):
        return float(text)
    raise DurationError(f"{value!r} is not a duration (write a number and a unit, e.g. "
                        f"{EXAMPLES}; a bare number is seconds)")


def describe(seconds: float) -> str:
    """A duration as a person writes it: 900 -> '15m', 1.5 -> '1500ms', 90 -> '90s'."""
    return prometheus_form(seconds)


def prometheus_form(value: str | int | float) -> str:
    """As Prometheus and Alertmanager write it: a whole number of one unit, at least 1 ms.
    A text that already is one is kept as written (`60m` stays `60m`)."""
    if isinstance(value, str) and re.match(r"^[0-9]+(ms|s|m|h|d|w)$", value.strip()):
        return value.strip()
    millis = max(1, round(parse(value) * 1000))
    for unit, size in _FORM_UNITS:
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"  # unreachable: 1 ms divides everything


def within(seconds: float, minimum: float, maximum: float, written: str | None = None) -> float:
    """`seconds`, or DurationError saying that `written` (default: the seconds, described)
    is outside the range minimum..maximum."""
    if not minimum <= seconds <= maximum:
        shown = repr(written) if written is not None else _shown(seconds)
        raise DurationError(f"{shown} is outside {_shown(minimum)}..{_shown(maximum)}")
    return seconds


def _shown(seconds: float) -> str:
    return describe(seconds) if seconds else "0s"


# click's ParamType became generic in 8.4 (over one type) and 8.5 (over two): subscripted, it
# would fail at import under the click 8.1 to 8.3 the project supports.
class Duration(click.ParamType):  # type: ignore[type-arg]
    """A command-line duration, refused with its range when outside it; converts to seconds."""

    name = "duration"

    def __init__(self, minimum: str | float = 0, maximum: str | float = "3650d") -> None:
        self.minimum, self.maximum = parse(minimum), parse(maximum)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "DURATION"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            return within(parse(value), self.minimum, self.maximum,
                          value if isinstance(value, str) else None)
        except DurationError as exc:
            self.fail(str(exc), param, ctx)
