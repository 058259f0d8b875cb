"""Real processes for the end-to-end test: sandboxes, a Prometheus on loopback, a small load.

Every process is started with its own temp files and stopped by the caller's ExitStack;
nothing listens beyond 127.0.0.1 and the load is bounded in requests and in time.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from support.sandbox_process import running_sandbox, stop_process

HEADERS = {"User-Agent": "ScholarshipAI-Canary/1.0"}


def _wait(what: str, ready, process: subprocess.Popen[bytes], log: Path,
          timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def sandbox(workdir: Path, name: str, *args: str) -> Iterator[str]:
    """The shared sandbox process (selftests/support), its files in workdir/name."""
    with running_sandbox(workdir / name, *args) as box:
        yield box.url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def prometheus(workdir: Path, targets: dict[str, str], rule_file: Path) -> Iterator[str]:
    """Prometheus scraping each cohort's sandbox every second, with the cohort as a target
    label (as the canary's scrape config sets it), evaluating the rule file every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed, so the end-to-end gate test cannot run: "
                    "run `make system-deps` (Debian's prometheus package) and try again")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "scrape_timeout": "900ms"},
        "rule_files": [str(rule_file)],
        "scrape_configs": [{
            "job_name": "scholarshipai",
            "static_configs": [{"targets": [url.split("://", 1)[1]],
                                "labels": {"cohort": cohort}}
                               for cohort, url in targets.items()],
        }],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = workdir / "prometheus.log"
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
             "--storage.tsdb.retention.time=1h", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait("prometheus", lambda: _answers(f"{url}/-/ready"), process, log)
        yield url
    finally:
        stop_process(process)


def query(prom: str, promql: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{prom}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def wait_for_targets(prom: str, cohorts: set[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = {r["metric"].get("cohort") for r in query(prom, "up == 1")}
        if cohorts <= up:
            return
        time.sleep(0.5)
    raise RuntimeError(f"prometheus never scraped {cohorts} successfully")


def firing_alerts(prom: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{prom}/api/v1/alerts", timeout=5)
    answer.raise_for_status()
    return [a for a in answer.json()["data"]["alerts"] if a["state"] == "firing"]


class SignupLoad(threading.Thread):
    """Student signups (and a search in ten calls) on each cohort at `per_second` in all,
    sent by `threads` workers, until stopped or out of its request or time budget;
    `delay_s` lets the gate's window begin first.

    The workers share one schedule (request k is due at start + k / per_second), so the rate
    holds while a signup is slow (password hashing on a busy two-core machine): one paced
    thread only reached 1 / (pause + latency). The budget is shared too: never more than
    `max_requests` in all, never longer than `max_seconds`."""

    def __init__(self, urls: dict[str, str], max_requests: int, max_seconds: float,
                 per_second: float, delay_s: float = 0.0, threads: int = 1):
        super().__init__(daemon=True)
        self.urls, self.max_requests, self.max_seconds = urls, max_requests, max_seconds
        self.delay_s, self.threads = delay_s, threads
        self.pause = 1.0 / per_second
        self.stop = threading.Event()
        self.sent: dict[str, int] = {cohort: 0 for cohort in urls}
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._slots = 0

    def run(self) -> None:
        if self.stop.wait(self.delay_s):
            return
        started = time.monotonic()
        workers = [threading.Thread(target=self._work, args=(started,), daemon=True)
                   for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _next_slot(self) -> int | None:
        """The next round's number (one call per cohort), or None when the budget is spent."""
        with self._lock:
            if self._slots * len(self.urls) >= self.max_requests:
                return None
            self._slots += 1
            return self._slots

    def _work(self, started: float) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            n = self._next_slot()
            if n is None:
                return
            due = started + (n - 1) * self.pause
            if due - started >= self.max_seconds:
                return
            if self.stop.wait(max(0.0, due - time.monotonic())):
                return
            for cohort, url in self.urls.items():
                status = self._one(session, cohort, url, n)
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    self.sent[cohort] += 1

    @staticmethod
    def _one(session: requests.Session, cohort: str, url: str, n: int) -> int:
        """Nine signups for every search: the signup funnel is what the canary breaks."""
        try:
            if n % 10 == 0:
                return session.get(f"{url}/api/v1/scholarships", headers=HEADERS, timeout=5,
                                   params={"e2e": "1", "q": "science"}).status_code
            return session.post(
                f"{url}/api/v1/auth/signup", params={"e2e": "1"}, headers=HEADERS, timeout=5,
                json={"email": f"load+{cohort}-{n}@sandbox.scholarshipai.test",
                      "password": "load-password-0123", "role": "student"}).status_code
        except requests.RequestException:
            return 0
