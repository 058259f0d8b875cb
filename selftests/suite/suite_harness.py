"""Run the synthetic suite the way QA and CI do, in a subprocess, against a chosen target.

The selftests never import the checks: they start a sandbox (with faults) or a misbehaving
stand-in server, run `pytest --target URL` and read what it printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
from support.http_stub import serving

from synthmon.sandbox_process import SandboxProcess, running_sandbox

REPO = Path(__file__).resolve().parents[2]
SUITE_TIMEOUT_S = 120  # a backstop: the suite must end long before this by itself


@dataclass
class SuiteRun:
    returncode: int
    output: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.returncode == 0


@contextlib.contextmanager
def sandbox(*faults: str, access_log: str = "-") -> Iterator[str]:
    """A `synthmon sandbox` process on a free port, with these fault SPECs; yields its URL
    (synthmon.sandbox_process, the one launcher; "-" keeps the access log on stderr)."""
    with sandbox_process(*faults, access_log=access_log) as box:
        yield box.url


@contextlib.contextmanager
def sandbox_process(*faults: str, args: tuple[str, ...] = (),
                    access_log: str = "-") -> Iterator[SandboxProcess]:
    """The same, yielding the process (its URL, admin token, access log, CA file);
    `args` are further `synthmon sandbox` options (`--tls`, `--catalogue alternate`)."""
    with tempfile.TemporaryDirectory(prefix="synthmon-sandbox-") as workdir, running_sandbox(
            Path(workdir), *args, faults=faults,
            access_log=None if access_log == "-" else Path(access_log)) as box:
        yield box


def suite_env(extra: dict[str, str] | None) -> dict[str, str]:
    """This environment without the PYTEST_, SYNTH_, SANDBOX_ and OTEL_ settings of the
    shell that runs the selftests, with `extra` on top."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "SYNTH_", "SANDBOX_", "OTEL_"))}
    env.update(extra or {})
    return env


def run_suite(target: str, *args: str, env: dict[str, str] | None = None,
              timeout: float = SUITE_TIMEOUT_S, reports_dir: str | None = None) -> SuiteRun:
    """`pytest --target TARGET ARGS` from the repository root, as QA would type it."""
    with tempfile.TemporaryDirectory(prefix="synthmon-selftest-") as scratch:
        reports = reports_dir or scratch
        command = [sys.executable, "-m", "pytest", "--target", target, "-p", "no:cacheprovider",
                   "-q", "-rfE", f"--reports-dir={reports}", *args]
        started = time.monotonic()
        done = subprocess.run(command, cwd=REPO, env=suite_env(env), capture_output=True,
                              text=True, timeout=timeout, check=False)
        return SuiteRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def latest_summary(reports: Path) -> dict[str, Any]:
    """reports/latest/summary.json, asserted valid against schemas/summary.schema.json."""
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    schema = json.loads((REPO / "schemas" / "summary.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = [e.message for e in validator.iter_errors(summary)]
    assert not errors, errors[:5]
    return summary


def closed_port_url() -> str:
    """A loopback URL nobody listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def hanging_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


@contextlib.contextmanager
def canned_server(status: int, content_type: str, body: bytes,
                  answer: Callable[[], tuple[int, str, bytes]] | None = None) -> Iterator[str]:
    """Answers every request with the same status, content type and body (or what
    `answer()` returns, called once per request)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            code, ctype, payload = answer() if answer else (status, content_type, body)
            self._send(code, ctype, payload)

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url
