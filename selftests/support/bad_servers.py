"""Targets that answer badly on purpose, on a free loopback port, for the client's selftests:
a body that trickles, headers that trickle, a connection closed mid-body, a huge body.

Each reads one request per connection, plays its script on the raw socket and stops by
itself: when the client goes away (a failed send), when the script ends, or when the block
ends (every connection is closed then).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

Script = Callable[[socket.socket, threading.Event], None]

HEALTH_BODY = (b'{"status": "ok", "build_id": "b1", "git_sha": "abcdef1", "uptime_seconds": 1, '
               b'"cohort": "canary"}')

HEALTH_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@contextlib.contextmanager
def raw_server(script: Script, healthy: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve `script(connection, stop)` once per connection; yields the base URL. Requests
    for a path in `healthy` get a good /health answer instead (so the suite's probe finds
    the target up and the checks' own calls meet the script)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    connections: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            path = request.split(b" ", 2)[1].split(b"?", 1)[0].decode("latin-1")
            if path in healthy:
                conn.sendall(HEALTH_HEAD + f"Content-Length: {len(HEALTH_BODY)}\r\n"
                             "Connection: close\r\n\r\n".encode() + HEALTH_BODY)
            else:
                script(conn, stop)
        with contextlib.suppress(OSError):
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            connections.append(conn)
            thread = threading.Thread(target=serve, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(2)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.close()
        for thread in threads:
            thread.join(2)
        listener.close()


def trickling_body(every_s: float, length: int = 10_000) -> Script:
    """Headers at once (Content-Length `length`), then one body byte every `every_s`."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(HEALTH_HEAD + f"Content-Length: {length}\r\n\r\n".encode())
        for _ in range(length):
            if stop.wait(every_s):
                return
            conn.sendall(b" ")
    return script


def trickling_headers(every_s: float) -> Script:
    """The status line, then one header byte every `every_s`: never a complete head."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(every_s):
            conn.sendall(b"X")
    return script


def closing_mid_body(sent: int, announced: int, chunked: bool = False) -> Script:
    """Headers promising `announced` bytes (or a chunked body), `sent` of them, then close."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        if chunked:
            conn.sendall(HEALTH_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
                         + f"{announced:x}\r\n".encode() + b"x" * sent)
        else:
            conn.sendall(HEALTH_HEAD + f"Content-Length: {announced}\r\n\r\n".encode()
                         + b"x" * sent)
        conn.shutdown(socket.SHUT_RDWR)
    return script


def huge_body(size: int, announce: bool = True, chunk: int = 1 << 16) -> Script:
    """A body of `size` bytes, as fast as the client reads it (Content-Length or chunked)."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        block = b"0" * chunk
        if announce:
            conn.sendall(HEALTH_HEAD + f"Content-Length: {size}\r\n\r\n".encode())
        else:
            conn.sendall(HEALTH_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        left = size
        started = time.monotonic()
        while left > 0 and not stop.is_set() and time.monotonic() - started < 30:
            part = block[:min(chunk, left)]
            conn.sendall(part if announce else f"{len(part):x}\r\n".encode() + part + b"\r\n")
            left -= len(part)
        if not announce:
            conn.sendall(b"0\r\n\r\n")
    return script
