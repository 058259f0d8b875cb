"""`pytest --reports-dir /tmp/x` (a space, an existing directory) would move pytest's rootdir
to /tmp/x before synthmon's options exist, drop pytest.ini and run whatever lies around:
the plugin stops it at once with a sentence that shows the `=` form."""

from __future__ import annotations

import subprocess
import sys

from suite_harness import REPO, closed_port_url, suite_env


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=REPO, env=suite_env({"SYNTH_REPORTS": "off"}),
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_spaced_path_option_that_moves_the_rootdir_is_refused(tmp_path):
    done = _pytest("--reports-dir", str(tmp_path))
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"write --reports-dir={tmp_path} (with '=')" in done.stderr
    assert "collected" not in done.stdout  # stopped before collecting anything


def test_the_equals_form_and_a_spaced_url_are_fine(tmp_path):
    # --target URL with a space does not move the rootdir (no such path): no refusal, the
    # usual clear failure of an unreachable target instead
    done = _pytest(f"--reports-dir={tmp_path}", "--target", closed_port_url(), "-m",
                   "health", "-q")
    assert "with '='" not in done.stdout + done.stderr
    assert f"rootdir: {REPO}" in done.stdout or "the target" in done.stdout, done.stdout[-2000:]
    assert done.returncode == 1, done.stdout[-2000:]
