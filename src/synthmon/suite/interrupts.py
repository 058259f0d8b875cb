"""Interrupted runs end through pytest's own path (KeyboardInterrupt), so the reports are
written and say so, whatever stopped the run:

- Ctrl-C (SIGINT): Python's default handler raises KeyboardInterrupt;
- SIGTERM (a scheduler, a CI job's cancel, the gate's deadline): Python's default would end
  the process on the spot, with no report; here it raises KeyboardInterrupt too;
- pytest-timeout (thread method, the suite's pytest.ini): its timer would dump the stacks and
  os._exit(1), leaving no summary.json, junit.xml or history entry. Here the timer sends the
  main thread SIGTERM instead, and ends the process as pytest-timeout would (stacks to
  stderr, exit 1) only if the run has not finished unwinding within UNWIND_GRACE_S (a thread
  stuck outside Python).

The reason goes to the stash (INTERRUPT_KEY) for the reports. Only the process that writes
the reports (the xdist controller, or the only process) is set up this way.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

from synthmon.run_context import INTERRUPT_KEY

UNWIND_GRACE_S = 10.0


class InterruptWatch:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.finished = threading.Event()
        self._previous: Any = None
        self._installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True

    def restore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.config.stash.setdefault(INTERRUPT_KEY, "interrupted by SIGTERM")
        raise KeyboardInterrupt

    def set_timer(self, item: pytest.Item, settings: Any) -> bool | None:
        """pytest-timeout's timer for one check (its pytest_timeout_set_timer hook), or None
        to leave the check to pytest-timeout (signal method, or not set up here)."""
        if not self._installed or getattr(settings, "method", None) != "thread":
            return None
        timeout = float(settings.timeout)
        main = threading.main_thread().ident
        assert main is not None

        def expire() -> None:
            self.config.stash.setdefault(
                INTERRUPT_KEY,
                f"interrupted: {item.nodeid} ran longer than its {timeout:g} s timeout")
            signal.pthread_kill(main, signal.SIGTERM)
            if not self.finished.wait(UNWIND_GRACE_S):
                sys.stderr.write(f"synthmon: {item.nodeid} did not stop within "
                                 f"{UNWIND_GRACE_S:g} s of its timeout; where every thread is:\n")
                faulthandler.dump_traceback(all_threads=True)
                sys.stderr.flush()
                os._exit(1)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.name = f"synthmon timeout {item.nodeid}"
        # pytest-timeout's pytest_timeout_cancel_timer calls this when the check ends
        setattr(item, "cancel_timeout", timer.cancel)  # noqa: B010
        timer.start()
        return True
