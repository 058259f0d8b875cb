"""Exponential backoff with jitter: the api client's retries and the monitor's re-runs.

One rule for both. Attempt k (0-based) has the nominal delay min(cap, base * 2**k); the wait
is drawn uniformly between (1 - jitter) of that delay and the delay itself. A wait is never
longer than its nominal delay, so the cap holds exactly and a caller can bound its worst case.

- jitter = 1 is "full jitter", uniform(0, delay): the client's choice, since many calls
  retrying a struggling target should spread as widely as possible;
- a smaller jitter keeps the waits near their nominal values (the monitor's 5, 10, 20 s) while
  still keeping monitors in several regions out of lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds before the first retry (nominal)
    retries: int  # how many waits there are
    cap: float  # no wait is longer
    jitter: float  # the random share of each delay, in [0, 1]
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.retries < 0 or self.cap < 0:
            raise ValueError("backoff needs base >= 0, retries >= 0 and cap >= 0 "
                             f"(got base {self.base}, retries {self.retries}, cap {self.cap})")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be between 0 and 1 (got {self.jitter})")

    def nominal_delay(self, attempt: int) -> float:
        """The delay before retry `attempt` (0-based) without jitter."""
        return min(self.cap, self.base * 2.0**attempt)

    def nominal(self) -> list[float]:
        """Every delay without jitter, e.g. [5, 10, 20]."""
        return [self.nominal_delay(k) for k in range(self.retries)]

    def wait(self, attempt: int) -> float:
        """The jittered wait before retry `attempt` (0-based)."""
        delay = self.nominal_delay(attempt)
        return delay * (1.0 - self.jitter * self.rng.random())

    def delays(self) -> Iterator[float]:
        """The jittered waits, one per retry."""
        for attempt in range(self.retries):
            yield self.wait(attempt)
