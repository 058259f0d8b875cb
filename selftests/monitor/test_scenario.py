"""The monitor against a sandbox whose fault is switched on after the
first cycle shows the transition and the backoff re-runs in its log and /metrics, and
recovers when the fault is switched off.

`synthmon monitor --target URL --interval 5 --iterations 4 -- -m health`; the fault is
`not-ready` (GET /ready answers 503), which the /ready check guards against.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from monitor_sandbox import running_sandbox
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


@pytest.mark.slow
def test_fault_after_the_first_cycle_is_confirmed_and_then_recovers(tmp_path: Path):
    with running_sandbox(tmp_path) as sandbox:
        ready = tmp_path / "monitor-ready.json"
        reports = tmp_path / "runs"
        monitor = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "monitor", "--target", sandbox.url,
             "--interval", "5", "--iterations", "4", "--retries", "2", "--retry-base", "0.5",
             "--reports-dir", str(reports), "--ready-file", str(ready), "--", "-m", "health"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        lines: queue.Queue[dict] = queue.Queue()
        seen: list[dict] = []
        raw: list[str] = []

        def read() -> None:
            assert monitor.stderr is not None
            for line in monitor.stderr:
                raw.append(line)
                if line.startswith("{"):
                    lines.put(json.loads(line))

        threading.Thread(target=read, daemon=True).start()

        def wait_for(pred, what: str, timeout: float = 90) -> dict:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    event = lines.get(timeout=0.5)
                except queue.Empty:
                    assert monitor.poll() is None, f"monitor exited before {what}: {''.join(raw)}"
                    continue
                seen.append(event)
                if pred(event):
                    return event
            raise AssertionError(f"timed out waiting for {what}: {''.join(raw)[-3000:]}")

        try:
            wait_for(lambda e: e["event"] == "cycle_finished" and e["cycle"] == 1,
                     "the first cycle")
            assert seen[-1]["failing"] == [] and seen[-1]["degraded"] == []
            sandbox.set_faults("not-ready")
            failing = wait_for(lambda e: e["event"] == "transition" and e["to"] == "failing",
                               "a check declared failing")
            check = failing["check"]
            assert "ready" in check
            # /metrics while it is failing: served live on loopback
            url = json.loads(ready.read_text())["metrics_url"]
            assert url.startswith("http://127.0.0.1:")  # loopback only
            text = requests.get(url, timeout=5).text
            assert metric(text, "synthmon_check_status", check=check) == 2
            assert metric(text, "synthmon_check_retries_total", check=check,
                          outcome="failed") == 2
            sandbox.set_faults()  # switched off: the next cycle must recover
            wait_for(lambda e: e["event"] == "monitor_stopped", "the end of the 4 cycles")
            monitor.wait(30)
        finally:
            if monitor.poll() is None:
                monitor.kill()
                monitor.wait()

    assert monitor.returncode == 0, "".join(raw)[-3000:]
    moves = [(e["from"], e["to"]) for e in seen
             if e["event"] == "transition" and e["check"] == check]
    assert moves == [("ok", "degraded"), ("degraded", "failing"), ("failing", "recovered"),
                     ("recovered", "ok")][: len(moves)] and len(moves) >= 3, moves
    # the backoff re-runs: only the failing check, after growing delays
    retries = [e for e in seen if e["event"] == "retry_scheduled"]
    assert [e["checks"] for e in retries] == [[check], [check]]
    assert retries[0]["delay_s"] < retries[1]["delay_s"]
    reruns = [e for e in seen if e["event"] == "run_finished" and e["kind"].startswith("retry")]
    assert all(e["selected"] == [check] and e["failed"] == [check] for e in reruns)
    # the final exposition (metrics.prom) keeps the whole story
    final = (reports / "metrics.prom").read_text()
    for frm, to in (("ok", "degraded"), ("degraded", "failing"), ("failing", "recovered")):
        assert metric(final, "synthmon_check_transitions_total", check=check,
                      from_state=frm, to_state=to) == 1
    assert metric(final, "synthmon_check_status", check=check) == 0
    assert metric(final, "synthmon_check_last_success_timestamp_seconds", check=check) > 0
    assert metric(final, "synthmon_monitor_run_duration_seconds_count", kind="retry") == 2


@pytest.mark.slow
def test_survives_a_target_outage_and_recovers_when_it_is_back(tmp_path: Path):
    """The sandbox dies after the first cycle and comes back on the same port later: one
    target-unreachable state while it is gone, its checks untouched, recovery after."""
    first = tmp_path / "first"
    first.mkdir()
    with running_sandbox(first) as sandbox:
        url = sandbox.url
        port = url.rsplit(":", 1)[1]
        monitor = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "monitor", "--target", url,
             "--interval", "4", "--iterations", "4", "--retries", "1", "--retry-base", "0.2",
             "--reports-dir", str(tmp_path / "runs"), "--", "-m", "health",
             "-k", "health_is_ok"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "GITHUB_ACTIONS": "true"},  # annotations on stdout
        )
        events: list[dict] = []

        def next_event(name: str, timeout: float = 60) -> dict:
            assert monitor.stderr is not None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = monitor.stderr.readline()
                if not line:
                    break
                if line.startswith("{"):
                    events.append(json.loads(line))
                    if events[-1]["event"] == name:
                        return events[-1]
            raise AssertionError(f"no {name} event; saw {events}")

        try:
            next_event("cycle_finished")
            # leaving the with-block below stops the sandbox: the outage
        except BaseException:
            monitor.kill()
            raise
    try:
        failing = next_event("cycle_finished")
        while not failing["target_unreachable"]:
            failing = next_event("cycle_finished")
        second = tmp_path / "second"
        second.mkdir()
        with running_sandbox(second, "--port", port) as back:
            assert back.url == url
            next_event("monitor_stopped", timeout=90)
            monitor.wait(30)
    finally:
        if monitor.poll() is None:
            monitor.kill()
            monitor.wait()
    assert monitor.returncode == 0
    assert monitor.stdout is not None
    annotations = monitor.stdout.read()
    # The outage is one state of the target with one message, not a failure per check.
    assert "::error title=synthmon check failing::synthmon:target: " in annotations, annotations
    assert "the target cannot be reached" in annotations
    assert "test_health.py" not in annotations, "the check itself did not fail: it got no answer"
    target = [(e["from"], e["to"]) for e in events if e["event"] == "transition"
              and e["check"] == "synthmon:target"]
    assert ("degraded", "failing") in target and ("failing", "recovered") in target, target
    check = [(e["from"], e["to"]) for e in events if e["event"] == "transition"
             and e["check"].endswith("test_health_is_ok")]
    assert check == [], check
    unreachable = [e for e in events if e["event"] == "run_finished"
                   and e["reason"] == "target-unreachable"]
    assert unreachable and "the target cannot be reached" in unreachable[0]["why"]
    assert not [e for e in events if e["event"] == "cycle_error"]
