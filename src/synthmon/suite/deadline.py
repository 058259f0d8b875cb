"""A total deadline per call, whatever the server does.

requests' read timeout applies to each read: a server that sends a byte every few seconds
holds a call for ever. Here one watchdog thread per process keeps the deadline of every call
in flight, and when one passes it shuts the call's socket down, which ends the blocking read
at once (connecting, waiting for the headers or reading the body alike). The connection
classes below tell the watchdog which socket a call uses; the client mounts them through
`WatchedAdapter`.

A call arms a watch before it sends and releases it when it is done, which costs two lock
operations; the thread only wakes when a deadline is due or a new one comes before the
one it waits for.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Watch:
    """One call's deadline (time.monotonic), and the connection it is using."""

    __slots__ = ("connection", "deadline", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.connection: HTTPConnection | None = None


def _shut(connection: HTTPConnection | None) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout, capped at the deadline, ends it
    # socket.socket's own shutdown, also for a TLS socket (whose override would drop its
    # TLS state under the thread reading it): the peer's side of the socket is gone and
    # every blocked or later read returns at once.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watches: set[Watch] = set()
        self._wakes_at = math.inf
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, deadline: float) -> Watch:
        watch = Watch(deadline)
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # a fork has no thread
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="synthmon-deadlines",
                                                daemon=True)
                self._thread.start()
            self._watches.add(watch)
            if deadline < self._wakes_at:
                self._changed.notify()
        _current.watch = watch
        return watch

    def release(self, watch: Watch) -> None:
        _current.watch = None
        with self._lock:
            self._watches.discard(watch)
            watch.connection = None

    def attach(self, watch: Watch, connection: HTTPConnection) -> None:
        with self._lock:
            watch.connection = connection
            if watch.expired:
                _shut(connection)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.deadline <= now]:
                    watch.expired = True
                    self._watches.discard(watch)
                    _shut(watch.connection)
                self._wakes_at = min((w.deadline for w in self._watches), default=math.inf)
                self._changed.wait(None if self._wakes_at == math.inf
                                   else self._wakes_at - now)


WATCHDOG = Watchdog()


class _Current(threading.local):
    watch: Watch | None = None


_current = _Current()


def _attach(connection: HTTPConnection) -> None:
    watch = _current.watch
    if watch is not None:
        WATCHDOG.attach(watch, connection)


class WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)  # the deadline may have passed while connecting

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # a kept-alive connection does not connect again
        super().request(*args, **kwargs)


class WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter with connections the watchdog can cut. Through a proxy (whose
    pools urllib3 makes itself) the read timeout, capped at the deadline, is the bound."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}
