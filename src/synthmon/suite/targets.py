"""Which API the checks talk to: a URL, a target named in the policy, or the embedded sandbox.

The embedded sandbox is started as a process (`synthmon sandbox --port 0 --ready-file F`):
the checks speak HTTP to it exactly as to production and never import it. It is started
lazily, by whichever process first needs a target (the xdist controller hands it to its
workers), and stopped by the process that started it, at session end, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from synthmon.policy import Policy

EMBEDDED = "embedded"
DEFAULT_TARGET = "sandbox"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class TargetError(Exception):
    """The target cannot be used: unknown name, sandbox failed to start, wrong build..."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    name: str  # the policy's name, or "url"
    url: str | None  # None: start the embedded sandbox
    cohort: str
    environment: str


def resolve(value: str | None, policy: Policy) -> TargetSpec:
    """--target / SYNTH_TARGET -> TargetSpec; no value means the policy's `sandbox` target."""
    value = (value or "").strip() or DEFAULT_TARGET
    if value.startswith(("http://", "https://")):
        return TargetSpec("url", value.rstrip("/"), "control", "custom")
    targets = policy.targets
    if value not in targets:
        if value == DEFAULT_TARGET:
            return TargetSpec(DEFAULT_TARGET, None, "control", "sandbox")
        raise TargetError(
            f"--target {value}: neither an http(s) URL nor a target named in {policy.path} "
            f"(known: {', '.join(sorted(targets))})"
        )
    entry = targets[value]
    url = str(entry.get("url", ""))
    return TargetSpec(
        name=value,
        url=None if url == EMBEDDED else url.rstrip("/"),
        cohort=str(entry.get("cohort", "control")),
        environment=str(entry.get("environment", "sandbox" if url == EMBEDDED else "custom")),
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the sandbox gets SIGTERM if pytest dies without cleaning up (SIGKILL, OOM)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedSandbox:
    """One `synthmon sandbox` process owned by this Python process."""

    def __init__(self, extra_args: list[str] | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="synthmon-sandbox-"))
        self.ready_file = self.workdir / "ready.json"
        self.log_file = self.workdir / "sandbox.log"
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    def start(self) -> None:
        """Spawn the process; does not wait for it (see wait_ready)."""
        if self.process is not None:
            return
        command = [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1",
                   "--port", "0", "--ready-file", str(self.ready_file), *self.extra_args]
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                # own session: the terminal's Ctrl-C reaches pytest, which stops us in order
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        if self._url is None:
            self.start()
            process = self.process
            assert process is not None
            self._url = wait_for_ready_file(
                self.ready_file, lambda: process.poll() is None, self.log_file, timeout
            )
        return self._url

    def handoff(self) -> dict[str, object]:
        """What an xdist worker needs to wait for this sandbox itself."""
        self.start()
        assert self.process is not None
        return {"ready_file": str(self.ready_file), "pid": self.process.pid,
                "log_file": str(self.log_file)}

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
        shutil.rmtree(self.workdir, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_ready_file(
    ready_file: Path, alive: Callable[[], bool], log_file: Path, timeout: float = START_TIMEOUT_S
) -> str:
    """Wait until the sandbox wrote its ready file (atomically) and return its URL."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if ready_file.exists():
            try:
                return str(json.loads(ready_file.read_text(encoding="utf-8"))["url"]).rstrip("/")
            except (OSError, ValueError, KeyError) as exc:
                raise TargetError(
                    f"the embedded sandbox wrote an unreadable {ready_file}: {exc}") from exc
        if not alive():
            raise TargetError("the embedded sandbox exited before it was ready: " + _tail(log_file))
        if time.monotonic() > deadline:
            raise TargetError(
                f"the embedded sandbox was not ready after {timeout:.0f} s: " + _tail(log_file)
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _tail(log_file: Path, lines: int = 8) -> str:
    try:
        text = log_file.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-lines:]) or "(empty log)"
