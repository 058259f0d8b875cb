"""Start `synthmon sandbox` as a process on a free loopback port, and switch its faults
(synthmon.sandbox_process, the one launcher; this name keeps the monitor tests' imports)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from synthmon.sandbox_process import SandboxProcess
from synthmon.sandbox_process import running_sandbox as _running

Sandbox = SandboxProcess


@contextlib.contextmanager
def running_sandbox(tmp_path: Path, *args: str) -> Iterator[Sandbox]:
    """The sandbox's files go to tmp_path/sandbox; its access log to tmp_path/access.log."""
    with _running(tmp_path / "sandbox", *args, access_log=tmp_path / "access.log") as box:
        yield box
