import io
import json

from synthmon.monitor.events import JsonLines, fan_out, github_annotations


def test_json_lines_are_one_object_per_line():
    out = io.StringIO()
    JsonLines(out)("transition", {"check": "a", "to": "failing"})
    line = out.getvalue()
    assert line.count("\n") == 1
    data = json.loads(line)
    assert data["event"] == "transition" and data["ts"].endswith("Z")


def test_github_annotations_mark_the_failing_check_and_its_file():
    out = io.StringIO()
    sink = fan_out(github_annotations(out), lambda e, f: None)
    sink("transition", {"check": "tests/synthetic/test_b2c.py::test_x", "to": "failing",
                        "reason": "scheduled run and 3 re-run(s) failed"})
    sink("transition", {"check": "synthmon:run", "to": "recovered"})
    sink("cycle_finished", {"cycle": 1})
    lines = out.getvalue().splitlines()
    assert lines == [
        "::error file=tests/synthetic/test_b2c.py,title=synthmon check failing::"
        "tests/synthetic/test_b2c.py::test_x: scheduled run and 3 re-run(s) failed",
        "::notice title=synthmon check recovered::synthmon:run",
    ]


def test_a_broken_log_stream_does_not_raise():
    out = io.StringIO()
    out.close()
    JsonLines(out)("cycle_finished", {"cycle": 1})


def test_the_monitor_never_imports_the_plugin_or_the_sandbox():
    """DESIGN.md's wall: the loop runs pytest as a process and reads what it wrote."""
    import subprocess
    import sys

    code = (
        "import sys, synthmon.monitor.command\n"
        "walled = ('synthmon.plugin', 'synthmon.suite', "
        "'synthmon.telemetry', 'scholarship_sandbox', '_pytest')\n"
        "print(sorted(m for m in sys.modules\n"
        "             if any(m == w or m.startswith(w + '.') for w in walled)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
