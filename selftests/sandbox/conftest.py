"""A real sandbox process (`synthmon sandbox --port 0`) shared by the sandbox selftests,
with fixtures to switch faults through the admin route and to log in."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from synthmon.sandbox_process import SandboxProcess, stop_process
from synthmon.sandbox_process import start_sandbox as start_shared

STUDENT = ("student@sandbox.scholarshipai.test", "sandbox-student-pass")
PROVIDER = ("provider@sandbox.scholarshipai.test", "sandbox-provider-pass")
QUOTA = ("quota@sandbox.scholarshipai.test", "sandbox-quota-pass")
TIMEOUT = 10


# The one sandbox launcher (synthmon.sandbox_process): ready.json, stdout.txt and stderr.txt in
# the workdir, its process group stopped by stop().
Running = SandboxProcess


def start_sandbox(workdir: Path, *args: str, env: dict[str, str] | None = None,
                  wait: float = 30) -> Running:
    return start_shared(workdir, *args, access_log=workdir / "access.log", env=env,
                        timeout=wait)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    return stop_process(proc, sig)


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
        self.running.set_faults(*specs)

    def clear(self) -> None:
        self.running.clear_faults()


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
