"""Twenty concurrent clients run the B2C flow for ten seconds on loopback: no 5xx, no lost
or interleaved draft writes. Bounded in time (10 s) and in requests (per-client cap)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest

from .conftest import STUDENT, Api, Running

CLIENTS = 20
SECONDS = 10.0
MAX_REQUESTS_PER_CLIENT = 3_000  # a hard bound whatever the machine's speed


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []
        self.flows = 0
        # shared application id -> {version: content} of every write answered 200
        self.writes: dict[str, dict[int, dict[str, Any]]] = {}

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def _client(index: int, running: Running, shared: list[str], tally: Tally,
            deadline: float) -> None:
    api = Api(running.url)
    rng = random.Random(index)
    sent = 0

    def call(method: str, path: str, **kwargs: Any) -> Any:
        nonlocal sent
        sent += 1
        response = api.request(method, path, headers=headers, **kwargs)
        tally.status(response.status_code)
        if response.status_code >= 500:
            tally.problem(f"{method} {path} -> {response.status_code} {response.text[:200]}")
        return response

    headers = {"User-Agent": "ScholarshipAI-Canary/1.0 (load selftest)"}
    headers["Authorization"] = "Bearer " + api.login(STUDENT)["access_token"]
    mine = shared[index % len(shared)]
    try:
        while time.monotonic() < deadline and sent < MAX_REQUESTS_PER_CLIENT:
            page = rng.randint(1, 5)
            items = call("GET", f"/api/v1/scholarships?page={page}&e2e=1").json()["items"]
            scholarship = rng.choice(items)["id"]
            call("GET", f"/api/v1/scholarships/{scholarship}")
            call("POST", "/api/v1/me/saved", json={"scholarship_id": scholarship})
            call("GET", "/api/v1/me/saved")
            app = call("POST", "/api/v1/applications", json={"scholarship_id": scholarship})
            own = app.json()["id"]
            # Own draft: sequential autosaves, each read back exactly.
            for version in range(3):
                content = {"client": index, "version": version, "essay": "x" * rng.randint(0, 500),
                           "answers": [rng.random() for _ in range(5)]}
                saved = call("PUT", f"/api/v1/applications/{own}/draft",
                             json={"version": version, "content": content})
                if saved.status_code != 200:
                    tally.problem(f"own draft write {version} -> {saved.status_code}")
                    break
                back = call("GET", f"/api/v1/applications/{own}/draft").json()
                if back["content"] != content or back["version"] != version + 1:
                    tally.problem(f"own draft {own} read back differs at version {version}")
            # Shared draft: read the version, write on top of it; 409 when someone won.
            current = call("GET", f"/api/v1/applications/{mine}/draft").json()["version"]
            content = {"client": index, "based_on": current, "nonce": rng.random()}
            written = call("PUT", f"/api/v1/applications/{mine}/draft",
                           json={"version": current, "content": content})
            if written.status_code == 200:
                with tally.lock:
                    versions = tally.writes.setdefault(mine, {})
                    if current + 1 in versions:
                        tally.problems.append(f"two writes got version {current + 1} on {mine}")
                    versions[current + 1] = content
            elif written.status_code != 409:
                tally.problem(f"shared draft write -> {written.status_code}")
            call("DELETE", f"/api/v1/applications/{own}")
            with tally.lock:
                tally.flows += 1
    except Exception as exc:  # a client crash is a finding, not a hang
        tally.problem(f"client {index}: {type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_twenty_clients_ten_seconds_b2c_flow(sandbox: Running) -> None:
    api = Api(sandbox.url)
    headers = api.bearer(STUDENT)
    shared = [api.post("/api/v1/applications", json={"scholarship_id": api.first_scholarship()},
                       headers=headers).json()["id"] for _ in range(4)]
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_client, args=(i, sandbox, shared, tally, deadline),
                                daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert tally.problems == [], tally.problems[:10]
    assert not [code for code in tally.statuses if code >= 500], tally.statuses
    assert tally.flows >= CLIENTS, f"only {tally.flows} flows completed: {tally.statuses}"
    # No lost or interleaved writes: each shared draft holds exactly its last accepted write.
    for application_id in shared:
        writes = tally.writes.get(application_id, {})
        final = api.get(f"/api/v1/applications/{application_id}/draft", headers=headers).json()
        assert final["version"] == len(writes) == (max(writes) if writes else 0)
        if writes:
            assert final["content"] == writes[final["version"]]
    print(f"\n{tally.flows} flows, {sum(tally.statuses.values())} requests: "
          f"{dict(tally.statuses)}")
