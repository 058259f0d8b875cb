"""Real processes for the end-to-end test: sandboxes, a Prometheus on loopback, a small load.

Every process is started with its own temp files and stopped by the caller's ExitStack;
nothing listens beyond 127.0.0.1 and the load is bounded in requests and in time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from support.engines import firing_alerts, query, running_prometheus

from synthmon.sandbox_process import running_sandbox

__all__ = ["SignupLoad", "firing_alerts", "prometheus", "query", "sandbox", "wait_for_targets"]

HEADERS = {"User-Agent": "ScholarshipAI-Canary/1.0"}


@contextlib.contextmanager
def sandbox(workdir: Path, name: str, *args: str) -> Iterator[str]:
    """The shared sandbox process (selftests/support), its files in workdir/name."""
    with running_sandbox(workdir / name, *args) as box:
        yield box.url


@contextlib.contextmanager
def prometheus(workdir: Path, targets: dict[str, str], rule_file: Path) -> Iterator[str]:
    """Prometheus scraping each cohort's sandbox every second, with the cohort as a target
    label (as the canary's scrape config sets it), evaluating the rule file every second."""
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
    with running_prometheus(workdir, config, "the end-to-end gate test") as url:
        yield url


def wait_for_targets(prom: str, cohorts: set[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = {r["metric"].get("cohort") for r in query(prom, "up == 1")}
        if cohorts <= up:
            return
        time.sleep(0.5)
    raise RuntimeError(f"prometheus never scraped {cohorts} successfully")


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
