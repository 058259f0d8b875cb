"""Structured log lines: one JSON object per event, one line each, on stderr by default."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

EventSink = Callable[[str, dict[str, Any]], None]


class JsonLines:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        now = time.time()
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + f".{int(now % 1 * 1000):03d}Z",
            "logger": "synthmon.monitor",
            "event": event,
            **fields,
        }
        try:
            self.stream.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken log stream must not stop the monitoring itself


def github_annotations(stream: TextIO | None = None) -> EventSink:
    """Workflow commands that annotate the run page with the failing check (GitHub Actions)."""
    out = stream or sys.stdout

    def sink(event: str, fields: dict[str, Any]) -> None:
        if event != "transition":
            return
        check = str(fields.get("check", "")).replace("\n", " ")
        module = check.split("::", 1)[0]
        where = f" file={module}," if module.endswith(".py") else " "
        if fields.get("to") == "failing":
            reason = fields.get("reason")
            out.write(f"::error{where}title=synthmon check failing::{check}: {reason}\n")
        elif fields.get("to") == "skipped":
            reason = fields.get("reason")
            out.write(f"::warning{where}title=synthmon check skipped (not a pass)::{check}: "
                      f"{reason}\n")
        elif fields.get("to") == "recovered":
            out.write(f"::notice{where}title=synthmon check recovered::{check}\n")
        out.flush()

    return sink


def fan_out(*sinks: EventSink) -> EventSink:
    def sink(event: str, fields: dict[str, Any]) -> None:
        for s in sinks:
            s(event, fields)

    return sink
