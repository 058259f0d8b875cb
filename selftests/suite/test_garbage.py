"""A suite process keeps what lives to its end out of the garbage collector's walks
(synthmon.suite.garbage), and nothing a run writes or reports is lost by it: the exit status
and the reports are the run's, passed or failed, and a process that calls pytest.main()
gets its collector back as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from suite_harness import REPO, run_suite, sandbox, suite_env

# Registered when pytest imports it (before the suite's handler), so it runs after that
# handler at exit: it reads how many objects the final collection will leave alone.
PROBE = textwrap.dedent("""
    import atexit, gc, sys

    def _tell():
        sys.stderr.write(f"frozen at exit: {gc.get_freeze_count()}\\n")
        sys.stderr.flush()

    atexit.register(_tell)
""")


def _frozen(output: str) -> int:
    line = next(line for line in output.splitlines() if line.startswith("frozen at exit: "))
    return int(line.rsplit(" ", 1)[1])


def _run(tmp_path: Path, url: str):
    (tmp_path / "exit_probe.py").write_text(PROBE)
    reports = tmp_path / "reports"
    run = run_suite(url, "-p", "exit_probe", "tests/synthetic/test_health.py",
                    env={"PYTHONPATH": str(tmp_path)}, reports_dir=str(reports))
    return run, reports / "latest"


def test_a_passing_run_exits_zero_with_its_objects_left_out_of_the_last_collection(tmp_path):
    with sandbox() as url:
        run, latest = _run(tmp_path, url)
    assert run.returncode == 0, run.output
    assert _frozen(run.output) > 10_000, run.output
    assert json.loads((latest / "summary.json").read_text())["outcome"] == "passed"
    assert ET.parse(latest / "junit.xml").getroot().get("failures") in (None, "0")


def test_a_failing_run_keeps_its_exit_status_and_complete_reports(tmp_path):
    with sandbox("error:status=500,route=/health") as url:
        run, latest = _run(tmp_path, url)
    assert run.returncode == 1, run.output
    assert _frozen(run.output) > 10_000, run.output
    summary = json.loads((latest / "summary.json").read_text())
    assert summary["outcome"] == "failed" and summary["totals"]["failed"] >= 1
    suite = ET.parse(latest / "junit.xml").getroot()
    assert sum(int(s.get("failures", 0)) for s in suite.iter("testsuite")) >= 1


# In one process: frozen during the checks and through pytest's own full collections after
# them (which look for unraisable exceptions), unfrozen once pytest.main() returns.
IN_PROCESS = textwrap.dedent("""
    import gc, sys
    import pytest

    class During:
        frozen = None
        full_collections = []  # the frozen count at each full collection after the checks

    class Watch:
        def pytest_runtest_call(self, item):
            During.frozen = gc.get_freeze_count()

    def seen(phase, info):
        if phase == "start" and info["generation"] == 2 and During.frozen is not None:
            During.full_collections.append(gc.get_freeze_count())

    gc.callbacks.append(seen)
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--target=" + sys.argv[1],
                        "--reports-dir=" + sys.argv[2], "tests/synthetic/test_health.py"],
                       plugins=[Watch()])
    gc.callbacks.remove(seen)
    print("collections", *During.full_collections)
    print(f"exit {int(code)} during {During.frozen} after {gc.get_freeze_count()}")
""")


def test_pytest_main_in_a_process_gets_its_collector_back_after_pytests_collections(tmp_path):
    with sandbox() as url:
        done = subprocess.run([sys.executable, "-c", IN_PROCESS, url, str(tmp_path)],
                              cwd=REPO, env=suite_env(None), capture_output=True, text=True,
                              timeout=120, check=False)
    *_, seen, line = done.stdout.strip().splitlines()
    _, code, _, during, _, after = line.split()
    assert code == "0", done.stdout + done.stderr
    assert int(during) > 10_000, line
    assert int(after) == 0, line
    frozen_at = [int(n) for n in seen.split()[1:]]
    assert len(frozen_at) >= 2 and min(frozen_at) > 10_000, seen  # pytest's two, and no walk
