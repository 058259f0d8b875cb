"""Where a call's time goes, as blackbox_exporter, Datadog and Checkly show it: dns,
connect, tls, ttfb (the request written, waiting for the headers) and transfer (the body).

Pooled connections hide every handshake after the first, so one call per check goes over a
fresh connection of its own (a throwaway adapter whose connections time their set-up, and
which the call's deadline cuts like any other) and the rest keep the pool. The phases add
up to the call's total: dns + connect + tls is the connection set-up, ttfb the rest of the
time to the headers, transfer the body.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from synthmon.samples import PHASES
from synthmon.suite.deadline import WatchedHTTPConnection, WatchedHTTPSConnection


def _timed_new_conn(conn: HTTPConnection, new_conn: Callable[[], socket.socket]
                    ) -> tuple[socket.socket, dict[str, float]]:
    """The connection's socket, the name looked up first on its own clock, then connected
    to the address it resolved to; with the dns and connect times (ms)."""
    started = time.perf_counter()
    try:
        resolved = socket.getaddrinfo(conn._dns_host, conn.port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    looked_up = time.perf_counter()
    name, conn._dns_host = conn._dns_host, str(resolved[0][4][0])
    try:
        sock = new_conn()
    finally:
        conn._dns_host = name
    return sock, {"dns": (looked_up - started) * 1000.0,
                  "connect": (time.perf_counter() - looked_up) * 1000.0, "tls": 0.0}


class TimedHTTPConnection(WatchedHTTPConnection):
    setup_ms: dict[str, float]

    def _new_conn(self) -> socket.socket:
        sock, self.setup_ms = _timed_new_conn(self, super()._new_conn)
        return sock


class TimedHTTPSConnection(WatchedHTTPSConnection):
    setup_ms: dict[str, float]

    def _new_conn(self) -> socket.socket:
        sock, self.setup_ms = _timed_new_conn(self, super()._new_conn)
        return sock

    def connect(self) -> None:
        started = time.perf_counter()
        super().connect()
        total = (time.perf_counter() - started) * 1000.0
        set_up = self.setup_ms
        set_up["tls"] = max(0.0, total - set_up["dns"] - set_up["connect"])


class _TimedHTTPPool(HTTPConnectionPool):
    ConnectionCls = TimedHTTPConnection


class _TimedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = TimedHTTPSConnection


class FreshConnectionAdapter(HTTPAdapter):
    """An adapter whose every connection is new and times its set-up; close it after use."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TimedHTTPPool,
                                                   "https": _TimedHTTPSPool}


def setup_of(response: Any) -> dict[str, float] | None:
    """The set-up phases of the connection a (streamed, unread) response came over."""
    connection = getattr(getattr(response, "raw", None), "connection", None)
    set_up = getattr(connection, "setup_ms", None)
    return dict(set_up) if isinstance(set_up, dict) else None


def phases(set_up: dict[str, float], headers_ms: float, total_ms: float) -> dict[str, float]:
    """dns, connect, tls, ttfb, transfer (ms, rounded to µs) from the connection set-up and
    the call's clock: headers at `headers_ms`, body read by `total_ms`."""
    connection = set_up["dns"] + set_up["connect"] + set_up["tls"]
    measured = {**set_up, "ttfb": max(0.0, headers_ms - connection),
                "transfer": max(0.0, total_ms - headers_ms)}
    return {phase: round(measured[phase], 3) for phase in PHASES}
