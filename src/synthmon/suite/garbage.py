"""The garbage collector in a suite process: it walks what the checks make, not the rest.

Everything a run makes before its first check (the imported modules, the policy, the
schemas, the collected checks) lives until the process ends, and it is most of what the
collector tracks. Yet every full collection walks it: the ones CPython starts by itself as a
run allocates, the two pytest makes at unconfigure to find unraisable exceptions, and the
interpreter's last one at exit, which tore down every module and took 100 to 150 ms while
freeing nothing the operating system would not take back at once.

So once the checks are collected those objects are frozen out of the collector
(`gc.freeze`, whose use this is), and unfrozen when pytest is done with the run, after its
own last collection, so that a process calling pytest.main() goes on as before. At exit they
are frozen again: every report is written and closed by then (the reports plugin writes at
session end, where the telemetry is shut down too). Only for runs of synthmon's suite.
"""

from __future__ import annotations

import atexit
import gc

import pytest


def unfreeze_after_the_run(early_config: pytest.Config) -> None:
    """Give the collector its objects back as pytest's very last clean-up: registered while
    the command line is read, before any plugin's own clean-up (they run last first), so
    after the collections pytest makes at unconfigure and in its clean-up to look for
    unraisable exceptions, which then walk only what the checks made."""
    early_config.add_cleanup(gc.unfreeze)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    """At this process's exit, leave the objects alive then out of the final collection.
    Registered once however many runs the process makes (unregister drops an earlier one),
    and last, so it runs first of the atexit handlers, before those of the plugins."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
