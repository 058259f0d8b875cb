"""`synthmon gate serve` as a process on a free loopback port, for the selftests: started
with --port 0 --ready-file, waited for, stopped with SIGTERM (killed if it hangs)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0  # imports and the first bind on a loaded 2-core host
STOP_TIMEOUT_S = 60.0


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[str]
    workdir: Path

    def verdict(self, phase: str | None = None) -> dict[str, Any]:
        params = {"phase": phase} if phase else {}
        answer = requests.get(f"{self.url}/api/v1/verdict", params=params, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def wait_for(self, predicate, timeout_s: float, what: str,
                 phase: str | None = None) -> dict[str, Any]:
        """Poll the verdict (as an orchestrator would) until `predicate` holds."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.verdict(phase)
            if predicate(last):
                return last
            time.sleep(0.5)
        raise AssertionError(f"{what} did not happen within {timeout_s:g} s; last verdict: "
                             f"{last.get('verdict')} ({last.get('summary', '')[:300]})")

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as Kubernetes stops a pod; its exit code and output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
            raise AssertionError(f"gate serve did not stop within {STOP_TIMEOUT_S:g} s of "
                                 f"SIGTERM:\n{out[-2000:]}") from None
        return self.proc.returncode, out


@contextlib.contextmanager
def gate_serve(workdir: Path, *args: str, env: dict[str, str] | None = None
               ) -> Iterator[Served]:
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    env = {**os.environ, "SYNTH_REPORTS_DIR": str(workdir / "reports"), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthmon.cli", "gate", "serve", "--port", "0", "--ready-file",
         str(ready), "--out", str(workdir / "out"), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    served = None
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.communicate(timeout=5)[0] if proc.poll() is not None else ""
                raise AssertionError(f"gate serve did not start (exit {proc.poll()}):\n{out}")
            time.sleep(0.2)
        served = Served(json.loads(ready.read_text())["url"], proc, workdir)
        yield served
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
