"""JSON access log lines: ids, route template, status, timing. Never bodies, emails,
tokens, cookies or raw query strings (they may carry PII)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


class AccessLog:
    def __init__(self, target: str | None) -> None:
        # None: stderr; "-": off (the overhead benchmark); anything else: a file appended to.
        self._enabled = target != "-"
        self._own = False
        self._stream: TextIO = sys.stderr
        if target is not None and target != "-":
            self._stream = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._own = True
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        if not self._enabled:
            return
        line = json.dumps({"ts": round(time.time(), 3), **record}, separators=(",", ":"))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._own:
            self._stream.close()
