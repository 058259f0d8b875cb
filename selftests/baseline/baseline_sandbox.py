"""Start `synthmon sandbox` as a process on a free loopback port; always stopped after
(the shared selftests/support/sandbox_process.py, yielding only the URL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from support.sandbox_process import running_sandbox


@contextlib.contextmanager
def sandbox_url(workdir: Path, name: str, *args: str) -> Iterator[str]:
    with running_sandbox(workdir / name, *args) as box:
        yield box.url
