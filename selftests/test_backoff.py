"""The one backoff (synthmon.backoff) that the api client's retries and the monitor's
confirmation re-runs share."""

from __future__ import annotations

import random

import pytest

from synthmon.backoff import Backoff
from synthmon.monitor.backoff import confirmation_backoff


class Fixed(random.Random):
    """A generator that always draws `value` from random()."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_delays_double_and_stop_at_the_cap():
    assert Backoff(base=5, retries=4, cap=30, jitter=0).nominal() == [5, 10, 20, 30]
    assert list(Backoff(base=5, retries=4, cap=30, jitter=0).delays()) == [5, 10, 20, 30]


def test_a_wait_is_between_its_jittered_share_and_the_delay():
    low = Backoff(base=5, retries=3, cap=12, jitter=0.2, rng=Fixed(0.999999))
    high = Backoff(base=5, retries=3, cap=12, jitter=0.2, rng=Fixed(0.0))
    assert [round(d, 3) for d in low.delays()] == [4.0, 8.0, 9.6]
    assert list(high.delays()) == [5, 10, 12]  # never above the nominal delay: the cap holds


def test_full_jitter_spreads_from_zero_to_the_delay():
    backoff = Backoff(base=0.2, retries=3, cap=2.0, jitter=1.0, rng=random.Random(7))
    waits = [backoff.wait(2) for _ in range(2000)]
    assert 0 <= min(waits) < 0.05 and 0.75 < max(waits) <= 0.8
    assert 0.35 < sum(waits) / len(waits) < 0.45  # uniform(0, 0.8) has mean 0.4


def test_jitter_really_spreads_the_waits():
    assert len({round(Backoff(base=5, retries=1, cap=30, jitter=0.2).wait(0), 6)
                for _ in range(20)}) > 1


@pytest.mark.parametrize("kwargs", [dict(base=-1), dict(retries=-1), dict(cap=-1),
                                    dict(jitter=1.5), dict(jitter=-0.1)])
def test_nonsense_is_refused_with_the_values(kwargs):
    values = dict(base=1.0, retries=2, cap=4.0, jitter=0.5) | kwargs
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**values)


def test_the_monitor_waits_5_10_20_s_capped_at_half_the_interval():
    assert confirmation_backoff(60).nominal() == [5, 10, 20]
    assert confirmation_backoff(20).nominal() == [5, 10, 10]
    assert confirmation_backoff(60, cap_s=7, retries=2).nominal() == [5, 7]
