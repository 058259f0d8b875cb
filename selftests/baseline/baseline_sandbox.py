"""Start `synthmon sandbox` as a process on a free loopback port; always stopped after
(synthmon.sandbox_process, the one launcher, yielding only the URL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from synthmon.sandbox_process import running_sandbox


@contextlib.contextmanager
def sandbox_url(workdir: Path, name: str, *args: str) -> Iterator[str]:
    with running_sandbox(workdir / name, *args) as box:
        yield box.url
