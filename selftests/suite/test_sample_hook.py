"""The sample hook is an ordinary pytest hook: a conftest.py that implements
`pytest_synthmon_sample_recorded` is called by pluggy once per HTTP call, on the process
that made it (also on xdist workers), with no registration of its own."""

from __future__ import annotations

import json

import pytest
from suite_harness import REPO, canned_server

HEALTH = json.dumps({"status": "ok", "build_id": "hook-build", "git_sha": "abc1234"}).encode()
CONFTEST = '''
import json, os

def pytest_synthmon_sample_recorded(sample, item):
    with open(os.environ["HOOK_SINK"], "a") as sink:
        sink.write(json.dumps({"id": sample.synthetic_id, "route": sample.route,
                               "item": item.nodeid, "build": sample.build_id,
                               "worker": os.environ.get("PYTEST_XDIST_WORKER", "main")}) + "\\n")
'''
CHECKS = '''
def test_one(api):
    api.get("/health", expect=200)

def test_two(api):
    api.get("/health", expect=200)
    api.get("/ready", expect=200)
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_conftest_hook_sees_every_call(pytester: pytest.Pytester, monkeypatch, workers):
    sink = pytester.path / "hook.jsonl"
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    for name in [n for n in list(__import__("os").environ) if n.startswith(("SYNTH_", "OTEL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOOK_SINK", str(sink))
    monkeypatch.setenv("SYNTH_REPORTS", "off")
    with canned_server(200, "application/json", HEALTH) as url:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--policy={REPO / 'canary-policy.yaml'}",
            f"--target={url}", *workers, timeout=60)
    result.assert_outcomes(passed=2)
    calls = [json.loads(line) for line in sink.read_text().splitlines()]
    by_item: dict[str, list[str]] = {}
    for call in calls:
        by_item.setdefault(call["item"].rsplit("::", 1)[-1], []).append(call["route"])
    # the checks' three calls, each once (the suite's own probe of /health is no check's)
    assert sorted(by_item.get("test_two", [])).count("/ready") == 1
    ids = [c["id"] for c in calls]
    assert len(ids) == len(set(ids)), ids
    assert sorted(c["route"] for c in calls) == ["/health", "/health", "/ready"], calls
    assert all(c["build"] == "hook-build" for c in calls), calls
    if workers:
        assert {c["worker"] for c in calls} <= {"gw0", "gw1"}
