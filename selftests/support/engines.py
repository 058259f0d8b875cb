"""The real Prometheus and Alertmanager for end-to-end selftests: Debian's binaries on free
loopback ports, each with its own files in a workdir, stopped when the with-block ends.

A missing binary fails with the command that installs it (never a skip). Alertmanager's
cluster listener is switched off: it would bind every interface on port 9094.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from synthmon.sandbox_process import stop_process

START_TIMEOUT_S = 60.0
INSTALL = "run `make system-deps` (Debian's prometheus and prometheus-alertmanager packages)"


def binary(name: str, what: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed, so {what} cannot run: {INSTALL} and try again")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_until(what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes],
               log: Path, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def _serving(what: str, command: list[str], workdir: Path, url: str) -> Iterator[str]:
    log = workdir / f"{what}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        wait_until(what, lambda: answers(f"{url}/-/ready"), process, log)
        yield url
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_prometheus(workdir: Path, config: dict[str, Any], what: str) -> Iterator[str]:
    """Prometheus with `config` (prometheus.yml as a dict); yields its base URL. `what` names
    the test in the message when the binary is missing."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    command = [binary("prometheus", what), f"--config.file={path}",
               f"--storage.tsdb.path={workdir / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h",
               "--log.level=warn"]
    with _serving("prometheus", command, workdir, f"http://127.0.0.1:{port}") as url:
        yield url


@contextlib.contextmanager
def running_alertmanager(workdir: Path, config_file: Path, what: str) -> Iterator[str]:
    """Alertmanager with a configuration file (as `synthmon alertmanager` writes it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [binary("prometheus-alertmanager", what), f"--config.file={config_file}",
               f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--cluster.listen-address=", "--log.level=warn"]
    with _serving("alertmanager", command, workdir, f"http://127.0.0.1:{port}") as url:
        yield url


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def firing_alerts(prometheus: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{prometheus}/api/v1/alerts", timeout=5)
    answer.raise_for_status()
    return [a for a in answer.json()["data"]["alerts"] if a["state"] == "firing"]
