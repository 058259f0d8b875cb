"""Run the sandbox under uvicorn (httptools + uvloop), on a free port if asked, and write
the ready file once the socket is listening."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .settings import Settings


def write_ready_file(path: str, payload: dict[str, Any]) -> None:
    """Atomically: whoever polls for the file never reads half of it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, target)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises the captured signal after its graceful shutdown; for this
        # command SIGINT/SIGTERM are the normal way to stop, so it exits 0 instead.
        self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _loop_and_http() -> tuple[str, str]:
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:  # still works, about half as fast
        http = "h11"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return loop, http


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8765,
          ready_file: str | None = None,
          announce: Callable[[str, str | None], None] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit status."""
    app = create_app(settings)  # raises FaultSpecError before anything listens
    with contextlib.ExitStack() as cleanup:
        tls_options: dict[str, Any] = {}
        ready: dict[str, Any] = {"admin_token": settings.admin_token, "pid": os.getpid()}
        if settings.tls is not None:
            from .tls import issue, private_workdir

            workdir = cleanup.enter_context(private_workdir())
            certificate = issue(settings.tls, host, Path(workdir))
            tls_options = {"ssl_certfile": str(certificate.cert_file),
                           "ssl_keyfile": str(certificate.key_file)}
            ready.update(ca_file=str(certificate.ca_file), certificate_names=certificate.names,
                         certificate_not_after=certificate.not_after.isoformat())
        sock = _bind(host, port)
        cleanup.callback(_close, sock)
        shown_host = f"[{host}]" if ":" in host else host
        scheme = "https" if settings.tls is not None else "http"
        url = f"{scheme}://{shown_host}:{sock.getsockname()[1]}"
        loop, http = _loop_and_http()
        config = uvicorn.Config(app, loop=loop, http=http, lifespan="on", access_log=False,
                                server_header=False, log_level="warning",
                                timeout_graceful_shutdown=5, timeout_keep_alive=30,
                                **tls_options)

        def on_started() -> None:
            # Announced (and flushed: stdout is a file or a pipe for a launcher) before the
            # ready file appears, so whoever waits for that file finds the lines written.
            if announce is not None:
                announce(url, ready.get("ca_file"))
                sys.stdout.flush()
            if ready_file:
                write_ready_file(ready_file, {"url": url, **ready})

        server = _Server(config, on_started)
        server.run(sockets=[sock])
    if not server.started:
        print("synthmon sandbox: the server did not start", file=sys.stderr)
        return 1
    return 0
