"""A suite process ends without the interpreter's last garbage collection.

At exit CPython tears down every module and then collects the cycles among everything the
run made: the checks, the samples, requests, OpenTelemetry, allure and jsonschema. In a
suite process that walk took 100 to 150 ms, a tenth of a whole run against a running
target, and freed nothing the operating system would not take back at once. Every report
is written and closed by then (the reports plugin writes at session end; the telemetry is
shut down there too), so at exit the objects are frozen out of that walk (`gc.freeze`).

Registered from the suite's unconfigure, so it runs only at the exit of a process that ran
synthmon's suite, before the handlers registered earlier (atexit runs the last one first);
objects made after it are collected as usual.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def skip_final_collection() -> None:
    """At this process's exit, leave the objects alive now out of the final collection."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
