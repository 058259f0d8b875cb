"""The client's settings come from the policy only."""

from __future__ import annotations

import pytest
from client_harness import POLICY

from synthmon.client_settings import FULL_JITTER, ClientSettings, user_agent
from synthmon.policy import PolicyError


def test_every_setting_is_the_policys():
    client = POLICY.data["client"]
    settings = ClientSettings.from_policy(POLICY)
    assert settings.user_agent == client["user_agent"] == user_agent(POLICY)
    assert settings.timeout == (client["connect_timeout_s"], client["read_timeout_s"])
    assert settings.headers["User-Agent"] == client["user_agent"]
    backoff = settings.backoff()
    assert (backoff.base, backoff.cap, backoff.retries, backoff.jitter) == (
        client["backoff_base_s"], client["backoff_max_s"], client["retries"], FULL_JITTER)


@pytest.mark.parametrize("name", ["user_agent", "retries", "backoff_max_s"])
def test_a_missing_setting_is_a_policy_error_naming_it(name):
    client = {k: v for k, v in POLICY.data["client"].items() if k != name}
    with pytest.raises(PolicyError, match=rf"^client\.{name}: missing; the HTTP client takes "):
        ClientSettings.from_policy(client)


def test_the_message_names_the_policy_file_when_it_has_one(tmp_path):
    import dataclasses

    data = {**POLICY.data, "client": {"user_agent": "ScholarshipAI-Canary/1.0"}}
    policy = dataclasses.replace(POLICY, data=data)
    with pytest.raises(PolicyError, match=rf"^{POLICY.path}: client\.connect_timeout_s: missing"):
        ClientSettings.from_policy(policy)
