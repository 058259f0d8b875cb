"""`synthmon monitor` as an operator starts it: arguments pytest refuses end it at once with
pytest's sentence (never a loop that retries them forever), and a real run with a removed
credential shows its skipped checks as skipped on /metrics, in its state file and its exit
status, labelled with the region it probes from."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from monitor_sandbox import running_sandbox
from prometheus_client.parser import text_string_to_metric_families

from synthmon.monitor.target import identity_of, metrics_url

REPO = Path(__file__).resolve().parents[2]
FLOW = "tests/synthetic/test_b2c.py::test_student_searches_saves_and_drafts_an_application"


def monitor(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "synthmon.cli", "monitor", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("args", "sentence"), [
    # the README's placeholder, typed as written
    (["--target", "URL"], "--target URL: neither an http(s) URL nor a target named in"),
    (["--target", "http://127.0.0.1:99999"], "not a usable URL (Port out of range"),
    (["--target", "http://"], "http://: no host in the URL"),
    (["--target", "http://127.0.0.1:9", "--", "-m", "nosuchmarker"],
     "Unknown marker(s) in '-m' expression: nosuchmarker"),
])
def test_arguments_pytest_refuses_end_the_monitor_at_once(args: list[str], sentence: str) -> None:
    started = time.monotonic()
    done = monitor("--interval", "5", *args)
    assert done.returncode == 2, done.stderr
    assert sentence in done.stderr, done.stderr
    assert "metrics_serving" not in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 60, "it must not cycle"


def test_identity_and_metrics_url() -> None:
    assert identity_of("https://user:secret@canary.example:8443/path", "eu", None).labels() == {
        "region": "eu", "target": "https://canary.example:8443", "cohort": "control"}
    assert identity_of("canary", "eu", None).cohort == "canary"  # the policy's cohort
    assert identity_of("http://x", "eu", "canary").cohort == "canary"
    assert metrics_url("0.0.0.0", 9464) == "http://127.0.0.1:9464/metrics"
    assert metrics_url("::", 9464) == "http://[::1]:9464/metrics"
    assert metrics_url("127.0.0.2", 9464) == "http://127.0.0.2:9464/metrics"


@pytest.mark.slow
def test_a_removed_credential_is_skipped_everywhere_never_a_success(tmp_path: Path) -> None:
    with running_sandbox(tmp_path) as sandbox:
        ready, reports = tmp_path / "ready.json", tmp_path / "runs"
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "monitor", "--target", sandbox.url,
             "--region", "eu-west-1", "--metrics-host", "127.0.0.2", "--interval", "3",
             "--iterations", "2", "--reports-dir", str(reports), "--ready-file", str(ready),
             "--", "-m", "b2c or health"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**__import__("os").environ, "SYNTH_STUDENT_PASSWORD": ""})
        try:
            deadline = time.monotonic() + 90
            while not (reports / "monitor-state.json").exists():
                assert proc.poll() is None, proc.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "no cycle finished"
                time.sleep(0.2)
            url = json.loads(ready.read_text())["metrics_url"]
            assert url.startswith("http://127.0.0.2:"), url  # --metrics-host bound it there
            text = requests.get(url, timeout=5).text
            _, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 1, f"skipped critical checks at the end are no success\n{err}"
    found = {(s.name, s.labels.get("state")): s for f in text_string_to_metric_families(text)
             for s in f.samples if s.labels.get("check") == FLOW}
    state = found[("synthmon_check_state", "skipped")]
    assert state.value == 1 and state.labels["region"] == "eu-west-1"
    assert state.labels["target"] == sandbox.url and state.labels["cohort"] == "control"
    assert ("synthmon_check_last_success_timestamp_seconds", None) not in found
    assert found[("synthmon_check_status", None)].value == 3
    saved = json.loads((reports / "monitor-state.json").read_text())
    assert saved["checks"][FLOW] == "skipped"
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    skip = next(e for e in events if e["event"] == "transition" and e["check"] == FLOW)
    assert skip["to"] == "skipped" and "SYNTH_STUDENT_PASSWORD is set but empty" in skip["reason"]
    assert {e["reason"] for e in events if e["event"] == "run_finished"} == {"checks-skipped"}
    flows = [c["outcome"] for p in reports.rglob("summary.json")
             for c in json.loads(p.read_text())["checks"] if c["check"] == FLOW]
    assert flows and set(flows) == {"skipped"}, flows  # the run's own summary says so too
