"""Per-check state: ok, degraded (failed once, being confirmed), failing, recovered, and
skipped (not run: never a pass); and the streaks the alerts count in cycles."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass


class CheckState(enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"  # failed in the scheduled run; re-runs will confirm or clear it
    FAILING = "failing"  # confirmed: every re-run failed too
    RECOVERED = "recovered"  # passed after having been failing; ok again on the next pass
    SKIPPED = "skipped"  # the run skipped it: it proves nothing, and is never a pass

    @property
    def severity(self) -> int:
        """The value exported as synthmon_check_status (0 ok .. 2 failing, 3 skipped)."""
        return {"ok": 0, "recovered": 0, "degraded": 1, "failing": 2, "skipped": 3}[self.value]


@dataclass(frozen=True, slots=True)
class Transition:
    check: str
    previous: CheckState
    current: CheckState
    cycle: int
    reason: str  # "scheduled run failed", "re-run 2 passed", ...
    at: float


class StateTracker:
    """Applies outcomes to states and returns the transitions they cause.

    Only states and the last few transitions are kept, so memory does not grow with the
    number of cycles (the checks themselves are a fixed set).
    """

    def __init__(self, keep_transitions: int = 100) -> None:
        self._states: dict[str, CheckState] = {}
        self.recent: deque[Transition] = deque(maxlen=keep_transitions)

    def state(self, check: str) -> CheckState:
        return self._states.get(check, CheckState.OK)

    def states(self) -> dict[str, CheckState]:
        return dict(self._states)

    def forget(self, check: str) -> None:
        self._states.pop(check, None)

    def _move(
        self, check: str, new: CheckState, cycle: int, reason: str, at: float
    ) -> Transition | None:
        old = self._states.get(check)
        self._states[check] = new
        if old is None:
            old = CheckState.OK
            if new is CheckState.OK:
                return None  # a check seen for the first time, passing: nothing to tell
        if old is new:
            return None
        transition = Transition(check, old, new, cycle, reason, at)
        self.recent.append(transition)
        return transition

    def skipped(self, check: str, cycle: int, at: float, reason: str) -> Transition | None:
        """The run skipped the check: its own state, with the skip's reason; no re-run
        (a skip does not change on retry)."""
        return self._move(check, CheckState.SKIPPED, cycle, f"skipped: {reason}"[:300], at)

    def scheduled(self, check: str, passed: bool, cycle: int, at: float) -> Transition | None:
        """The outcome of the check in the cycle's full run."""
        current = self.state(check)
        if passed:
            if current is CheckState.FAILING:
                return self._move(check, CheckState.RECOVERED, cycle, "scheduled run passed", at)
            return self._move(check, CheckState.OK, cycle, "scheduled run passed", at)
        if current is CheckState.FAILING:
            return None  # still failing: no re-runs needed to confirm what is known
        return self._move(check, CheckState.DEGRADED, cycle, "scheduled run failed", at)

    def retried(
        self, check: str, passed: bool, attempt: int, final: bool, cycle: int, at: float
    ) -> Transition | None:
        """The outcome of re-run number `attempt`; `final` when no further re-run follows."""
        if self.state(check) is not CheckState.DEGRADED:
            return None
        if passed:
            return self._move(check, CheckState.OK, cycle, f"re-run {attempt} passed", at)
        if final:
            reason = f"scheduled run and {attempt} re-run(s) failed"
            return self._move(check, CheckState.FAILING, cycle, reason, at)
        return None

    def needs_confirmation(self) -> list[str]:
        return sorted(c for c, s in self._states.items() if s is CheckState.DEGRADED)


class Streaks:
    """Cycles in a row that ended in a state, per check: what "failing for N intervals" and
    "skipped for N intervals" count. A cycle in which the target could not be reached says
    nothing about the checks, so it leaves their streaks as they were."""

    def __init__(self) -> None:
        self.failing: dict[str, int] = {}
        self.skipped: dict[str, int] = {}

    def end_of_cycle(self, states: dict[str, CheckState],
                     frozen: frozenset[str] = frozenset()) -> None:
        """Count the cycle that just ended; `frozen` checks got no verdict in it."""
        for check, state in states.items():
            if check in frozen:
                continue
            self.failing[check] = self.failing.get(check, 0) + 1 \
                if state is CheckState.FAILING else 0
            self.skipped[check] = self.skipped.get(check, 0) + 1 \
                if state is CheckState.SKIPPED else 0
