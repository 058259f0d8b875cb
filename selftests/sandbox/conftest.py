"""A real sandbox process (`synthmon sandbox --port 0`) shared by the sandbox selftests,
with fixtures to switch faults through the admin route and to log in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

STUDENT = ("student@sandbox.scholarshipai.test", "sandbox-student-pass")
PROVIDER = ("provider@sandbox.scholarshipai.test", "sandbox-provider-pass")
QUOTA = ("quota@sandbox.scholarshipai.test", "sandbox-quota-pass")
TIMEOUT = 10


@dataclass
class Running:
    url: str
    admin_token: str
    proc: subprocess.Popen[bytes]
    access_log: Path
    stdout: Path


def start_sandbox(workdir: Path, *args: str, env: dict[str, str] | None = None,
                  wait: float = 30) -> Running:
    ready = workdir / "ready.json"
    log = workdir / "access.log"
    out = workdir / "stdout.txt"
    with out.open("wb") as stdout, (workdir / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1", "--port",
             "0", "--ready-file", str(ready), "--access-log", str(log), *args],
            stdout=stdout, stderr=stderr, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + wait
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError("sandbox did not start: "
                               + (workdir / "stderr.txt").read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return Running(info["url"], info["admin_token"], proc, log, out)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return int(proc.returncode)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"), "--build-id", "selftest-1",
                            "--git-sha", "abcdef1", "--cohort", "canary")
    try:
        yield running
    finally:
        stop(running.proc)


class Api:
    """A thin requests wrapper: base URL, timeouts, login helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def login(self, account: tuple[str, str] = STUDENT, **extra: Any) -> dict[str, Any]:
        response = self.post("/api/v1/auth/login",
                             json={"email": account[0], "password": account[1], **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def bearer(self, account: tuple[str, str] = STUDENT) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.login(account)["access_token"]}

    def first_scholarship(self) -> str:
        return str(self.get("/api/v1/scholarships").json()["items"][0]["id"])


@pytest.fixture
def api(sandbox: Running) -> Api:
    return Api(sandbox.url)


class Faults:
    def __init__(self, running: Running) -> None:
        self.running = running

    def set(self, *specs: str) -> None:
        response = requests.put(self.running.url + "/__admin/faults", json={"faults": list(specs)},
                                headers={"X-Admin-Token": self.running.admin_token},
                                timeout=TIMEOUT)
        assert response.status_code == 200, response.text

    def clear(self) -> None:
        requests.delete(self.running.url + "/__admin/faults",
                        headers={"X-Admin-Token": self.running.admin_token}, timeout=TIMEOUT)


@pytest.fixture
def faults(sandbox: Running) -> Iterator[Faults]:
    helper = Faults(sandbox)
    helper.clear()
    try:
        yield helper
    finally:
        helper.clear()


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/problems/" + slug), body
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["title"] and isinstance(body["detail"], str)
    return body
