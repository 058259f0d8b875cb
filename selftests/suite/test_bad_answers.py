"""Targets whose answers never complete: the suite as QA runs it ends by the policy's
deadline with one sentence saying what happened, and the reports record the error type."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from suite_harness import REPO, closed_port_url, run_suite, sandbox, suite_env
from support.bad_servers import closing_mid_body, huge_body, raw_server, trickling_body

pytestmark = pytest.mark.slow


def policy_with(tmp_path: Path, **client: object) -> str:
    policy = yaml.safe_load((REPO / "canary-policy.yaml").read_text())
    policy["client"].update(client)
    path = tmp_path / "canary-policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return f"--policy={path}"


def samples(reports: Path) -> list[dict[str, object]]:
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    return summary["requests"]


def test_a_body_trickling_a_byte_every_2_s_ends_at_the_deadline(tmp_path):
    """/health answers (the probe finds the target up); /ready and /metrics trickle."""
    reports = tmp_path / "reports"
    with raw_server(trickling_body(every_s=2.0), healthy=("/health",)) as url:
        run = run_suite(url, "-m", "health", policy_with(tmp_path, deadline_s=3),
                        reports_dir=str(reports))
    assert run.returncode == 1, run.output
    assert "GET /ready expected 200, got no complete answer within 3 s: 1 byte received " \
        "(1 attempt(s))" in run.output, run.output
    assert "Timeout" not in run.output, run.output
    assert run.seconds < 40, run.seconds  # two deadlines, not pytest-timeout's 30 s each
    kinds = {s["route"]: s["error_type"] for s in samples(reports)}
    assert kinds["/ready"] == kinds["/metrics"] == "deadline", kinds


def test_a_target_whose_probe_trickles_is_down_in_one_sentence(tmp_path):
    reports = tmp_path / "reports"
    with raw_server(trickling_body(every_s=2.0)) as url:
        run = run_suite(url, "-m", "health", policy_with(tmp_path, deadline_s=3),
                        reports_dir=str(reports))
    assert run.returncode == 1, run.output
    assert "GET /health got no complete answer within 3 s: 1 byte received (1 attempt(s))" \
        in run.output, run.output
    assert run.seconds < 25, run.seconds
    # one abort: the probe's own call, past its deadline, is the run's one sample
    assert {s["error_type"] for s in samples(reports)} == {"deadline"}


def test_a_connection_closed_mid_body_says_after_how_many_bytes(tmp_path):
    reports = tmp_path / "reports"
    with raw_server(closing_mid_body(sent=312, announced=1000)) as url:
        run = run_suite(url, "-k", "health_is_ok", reports_dir=str(reports))
    assert run.returncode == 1, run.output
    assert "a 200 answer, then the connection closed after 312 bytes of its body " \
        "(Content-Length 1000)" in run.output, run.output
    assert "ChunkedEncodingError" not in run.output and "IncompleteRead" not in run.output
    assert {s["error_type"] for s in samples(reports)} == {"no-answer"}


def test_a_50_mb_answer_is_refused_without_taking_the_memory(tmp_path):
    reports = tmp_path / "reports"
    with raw_server(huge_body(50 * 2**20, announce=False), healthy=("/health",)) as url:
        command = [sys.executable, "-m", "pytest", "--target", url, "-p", "no:cacheprovider",
                   "-q", "-k", "ready_with", f"--reports-dir={reports}"]
        proc = subprocess.Popen(command, cwd=REPO, env=suite_env(None),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = 0
        watched = psutil.Process(proc.pid)
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 60:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.02)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, output
    assert "GET /ready expected 200, got 200, but its body is over the 4194304-byte cap " \
        "(client.max_body_bytes): reading stopped after" in output, output
    assert peak < 250 * 2**20, f"the run peaked at {peak / 2**20:.0f} MiB"
    assert [s["error_type"] for s in samples(reports)] == ["body-too-large"]


def test_a_refusing_port_is_no_answer_never_a_5xx(tmp_path):
    reports = tmp_path / "reports"
    run = run_suite(closed_port_url(), "-m", "health", reports_dir=str(reports))
    assert run.returncode == 1, run.output
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    assert {s["error_type"] for s in summary["requests"]} == {"no-answer"}
    assert summary["totals"]["server_errors"] == 0
    assert summary["totals"]["no_answer"] == len(summary["requests"]) > 0


def test_a_wrong_build_is_recorded_as_such(tmp_path):
    reports = tmp_path / "reports"
    with sandbox() as url:
        run = run_suite(url, "--expect-build", "build-that-is-not-there", "-m", "health",
                        reports_dir=str(reports))
    assert run.returncode != 0, run.output
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    # the run ends before its checks: nothing is measured against the wrong build
    assert summary["outcome"] == "wrong-build" and summary["requests"] == [], summary


@pytest.mark.parametrize("canary", ["trickling", "refusing"])
def test_the_gate_rolls_back_a_canary_that_cannot_answer_under_its_own_name(tmp_path, canary):
    """Suite runs as the gate reads them (summary.json), then `synthmon gate`: a canary whose
    calls never complete is a rollback on no_answer_rate, never a 5xx nor missing data."""
    canary_reports, control_reports = tmp_path / "canary", tmp_path / "control"
    policy = policy_with(tmp_path, deadline_s=2)
    with sandbox() as control_url:
        control = run_suite(control_url, "-m", "health", policy, reports_dir=str(control_reports))
        if canary == "trickling":
            with raw_server(trickling_body(every_s=2.0), healthy=("/health",)) as url:
                run_suite(url, "-m", "health", policy, reports_dir=str(canary_reports))
        else:
            # a refusing canary ends each run at its probe (target-unreachable, that one
            # unanswered call kept); the gate reads the runs of its window: two here
            url = closed_port_url()
            for _ in range(2):
                run_suite(url, "-m", "health", policy, reports_dir=str(canary_reports))
    assert control.returncode == 0, control.output
    done = subprocess.run(
        [sys.executable, "-m", "synthmon.cli", "gate", "--phase", "25",
         *[arg for path in sorted(canary_reports.glob("*/summary.json"))
           for arg in ("--canary-summary", str(path))], "--control-summary",
         str(next(control_reports.glob("*/summary.json"))), "--out", str(tmp_path / "out"),
         "--ledger", str(tmp_path / "ledger.jsonl"), policy],
        cwd=REPO, env=suite_env(None), capture_output=True, text=True, timeout=120,
        check=False)
    decision = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert done.returncode == 1, done.stdout + done.stderr
    assert decision["tripped"] == ["no_answer_rate"], decision["summary"]
    assert decision["summary"].startswith("ROLLBACK: no_answer_rate (canary no-answer rate ")
    assert "5xx" not in decision["summary"]
