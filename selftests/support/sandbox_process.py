"""The one way selftests start a sandbox: `synthmon sandbox --port 0 --ready-file F` as a
process (DESIGN.md's wall: nobody outside the sandbox imports it), wait for F, stop it after.

    with running_sandbox(tmp_path / "canary", cohort="canary", faults=["latency:ms=60"]) as box:
        requests.get(box.url + "/health", timeout=5)
        box.set_faults("not-ready")

Every file of one sandbox (ready.json, stdout.txt, stderr.txt) sits in its own `workdir`,
so two sandboxes need two workdirs. The process runs in its own session (Ctrl-C at the
terminal reaches pytest, which stops it in order) and gets SIGTERM if pytest itself dies
(Linux PR_SET_PDEATHSIG), so a killed selftest run leaves no sandbox behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0  # a cold start on a busy 2-core machine takes a few seconds
STOP_TIMEOUT_S = 10.0
ADMIN_TIMEOUT_S = 10.0


class SandboxStartError(RuntimeError):
    """The sandbox exited or did not write its ready file in time."""


@dataclass
class SandboxProcess:
    """A running `synthmon sandbox`: what its ready file said, and where its output goes."""

    url: str
    admin_token: str
    pid: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    stdout: Path  # the "serving on URL" line
    stderr: Path  # errors, and the access log unless access_log is set
    access_log: Path | None

    def set_faults(self, *specs: str) -> None:
        """Replace the runtime faults (PUT /__admin/faults, docs/faults.md); none clears them."""
        answer = requests.put(f"{self.url}/__admin/faults", json={"faults": list(specs)},
                              headers={"X-Admin-Token": self.admin_token},
                              timeout=ADMIN_TIMEOUT_S)
        if answer.status_code != 200:
            raise RuntimeError(f"the sandbox refused faults {list(specs)}: "
                               f"{answer.status_code} {answer.text[:500]}")

    def clear_faults(self) -> None:
        answer = requests.delete(f"{self.url}/__admin/faults",
                                 headers={"X-Admin-Token": self.admin_token},
                                 timeout=ADMIN_TIMEOUT_S)
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"the sandbox did not clear its faults: "
                               f"{answer.status_code} {answer.text[:500]}")

    def log_lines(self) -> list[dict[str, Any]]:
        """The access log's JSON lines so far (a half-written last line is skipped)."""
        path = self.access_log or self.stderr
        lines = []
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    lines.append(entry)
        return lines

    def stop(self, sig: int = signal.SIGTERM) -> int:
        return stop_process(self.proc, sig)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Send `sig`, wait, then SIGKILL; its exit code. A process that leads its own group
    (start_sandbox starts it in its own session) gets the signals as a group, so nothing it
    spawned outlives it; any other process (e.g. a Prometheus) gets them alone."""
    if proc.poll() is None:
        try:
            group = os.getpgid(proc.pid) == proc.pid
        except ProcessLookupError:
            group = False
        _signal(proc, sig, group)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL, group)
            proc.wait(STOP_TIMEOUT_S)
    return int(proc.returncode)


def _signal(proc: subprocess.Popen[bytes], sig: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].strip() or "(empty)"
    except OSError:
        return "(missing)"


def start_sandbox(workdir: Path, *args: str, faults: Sequence[str] = (),
                  cohort: str | None = None, build_id: str | None = None,
                  git_sha: str | None = None, admin_token: str | None = None,
                  access_log: Path | None = None, port: int = 0,
                  env: Mapping[str, str] | None = None,
                  timeout: float = START_TIMEOUT_S) -> SandboxProcess:
    """Start a sandbox and wait until it serves. `args` go last (a later option wins);
    `env` is added to this process's environment. The caller must stop it: prefer
    `running_sandbox`, which always does."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready, out, err = workdir / "ready.json", workdir / "stdout.txt", workdir / "stderr.txt"
    ready.unlink(missing_ok=True)  # a ready file left by an earlier sandbox is not ours
    options: list[str] = [arg for spec in faults for arg in ("--fault", spec)]
    for flag, value in (("--cohort", cohort), ("--build-id", build_id), ("--git-sha", git_sha),
                        ("--admin-token", admin_token), ("--access-log", access_log)):
        if value is not None:
            options += [flag, str(value)]
    command = [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1",
               "--port", str(port), "--ready-file", str(ready), *options, *args]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, env={**os.environ, **(env or {})},
                                start_new_session=True, preexec_fn=_die_with_parent)
    try:
        info = _wait_ready(proc, ready, timeout)
    except BaseException:
        stop_process(proc)
        raise
    if not info or info.get("pid") != proc.pid:
        stop_process(proc)
        raise SandboxStartError(f"the sandbox in {workdir} wrote a ready file that is not its "
                                f"own: {info}")
    return SandboxProcess(url=str(info["url"]), admin_token=str(info["admin_token"]),
                          pid=proc.pid, proc=proc, workdir=workdir, stdout=out, stderr=err,
                          access_log=access_log)


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        if ready.exists():  # written atomically (tmp then rename): complete when it exists
            info: dict[str, Any] = json.loads(ready.read_text())
            return info
        code = proc.poll()
        if code is not None or time.monotonic() > deadline:
            what = (f"exited with code {code}" if code is not None
                    else f"wrote no ready file within {timeout:.0f} s")
            raise SandboxStartError(
                f"the sandbox ({' '.join(proc.args[3:])}) {what}.\n"  # type: ignore[index]
                f"stderr: {_tail(ready.parent / 'stderr.txt')}\n"
                f"stdout: {_tail(ready.parent / 'stdout.txt')}")
        time.sleep(0.05)


@contextlib.contextmanager
def running_sandbox(workdir: Path, *args: str, **options: Any) -> Iterator[SandboxProcess]:
    """`start_sandbox(...)` for the length of a with-block; stopped (group killed) after."""
    box = start_sandbox(workdir, *args, **options)
    try:
        yield box
    finally:
        box.stop()
