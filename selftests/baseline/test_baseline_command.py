"""`synthmon baseline` as a user runs it: against real sandboxes, and against nothing."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import click
import pytest
import yaml
from baseline_sandbox import sandbox_url
from support.http_stub import serving

from synthmon.baseline.command import probe, resolve_target
from synthmon.client_settings import ClientSettings
from synthmon.policy import load_policy
from synthmon.targets import resolve

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
    assert "is down: ConnectionError" in done.stderr and "No baseline was measured" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "b").exists()


def test_an_unknown_target_name_is_a_usage_error(tmp_path: Path) -> None:
    done = baseline("--target", "nowhere", "--out", str(tmp_path / "b"), timeout=60)
    assert done.returncode == 2
    # the suite's own sentence: one resolver for every --target
    assert "neither an http(s) URL nor a target named in" in done.stderr


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
        slowed = baseline("--target", slow, "--samples", "3", "--pace", "0", "-m",
                          "b2c and not browser",
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
    markdown = (tmp_path / "healthy" / "baseline.md").read_text()
    assert "| `GET /health` | yes |" in markdown
    # the browser checks' pages, per device: P50/P95/P99 of each Web Vital
    assert {"LCP /search @desktop", "CLS /scholarships/{scholarship_id} @desktop",
            "STEP autosave @desktop"} <= set(doc["endpoints"])
    assert "## Web Vitals per page" in markdown and "| `/pricing` | desktop | LCP |" in markdown
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


class _Health(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        _Health.seen.append({"path": self.path, "user_agent": self.headers["User-Agent"]})
        body = json.dumps({"status": "ok", "build_id": "b-7", "git_sha": "abc1234"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_probe_goes_out_as_the_policy_says(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))
    data["client"]["user_agent"] = "ScholarshipAI-Canary/9.9-probe"
    (tmp_path / "canary-policy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    policy = load_policy(tmp_path / "canary-policy.yaml")
    _Health.seen.clear()
    with serving(_Health) as url:
        build = probe(url, ClientSettings.from_policy(policy))
    assert build == {"build_id": "b-7", "git_sha": "abc1234"}
    assert _Health.seen == [{"path": "/health?e2e=1",
                             "user_agent": "ScholarshipAI-Canary/9.9-probe"}]


def test_targets_resolve_as_the_suite_resolves_them() -> None:
    policy = load_policy(REPO / "canary-policy.yaml")
    url, spec = resolve_target("staging", policy)
    assert spec == resolve("staging", policy) and url == "https://staging.scholarshipai.example"
    with pytest.raises(click.BadParameter, match="embedded sandbox"):
        resolve_target("sandbox", policy)
