"""The embedded sandbox boots while pytest imports conftest.py and configures: it is already
a child process when the initial conftests load, and the suite takes that one over instead
of starting a second. Runs that need no sandbox start none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from suite_harness import REPO, suite_env

WATCHER = '''
import json, os
import psutil
import pytest

def _sandboxes():
    return sorted(c.pid for c in psutil.Process().children()
                  if "sandbox" in " ".join(c.cmdline()))

@pytest.hookimpl(trylast=True)
def pytest_load_initial_conftests(early_config):
    early_config._watch = {"before_conftest": _sandboxes()}

def pytest_sessionstart(session):
    watch = session.config._watch
    watch["at_session_start"] = _sandboxes()
    suite = session.config.pluginmanager.get_plugin("synthmon-suite")
    watch["taken_over"] = suite.sandbox.pid if suite and suite.sandbox else None
    watch["workdir"] = str(suite.sandbox.workdir) if suite and suite.sandbox else None
    with open(os.environ["WATCH_SINK"], "w") as sink:
        json.dump(watch, sink)
'''


def _watch(tmp_path: Path, *args: str) -> dict[str, object]:
    (tmp_path / "sandbox_watcher.py").write_text(WATCHER)
    sink = tmp_path / "watch.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "sandbox_watcher",
         "-q", "--reports-dir=off", *args], cwd=REPO, capture_output=True, text=True,
        timeout=120, env=suite_env({"WATCH_SINK": str(sink), "PYTHONPATH": str(tmp_path)}),
        check=False)
    assert sink.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(sink.read_text())


@pytest.mark.slow
def test_the_sandbox_starts_before_conftest_and_is_taken_over(tmp_path):
    watch = _watch(tmp_path, "-k", "health_is_ok")
    assert len(watch["before_conftest"]) == 1, watch
    assert watch["at_session_start"] == watch["before_conftest"], watch  # no second one
    assert watch["taken_over"] == watch["before_conftest"][0], watch
    # and it is gone with the run, its workdir too (it is killed, not asked: it keeps nothing)
    assert not psutil.pid_exists(watch["taken_over"]), watch
    assert not Path(str(watch["workdir"])).exists(), watch


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--target=http://127.0.0.1:9"], ["--collect-only"]],
                         ids=["a-url", "collect-only"])
def test_no_sandbox_when_the_run_needs_none(tmp_path, args):
    watch = _watch(tmp_path, *args, "-k", "health_is_ok")
    assert watch.get("before_conftest", []) == [] and watch.get("at_session_start", []) == []
