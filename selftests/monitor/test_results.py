import json
import time
from pathlib import Path

from synthmon.monitor.results import parse_junit, read_run

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.synthetic.test_health" name="test_health" time="0.012"/>
<testcase classname="tests.synthetic.test_health.TestReady" name="test_ready[x]" time="0.5">
  <failure message="AssertionError: /ready answered 503&#10;more">trace</failure></testcase>
<testcase classname="tests.synthetic.test_health" name="test_skip" time="0">
  <skipped message="not today"/></testcase>
</testsuite></testsuites>
"""


def test_junit_classnames_become_node_ids(tmp_path: Path):
    (tmp_path / "tests/synthetic").mkdir(parents=True)
    (tmp_path / "tests/synthetic/test_health.py").write_text("")
    (tmp_path / "junit.xml").write_text(JUNIT)
    results = parse_junit(tmp_path / "junit.xml", tmp_path)
    ready = "tests/synthetic/test_health.py::TestReady::test_ready[x]"
    assert set(results) == {
        "tests/synthetic/test_health.py::test_health",
        ready,
        "tests/synthetic/test_health.py::test_skip",
    }
    assert results[ready].failed and results[ready].message == "AssertionError: /ready answered 503"
    assert results["tests/synthetic/test_health.py::test_skip"].passed


def test_summary_json_is_preferred_and_old_files_ignored(tmp_path: Path):
    run = tmp_path / "run1"
    run.mkdir()
    (run / "junit.xml").write_text(JUNIT)
    (run / "summary.json").write_text(json.dumps({"checks": [
        {"check": "tests/a.py::test_x", "outcome": "failed", "duration_s": 0.2, "message": "m",
         "area": None, "critical": False, "flaky": False, "synthetic_ids": [],
         "failed_synthetic_ids": []},
    ]}))
    got = read_run(tmp_path, tmp_path, since=0)
    assert list(got) == ["tests/a.py::test_x"] and got["tests/a.py::test_x"].failed
    assert read_run(tmp_path, tmp_path, since=time.time() + 60) == {}


def test_a_summary_not_in_synthmons_shape_falls_back_to_junit(tmp_path: Path):
    (tmp_path / "tests/synthetic").mkdir(parents=True)
    (tmp_path / "tests/synthetic/test_health.py").write_text("")
    (tmp_path / "junit.xml").write_text(JUNIT)
    # a guessed spelling (nodeid) is not read as if it were synthmon's own
    (tmp_path / "summary.json").write_text(json.dumps({"checks": [
        {"nodeid": "tests/a.py::test_x", "status": "failed"}]}))
    got = read_run(tmp_path, tmp_path, since=0)
    assert "tests/a.py::test_x" not in got
    assert "tests/synthetic/test_health.py::test_health" in got
