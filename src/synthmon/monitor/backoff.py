"""Exponential backoff with jitter for the confirmation re-runs of a failing check."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delays base, base*factor, base*factor**2, ... each jittered and capped.

    Jitter spreads the re-runs of many monitors (one per region) so they do not hit a
    struggling target in lockstep; the cap keeps every delay below the loop's interval.
    """

    base: float = 5.0
    factor: float = 2.0
    retries: int = 3
    cap: float = 30.0
    jitter: float = 0.2  # each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.factor < 1 or self.retries < 0 or self.cap < 0:
            raise ValueError("backoff needs base >= 0, factor >= 1, retries >= 0, cap >= 0")
        if not 0 <= self.jitter < 1:
            raise ValueError("backoff jitter must be in [0, 1)")

    def nominal(self) -> list[float]:
        """The delays without jitter, e.g. [5, 10, 20]."""
        return [min(self.cap, self.base * self.factor**k) for k in range(self.retries)]

    def delays(self) -> Iterator[float]:
        for delay in self.nominal():
            spread = 1 + self.rng.uniform(-self.jitter, self.jitter)
            yield min(self.cap, delay * spread)
