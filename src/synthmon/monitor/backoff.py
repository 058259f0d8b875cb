"""The monitor's confirmation re-runs of a failing check: its defaults over the one Backoff.

The waits follow synthmon.backoff (the rule the api client's retries use too); only the
numbers are the monitor's: 5, 10, 20 s, each up to 20% shorter at random, never more than
half the interval, so a cycle's re-runs end before the next tick is due.
"""

from __future__ import annotations

from synthmon.backoff import Backoff

RETRIES = 3
BASE_S = 5.0
JITTER = 0.2


def confirmation_backoff(interval_s: float, *, retries: int = RETRIES, base_s: float = BASE_S,
                         cap_s: float | None = None, jitter: float = JITTER) -> Backoff:
    """The re-run waits for a loop of `interval_s`; the cap defaults to half the interval."""
    return Backoff(base=base_s, retries=retries, cap=interval_s / 2 if cap_s is None else cap_s,
                   jitter=jitter)
