"""Durations as Prometheus and Alertmanager write them (`90s`, `5m`, `250ms`): whole numbers
of one unit, since neither accepts the policy's fractions (`1.5s`)."""

from __future__ import annotations

from synthmon.policy import PolicyError, parse_duration

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def format_seconds(seconds: float) -> str:
    """900.0 -> '15m', 1.5 -> '1500ms'; at least 1 ms."""
    millis = max(1, round(seconds * 1000))
    for unit, size in _UNITS:
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"  # unreachable: 1 ms divides everything


def prometheus_duration(text: str, where: str) -> str:
    """A policy or option duration in Prometheus's form; a sentence naming `where` if bad."""
    try:
        seconds = parse_duration(text)
    except PolicyError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise ValueError(f"{where}: {text!r} must be longer than zero")
    return format_seconds(seconds)
