"""The 60 s monitor loop: runs the synthetic suite as a process, confirms failures with
backoff, tracks per-check state and serves its own /metrics.

The loop never imports the pytest plugin: it runs `python -m pytest` and reads the junit.xml
or summary.json the run wrote (DESIGN.md, "three walls").
"""

from synthmon.backoff import Backoff
from synthmon.monitor.loop import Monitor, MonitorConfig
from synthmon.monitor.results import CheckResult, RunResult
from synthmon.monitor.runner import PytestRunner, Runner
from synthmon.monitor.state import CheckState, StateTracker, Transition

__all__ = [
    "Backoff",
    "CheckResult",
    "CheckState",
    "Monitor",
    "MonitorConfig",
    "PytestRunner",
    "RunResult",
    "Runner",
    "StateTracker",
    "Transition",
]
