"""`synthmon baseline` as a user runs it: against real sandboxes, and against nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from baseline_sandbox import sandbox_url

from synthmon.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
SEARCH = "GET /api/v1/scholarships"


def baseline(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synthmon.cli", "baseline", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_target_is_a_sentence_and_no_files(tmp_path: Path) -> None:
    done = baseline("--target", f"http://127.0.0.1:{free_port()}", "--out", str(tmp_path / "b"),
                    timeout=60)
    assert done.returncode == 1
    assert "cannot reach the target" in done.stderr and "No baseline was measured" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "b").exists()


def test_an_unknown_target_name_is_a_usage_error(tmp_path: Path) -> None:
    done = baseline("--target", "nowhere", "--out", str(tmp_path / "b"), timeout=60)
    assert done.returncode == 2
    assert "neither a URL nor a target of the policy" in done.stderr


@pytest.mark.slow
def test_every_critical_endpoint_measured_and_a_slow_one_shows(tmp_path: Path) -> None:
    critical = set(load_policy(REPO / "canary-policy.yaml").critical_endpoints())
    with sandbox_url(tmp_path, "healthy", "--build-id", "bl-healthy", "--git-sha",
                     "1234abc") as healthy, \
            sandbox_url(tmp_path, "slow", "--fault",
                        "latency:ms=80,route=/api/v1/scholarships*") as slow:
        done = baseline("--target", healthy, "--samples", "2", "--pace", "0",
                        "--out", str(tmp_path / "healthy"))
        assert done.returncode == 0, done.stdout + done.stderr
        slowed = baseline("--target", slow, "--samples", "3", "--pace", "0", "-m", "b2c",
                          "--out", str(tmp_path / "slow"))
        assert slowed.returncode == 0, slowed.stdout + slowed.stderr
    doc = json.loads((tmp_path / "healthy" / "baseline.json").read_text())
    assert (doc["build_id"], doc["git_sha"], doc["target"]) == ("bl-healthy", "1234abc", healthy)
    assert doc["missing"] == [] and doc["short"] == {}
    assert critical <= set(doc["endpoints"])
    for name in critical:
        entry = doc["endpoints"][name]
        assert entry["count"] >= 2 and len(entry["latencies_ms"]) == entry["count"]
        assert entry["min_ms"] <= entry["p50_ms"] <= entry["p95_ms"] <= entry["max_ms"]
    assert (tmp_path / "healthy" / "baseline.png").stat().st_size > 5000
    assert "| `GET /health` | yes |" in (tmp_path / "healthy" / "baseline.md").read_text()
    slow_doc = json.loads((tmp_path / "slow" / "baseline.json").read_text())
    assert slow_doc["endpoints"][SEARCH]["min_ms"] >= 80  # the injected 80 ms, every call
    assert doc["endpoints"][SEARCH]["p50_ms"] < 80


def test_from_the_history_store_newest_build_only(tmp_path: Path) -> None:
    import time

    from test_baseline_report import sample

    from synthmon.history import HistoryStore
    from synthmon.run_context import RunContext

    store = HistoryStore(tmp_path / "history.sqlite")
    now = time.time()
    for build, first_ms, run_at in (("old-build", 500.0, now - 600), ("new-build", 10.0, now - 60)):
        ctx = RunContext(run_id=f"run-{build}", target="http://127.0.0.1:1", target_name="url",
                         cohort="control", region="local", device="desktop", build_id=build,
                         git_sha="abc1234", environment="sandbox", started_at=run_at)
        store.append(ctx, [sample(SEARCH, first_ms + i, run_id=ctx.run_id, build_id=build,
                                  started_at=run_at + i) for i in range(30)])
    done = baseline("--history", str(tmp_path / "history.sqlite"), "--since", "1h",
                    "--samples", "20", "--out", str(tmp_path / "b"), timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "b" / "baseline.json").read_text())
    assert doc["build_id"] == "new-build" and doc["environment"] == "sandbox"
    assert doc["endpoints"][SEARCH]["count"] == 30
    assert doc["endpoints"][SEARCH]["max_ms"] == 39.0  # none of the old build's 500 ms
    assert "30 samples of other builds left out" in doc["stopped_because"]


def test_target_and_history_together_are_refused(tmp_path: Path) -> None:
    done = baseline("--target", "http://127.0.0.1:1", "--history", "h.sqlite", timeout=60)
    assert done.returncode == 2 and "not both" in done.stderr
