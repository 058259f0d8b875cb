"""`synthmon sandbox`: help, ready file, faults from flags and environment, refusing bad
specs with a sentence, clean SIGINT/SIGTERM shutdown; the admin route's guard."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from scholarship_sandbox.faults import FaultSpecError, parse_spec

from .conftest import Running, assert_problem, start_sandbox, stop

SYNTHMON = [sys.executable, "-m", "synthmon.cli", "sandbox"]


def test_help_documents_the_fault_grammar() -> None:
    out = subprocess.run([*SYNTHMON, "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for word in ("--fault", "--ready-file", "SPEC", "route=GLOB", "rate=P", "latency:ms=N",
                 "retype-field", "lose-draft-writes", "SANDBOX_FAULTS", "/__admin/faults"):
        assert word in out.stdout, word


@pytest.mark.parametrize(("spec", "reason"), [
    ("explode", "unknown kind 'explode'"),
    ("latency", "latency needs ms"),
    ("latency:ms=fast", "ms must be an integer"),
    ("latency:ms=5,ms=6", "given twice"),
    ("error:status=404", "status must be 500..599"),
    ("error:rate=2", "rate must be a number 0..1"),
    ("retype-field:field=a,to=date", "to must be one of"),
    ("drop-field:field=a..b", "dotted path"),
    ("no-rbac:colour=red", "takes no parameter 'colour'"),
    ("latency:ms", "expected NAME=VALUE"),
    ("latency:", "expected NAME=VALUE"),
])
def test_malformed_specs_name_position_and_reason(spec: str, reason: str) -> None:
    with pytest.raises(FaultSpecError, match=r"position [0-9]+") as info:
        parse_spec(spec)
    assert reason in str(info.value) and repr(spec) in str(info.value)


def test_good_specs_parse() -> None:
    fault = parse_spec("latency:ms=60,jitter_ms=5,route=/api/v1/scholarships*,rate=0.5")
    assert (fault.kind, fault.route, fault.rate, fault.params) == (
        "latency", "/api/v1/scholarships*", 0.5, {"ms": "60", "jitter_ms": "5"})


def test_cli_refuses_a_malformed_spec_with_a_sentence(tmp_path: Path) -> None:
    out = subprocess.run([*SYNTHMON, "--port", "0", "--fault", "latency:ms=soon",
                          "--ready-file", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "bad fault spec 'latency:ms=soon' at position 8" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "r.json").exists()
    env_out = subprocess.run([*SYNTHMON, "--port", "0"], capture_output=True, text=True,
                             timeout=30, env={"SANDBOX_FAULTS": "no-csrf;bogus", "PATH": ""})
    assert env_out.returncode == 2 and "unknown kind 'bogus'" in env_out.stderr


def _port_open(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parsed.hostname, parsed.port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ready_file_stdout_faults_from_env_and_clean_shutdown(tmp_path: Path, sig: int) -> None:
    running = start_sandbox(tmp_path, "--fault", "no-csrf", "--admin-token", "t0ken-for-tests",
                            env={"SANDBOX_FAULTS": "not-ready"})
    try:
        info = json.loads((tmp_path / "ready.json").read_text())
        assert set(info) == {"url", "admin_token", "pid"}  # over HTTP: no CA, no certificate
        assert info["admin_token"] == "t0ken-for-tests" and info["pid"] == running.proc.pid
        assert info["url"].startswith("http://127.0.0.1:")
        assert f"synthmon sandbox: serving on {info['url']}" in running.stdout.read_text()
        listed = requests.get(info["url"] + "/__admin/faults",
                              headers={"X-Admin-Token": "t0ken-for-tests"}, timeout=10).json()
        assert listed == {"faults": ["not-ready", "no-csrf"]}
        assert requests.get(info["url"] + "/ready", timeout=10).status_code == 503
    finally:
        code = stop(running.proc, sig)
    assert code == 0
    assert not _port_open(running.url)
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


def test_admin_route_needs_the_token(sandbox: Running) -> None:
    url = sandbox.url + "/__admin/faults"
    assert_problem(requests.get(url, timeout=10), 404, "not-found")
    assert_problem(requests.get(url, headers={"X-Admin-Token": "wrong"}, timeout=10), 404,
                   "not-found")
    assert_problem(requests.put(url, json={"faults": ["no-rbac"]},
                                headers={"X-Admin-Token": "wrong"}, timeout=10), 404,
                   "not-found")
    token = {"X-Admin-Token": sandbox.admin_token}
    body = assert_problem(requests.put(url, json={"faults": ["no-rbac", "nope"]}, headers=token,
                                       timeout=10), 422, "validation-error")
    assert "unknown kind 'nope'" in body["detail"]
    assert requests.get(url, headers=token, timeout=10).json() == {"faults": []}


def test_admin_route_answers_only_loopback() -> None:
    from scholarship_sandbox import Settings, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    # The test client's address is "testclient", i.e. not loopback: the token is not enough.
    client = TestClient(create_app(Settings(admin_token="tok", access_log="-")))
    assert client.get("/__admin/faults", headers={"X-Admin-Token": "tok"}).status_code == 404


def test_alternate_catalogue_has_other_titles(tmp_path: Path) -> None:
    running = start_sandbox(tmp_path, "--catalogue", "alternate")
    try:
        listing = requests.get(running.url + "/api/v1/scholarships?per_page=50", timeout=10)
        body = listing.json()
        assert body["total"] == 37 and body["items"]
        assert not any("scholarship" in item["title"].lower() for item in body["items"])
        search = requests.get(running.url + "/api/v1/scholarships?q=scholarship", timeout=10)
        assert search.json()["total"] == 0
    finally:
        stop(running.proc)


def test_tls_serves_https_with_a_certificate_its_ca_file_verifies(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    running = start_sandbox(tmp_path, "--tls", "--ca-file", str(ca_file))
    try:
        info = json.loads((tmp_path / "ready.json").read_text())
        assert running.url.startswith("https://127.0.0.1:") and info["ca_file"] == str(ca_file)
        assert f"--ca-bundle={ca_file}" in running.stdout.read_text()
        assert requests.get(running.url + "/health", verify=str(ca_file),
                            timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(running.url + "/health", timeout=10)  # not a root anyone trusts
    finally:
        stop(running.proc)


def test_certificate_faults_need_tls_and_act_at_start(tmp_path: Path) -> None:
    out = subprocess.run([*SYNTHMON, "--port", "0", "--fault", "cert-wrong-host"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "add --tls" in out.stderr
    running = start_sandbox(tmp_path, "--tls", "--fault", "cert-expiring:days=3",
                            "--fault", "cert-wrong-host")
    try:
        info = json.loads((tmp_path / "ready.json").read_text())
        assert info["certificate_names"] == ["wrong-host.scholarshipai.test"]
        left = datetime.fromisoformat(info["certificate_not_after"]) - datetime.now(UTC)
        assert timedelta(days=3) < left < timedelta(days=3, hours=1)
        with pytest.raises(requests.exceptions.SSLError, match=r"(?i)hostname|match"):
            requests.get(running.url + "/health", verify=info["ca_file"], timeout=10)
    finally:
        stop(running.proc)
