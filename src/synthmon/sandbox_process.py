"""The one way to start the embedded sandbox: `synthmon sandbox --port 0 --ready-file F` as a
process, wait for F, stop it after. Used by the suite (the embedded target), the gate's
calibration, the selftests and the benchmarks alike.

    with running_sandbox(cohort="canary", faults=["latency:ms=60"]) as box:
        requests.get(box.url + "/health", timeout=5)
        box.set_faults("not-ready")

A process, never an import (DESIGN.md's wall: nobody outside the sandbox imports it), so
whoever starts it speaks HTTP to it exactly as to production. Every file of one sandbox
(ready.json, stdout.txt, stderr.txt) sits in its own `workdir` (a temporary one unless
given). The process leads its own session (the terminal's Ctrl-C reaches whoever started
it, which stops it in order) and gets SIGTERM if its parent dies without cleaning up
(Linux PR_SET_PDEATHSIG), so a killed run leaves no sandbox behind.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 60.0  # a cold start on a busy 2-core machine takes a few seconds
STOP_TIMEOUT_S = 10.0
ADMIN_TIMEOUT_S = 10.0


class SandboxStartError(RuntimeError):
    """The sandbox exited, or did not write its ready file in time."""


@dataclass
class SandboxProcess:
    """A `synthmon sandbox` process; `url` and `admin_token` once `wait_ready()` returned."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    access_log: Path | None = None
    owns_workdir: bool = False
    url: str = ""
    admin_token: str = ""
    terminated: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ready_file(self) -> Path:
        return self.workdir / "ready.json"

    @property
    def ca_file(self) -> str:
        """The throwaway CA of a `--tls` sandbox (its ready file names it)."""
        info = json.loads(self.ready_file.read_text(encoding="utf-8"))
        if "ca_file" not in info:
            raise RuntimeError(f"the sandbox in {self.workdir} serves no HTTPS "
                               f"(start it with --tls)")
        return str(info["ca_file"])

    @property
    def stdout(self) -> Path:  # the "serving on URL" line
        return self.workdir / "stdout.txt"

    @property
    def stderr(self) -> Path:  # errors, and the access log unless access_log is set
        return self.workdir / "stderr.txt"

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> SandboxProcess:
        """Wait until the process wrote its ready file; stopped again if it never does."""
        if self.url:
            return self
        try:
            info = wait_for_ready_file(self.ready_file, lambda: self.proc.poll() is None,
                                       timeout, self._failure)
        except BaseException:
            self.stop()
            raise
        if info.get("pid") != self.proc.pid:
            self.stop()
            raise SandboxStartError(f"the sandbox in {self.workdir} wrote a ready file that is "
                                    f"not its own: {info}")
        self.url = str(info["url"]).rstrip("/")
        self.admin_token = str(info.get("admin_token", ""))
        return self

    def _failure(self, what: str) -> str:
        args = self.proc.args  # [python, -m, synthmon.cli, sandbox, its options...]
        shown = " ".join(str(a) for a in args[3:]) if isinstance(args, list) else str(args)
        return (f"the sandbox ({shown}) {what}.\n"
                f"stderr: {_tail(self.stderr)}\nstdout: {_tail(self.stdout)}")

    def set_faults(self, *specs: str) -> None:
        """Replace the runtime faults (PUT /__admin/faults, docs/faults.md); none clears them."""
        import requests

        answer = requests.put(f"{self.url}/__admin/faults", json={"faults": list(specs)},
                              headers={"X-Admin-Token": self.admin_token},
                              timeout=ADMIN_TIMEOUT_S)
        if answer.status_code != 200:
            raise RuntimeError(f"the sandbox refused faults {list(specs)}: "
                               f"{answer.status_code} {answer.text[:500]}")

    def clear_faults(self) -> None:
        import requests

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

    def terminate(self, sig: int = signal.SIGTERM) -> None:
        """Ask it to stop (`sig` to its group, SIGTERM by default) without waiting: it shuts
        down while its starter finishes its own work; stop() then waits for it."""
        if self.proc.poll() is None and not self.terminated:
            _signal(self.proc, sig, _leads_its_group(self.proc))
            self.terminated = True

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop it (the whole group), then remove a temporary workdir; its exit code."""
        code = wait_or_kill(self.proc) if self.terminated else stop_process(self.proc, sig)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code


def spawn_sandbox(workdir: Path | None = None, *args: str, faults: Sequence[str] = (),
                  cohort: str | None = None, build_id: str | None = None,
                  git_sha: str | None = None, admin_token: str | None = None,
                  access_log: Path | str | None = None, port: int = 0,
                  env: Mapping[str, str] | None = None,
                  cwd: Path | None = None) -> SandboxProcess:
    """Start a sandbox without waiting for it (see SandboxProcess.wait_ready). `args` go
    last (a later option wins); `env` is added to this process's environment; `access_log`
    "-" turns the access log off. The caller must stop it: prefer `running_sandbox`."""
    owns = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="synthmon-sandbox-")) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    ready.unlink(missing_ok=True)  # a ready file left by an earlier sandbox is not ours
    options: list[str] = [arg for spec in faults for arg in ("--fault", spec)]
    for flag, value in (("--cohort", cohort), ("--build-id", build_id), ("--git-sha", git_sha),
                        ("--admin-token", admin_token), ("--access-log", access_log)):
        if value is not None:
            options += [flag, str(value)]
    command = [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1",
               "--port", str(port), "--ready-file", str(ready), *options, *args]
    with (workdir / "stdout.txt").open("wb") as stdout, \
            (workdir / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            env={**os.environ, **env} if env else None, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    log = Path(access_log) if access_log not in (None, "-") else None
    return SandboxProcess(proc=proc, workdir=workdir, access_log=log, owns_workdir=owns)


def start_sandbox(workdir: Path | None = None, *args: str, timeout: float = START_TIMEOUT_S,
                  **options: Any) -> SandboxProcess:
    """`spawn_sandbox(...)` and wait until it serves."""
    return spawn_sandbox(workdir, *args, **options).wait_ready(timeout)


@contextlib.contextmanager
def running_sandbox(workdir: Path | None = None, *args: str,
                    **options: Any) -> Iterator[SandboxProcess]:
    """`start_sandbox(...)` for the length of a with-block; stopped (group killed) after."""
    box = start_sandbox(workdir, *args, **options)
    try:
        yield box
    finally:
        box.stop()


def wait_for_ready_file(ready_file: Path, alive: Callable[[], bool],
                        timeout: float = START_TIMEOUT_S,
                        describe: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The JSON a server wrote (atomically: tmp then rename) to `ready_file` once it
    listens; SandboxStartError if it exits first or takes longer than `timeout`."""
    describe = describe or (lambda what: f"the server {what}")
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if ready_file.exists():
            try:
                info = json.loads(ready_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SandboxStartError(describe(f"wrote an unreadable {ready_file} ({exc})")) \
                    from exc
            if not isinstance(info, dict) or "url" not in info:
                raise SandboxStartError(describe(f"wrote {ready_file} without a url"))
            return info
        if not alive():
            raise SandboxStartError(describe("exited before it was ready"))
        if time.monotonic() > deadline:
            raise SandboxStartError(describe(f"wrote no ready file within {timeout:.0f} s"))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Send `sig`, wait, then SIGKILL; its exit code. A process that leads its own group
    (spawn_sandbox starts it in its own session) gets the signals as a group, so nothing it
    spawned outlives it; any other process (e.g. a Prometheus) gets them alone."""
    if proc.poll() is None:
        _signal(proc, sig, _leads_its_group(proc))
    return wait_or_kill(proc)


def wait_or_kill(proc: subprocess.Popen[bytes]) -> int:
    """Wait for a process asked to stop; SIGKILL (its group too) after STOP_TIMEOUT_S."""
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL, _leads_its_group(proc))
        proc.wait(STOP_TIMEOUT_S)
    return int(proc.returncode)


def _leads_its_group(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def _signal(proc: subprocess.Popen[bytes], sig: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].strip() or "(empty)"
    except OSError:
        return "(missing)"
