"""The garbage collector in a suite process: it walks what the checks make, not the rest.

Everything a run makes before its first check (the imported modules, the policy, the
schemas, the collected checks) lives until the process ends, and it is most of what the
collector tracks. Yet every full collection walks it: the ones CPython starts by itself as a
run allocates, the two pytest makes at unconfigure to find unraisable exceptions, and the
interpreter's last one at exit, which tore down every module and took 100 to 150 ms while
freeing nothing the operating system would not take back at once.

So once the checks are collected those objects are frozen out of the collector
(`gc.freeze`, whose use this is), and unfrozen when pytest is done with the run, so that a
process calling pytest.main() goes on as before. At exit they are frozen again: every
report is written and closed by then (the reports plugin writes at session end, where the
telemetry is shut down too). Registered only for runs of synthmon's suite.
"""

from __future__ import annotations

import atexit
import gc

import pytest

_exit_registered = False


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


@pytest.hookimpl(trylast=True)  # after pytest's own unconfigure, whose collections look for
def pytest_unconfigure(config: pytest.Config) -> None:  # unraisable exceptions
    gc.unfreeze()
    skip_final_collection()


def skip_final_collection() -> None:
    """At this process's exit, leave the objects alive then out of the final collection
    (atexit runs the last handler registered first: this one, before those of the plugins)."""
    global _exit_registered
    if not _exit_registered:
        atexit.register(gc.freeze)
        _exit_registered = True
