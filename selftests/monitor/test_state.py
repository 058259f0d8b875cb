from synthmon.monitor.state import CheckState, StateTracker

C = "tests/x.py::test_a"


def test_a_passing_check_never_transitions():
    t = StateTracker()
    assert t.scheduled(C, True, 1, 0.0) is None
    assert t.state(C) is CheckState.OK


def test_fail_then_every_retry_fails_is_failing_then_recovered_then_ok():
    t = StateTracker()
    tr = t.scheduled(C, False, 1, 0.0)
    assert (tr.previous, tr.current) == (CheckState.OK, CheckState.DEGRADED)
    assert t.retried(C, False, 1, final=False, cycle=1, at=0.0) is None
    tr = t.retried(C, False, 2, final=True, cycle=1, at=0.0)
    assert tr.current is CheckState.FAILING and "2 re-run" in tr.reason
    # still failing next cycle: no transition, no confirmation needed
    assert t.scheduled(C, False, 2, 0.0) is None
    assert t.needs_confirmation() == []
    assert t.scheduled(C, True, 3, 0.0).current is CheckState.RECOVERED
    assert t.scheduled(C, True, 4, 0.0).current is CheckState.OK
    assert [x.current.value for x in t.recent] == ["degraded", "failing", "recovered", "ok"]


def test_a_retry_that_passes_clears_the_check():
    t = StateTracker()
    t.scheduled(C, False, 1, 0.0)
    tr = t.retried(C, True, 1, final=False, cycle=1, at=0.0)
    assert tr.current is CheckState.OK and tr.reason == "re-run 1 passed"


def test_transition_history_is_bounded():
    t = StateTracker(keep_transitions=5)
    for i in range(100):
        t.scheduled(C, i % 2 == 0, i, 0.0)
    assert len(t.recent) == 5
