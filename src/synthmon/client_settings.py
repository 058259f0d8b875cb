"""How synthmon talks HTTP to a target, as the policy's `client:` section says.

Every stage that calls a target (the suite's api client, the baseline's and the gate's
probes) takes its User-Agent and timeouts from here, so the canary User-Agent that analytics
filter on is written once, in canary-policy.yaml. Nothing here has a default: a value the
policy lacks is an error naming the field, never a number made up in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from synthmon.backoff import Backoff
from synthmon.policy import Policy, PolicyError

# Retries of many calls at a struggling target spread as widely as they can: uniform(0, delay).
FULL_JITTER = 1.0


@dataclass(frozen=True, slots=True)
class ClientSettings:
    user_agent: str
    connect_timeout_s: float
    read_timeout_s: float
    retries: int  # idempotent calls only, on no answer and on 502/503/504
    backoff_base_s: float
    backoff_max_s: float
    deadline_s: float  # one call, retries included, whatever the server does
    max_body_bytes: int

    @classmethod
    def from_policy(cls, policy: Policy | Mapping[str, Any]) -> ClientSettings:
        """From a loaded policy, or from its `client:` mapping (then the message names no file)."""
        if isinstance(policy, Policy):
            client, source = policy.client, f"{policy.path}: "
        else:
            client, source = dict(policy), ""
        missing = [f.name for f in fields(cls) if f.name not in client]
        if missing:
            raise PolicyError(
                f"{source}client.{missing[0]}: missing; the HTTP client takes "
                f"{', '.join(missing)} from the policy's client section (see "
                "schemas/canary-policy.schema.json)")
        values: dict[str, Any] = {}
        for f in fields(cls):
            kind = {"str": str, "int": int, "float": float}[str(f.type)]
            values[f.name] = kind(client[f.name])
        return cls(**values)

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read), as requests takes it."""
        return (self.connect_timeout_s, self.read_timeout_s)

    @property
    def headers(self) -> dict[str, str]:
        """What every call carries whatever it asks: the canary User-Agent, JSON wanted."""
        return {"User-Agent": self.user_agent, "Accept": "application/json"}

    def backoff(self) -> Backoff:
        """Exponential with full jitter: the wait before retry k is uniform(0, base * 2**k),
        capped at backoff_max_s."""
        return Backoff(base=self.backoff_base_s, retries=self.retries, cap=self.backoff_max_s,
                       jitter=FULL_JITTER)


def user_agent(policy: Policy) -> str:
    """The canary User-Agent the policy names (for probes outside the api client)."""
    return ClientSettings.from_policy(policy).user_agent
