"""Start `synthmon sandbox` as a process on a free loopback port; always stopped after."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def sandbox_url(workdir: Path, name: str, *args: str) -> Iterator[str]:
    ready = workdir / f"{name}-ready.json"
    err_path = workdir / f"{name}.err"
    with err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "synthmon.cli", "sandbox", "--host", "127.0.0.1",
             "--port", "0", "--ready-file", str(ready), *args],
            stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start: "
                                   + err_path.read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        yield json.loads(ready.read_text())["url"]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
