"""Start `synthmon sandbox` as a process on a free loopback port, and switch its faults."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass
class Sandbox:
    url: str
    admin_token: str
    process: subprocess.Popen[bytes]

    def set_faults(self, *specs: str) -> None:
        answer = requests.put(
            f"{self.url}/__admin/faults", json={"faults": list(specs)},
            headers={"X-Admin-Token": self.admin_token}, timeout=5,
        )
        answer.raise_for_status()


@contextlib.contextmanager
def running_sandbox(tmp_path: Path, *args: str) -> Iterator[Sandbox]:
    ready = tmp_path / "sandbox-ready.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1", "--port", "0",
         "--ready-file", str(ready), "--access-log", str(tmp_path / "access.log"), *args],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "sandbox.err").open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                err = (tmp_path / "sandbox.err").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the sandbox did not start: {err}")
            time.sleep(0.1)
        info = json.loads(ready.read_text())
        yield Sandbox(info["url"], info["admin_token"], process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
