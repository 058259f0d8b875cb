"""An api client in this process, against stub servers on 127.0.0.1, recording its samples
(the fixtures in conftest.py build it from these)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from synthmon.client_settings import ClientSettings
from synthmon.policy import load_policy
from synthmon.samples import Sample
from synthmon.suite.exchange import Exchange

REPO = Path(__file__).resolve().parents[2]
POLICY = load_policy(REPO / "canary-policy.yaml")
SETTINGS = ClientSettings.from_policy(POLICY)
CHECK = "tests/synthetic/test_x.py::test_x"


@dataclasses.dataclass
class Recorded:
    samples: list[Sample] = dataclasses.field(default_factory=list)
    exchanges: list[Exchange | None] = dataclasses.field(default_factory=list)

    def __call__(self, sample: Sample, exchange: Exchange | None) -> None:
        self.samples.append(sample)
        self.exchanges.append(exchange)


