"""What the benchmarks share: a sandbox process on a free loopback port.

Benchmarks run as `python bench/NAME.py`, so this module is importable as `_sandbox`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def wait_ready(proc: subprocess.Popen[bytes], ready: Path, timeout: float = 60) -> str:
    """The URL from the ready file; kills the process and exits with a sentence if it never
    comes."""
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"the sandbox did not start within {timeout:g} s")
        time.sleep(0.05)
    return str(json.loads(ready.read_text())["url"])


def start_sandbox(workdir: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`synthmon sandbox --port 0` with extra `args`; returns the process and its URL."""
    ready = workdir / "sandbox-ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1", "--port", "0",
         f"--ready-file={ready}", *args],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, wait_ready(proc, ready)


@contextlib.contextmanager
def running_sandbox(workdir: Path, *args: str) -> Iterator[str]:
    proc, url = start_sandbox(workdir, *args)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
