"""A phase's marker expression against the markers a criterion's data comes from."""

import pytest

from synthmon.gate.scope import marker_excluded, out_of_scope_reason
from synthmon.policy import Criterion


@pytest.mark.parametrize(("scope", "marker", "excluded"), [
    ("not provider and not payments", "payments", True),
    ("not provider and not payments", "provider", True),
    ("not provider and not payments", "b2c", False),
    ("", "payments", False),
    ("critical", "payments", False),           # a critical payments check is selected
    ("b2c and not payments", "payments", True),
    ("b2c or payments", "payments", False),
    ("not (payments or provider)", "payments", True),
])
def test_marker_excluded_follows_pytest_m(scope, marker, excluded):
    assert marker_excluded(scope, marker) is excluded


def test_a_criterion_is_out_of_scope_only_when_all_its_markers_are():
    base = dict(id="x", title="x", source="prometheus", metric="payment_capture_failure_rate",
                comparison="absolute", threshold=0.1, unit="ratio", min_samples=1, promql={},
                min_runs=0, early_rollback=False)
    assert out_of_scope_reason(Criterion(**base, markers=()), "not payments", "5") is None
    both = Criterion(**base, markers=("payments", "b2c"))
    assert out_of_scope_reason(both, "not payments", "5") is None
    only = Criterion(**base, markers=("payments",))
    assert "phase 5" in out_of_scope_reason(only, "not payments", "5")
