"""What Alertmanager delivers to, inside the test: one loopback HTTP server that records
every POST (its path names the receiver, its JSON body is the notification as PagerDuty,
Slack or a webhook would get it), and a forward proxy that can drop every connection.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Delivery:
    receiver: str  # the first path segment: /oncall -> oncall
    body: dict[str, Any]
    at: float  # time.time() when it arrived


@dataclass
class Inbox:
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)

    def since(self, start: float, receiver: str | None = None) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries
                    if d.at >= start and (receiver is None or d.receiver == receiver)]

    def wait_for(self, what: str, found: Callable[[list[Delivery]], bool], start: float,
                 timeout: float) -> list[Delivery]:
        """Deliveries since `start` once `found` holds for them; AssertionError (with what
        did arrive) after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.since(start)
            if found(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; "
                                     f"delivered meanwhile: {describe(got)}")
            time.sleep(0.2)


def describe(deliveries: list[Delivery]) -> str:
    return "; ".join(f"{d.receiver}: {summary(d)}" for d in deliveries) or "nothing"


def summary(delivery: Delivery) -> str:
    body = delivery.body
    if "event_action" in body:  # PagerDuty Events v2
        return f"{body['event_action']} {body.get('payload', {}).get('summary', '')}"
    if "attachments" in body or "text" in body:  # Slack
        attachments = body.get("attachments") or [{}]
        return str(attachments[0].get("title", body.get("text", "")))
    return f"{body.get('status')} {body.get('commonLabels', {}).get('alertname')}"


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, Inbox]]:
    """Yields (base URL, inbox); Alertmanager posts to base/<receiver name>."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"unparsed": raw.decode(errors="replace")}
            inbox.add(Delivery(self.path.strip("/").split("/")[0], body, time.time()))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", inbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class ForwardProxy:
    """A plain-HTTP forward proxy on loopback (what HTTP_PROXY points at). Forwarding, it
    rewrites each request to the origin form with `Connection: close` and pipes the answer
    back; dropping, it accepts each connection and closes it at once, as a broken egress
    proxy or firewall of one probe location does."""

    def __init__(self) -> None:
        self.dropping = threading.Event()
        self.dropped = 0
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handle(self, client: socket.socket) -> None:
        if self.dropping.is_set():
            self.dropped += 1
            client.close()
            return
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ", 2)
        url = urlsplit(target)
        headers = [h for h in rest.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                   if h and not h.lower().startswith((b"connection:", b"proxy-connection:"))]
        body = rest.split(b"\r\n\r\n", 1)[1]
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        request = (f"{method} {path} {version}\r\n".encode("latin-1")
                   + b"\r\n".join([*headers, b"Connection: close"]) + b"\r\n\r\n" + body)
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80),
                                      timeout=10) as upstream:
            upstream.sendall(request)
            _pipe(client, upstream)
        client.close()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Both ways until the upstream closes (it does: Connection: close)."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (client if sock is upstream else upstream).sendall(data)
