"""amtool and the Alertmanager binary for the alerting selftests: a missing one fails with
the command that installs it, never skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL = "run `make system-deps` (Debian's prometheus-alertmanager package) and try again"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed, so the Alertmanager configuration cannot be "
                    f"checked: {INSTALL}")
    return path


def amtool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("amtool"), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def routes_for(config: Path, **labels: str) -> list[str]:
    """The receivers Alertmanager would notify for an alert with these labels."""
    done = amtool("config", "routes", "test", f"--config.file={config}",
                  *(f"{k}={v}" for k, v in labels.items()))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().split(",")
