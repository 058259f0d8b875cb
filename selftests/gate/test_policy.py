"""canary-policy.yaml is validated at load: a bad file names the field and the reason."""

from pathlib import Path

import pytest
import yaml

from synthmon.policy import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path, mutate):
    data = yaml.safe_load((ROOT / "canary-policy.yaml").read_text())
    mutate(data)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "canary-policy.schema.json").write_text(
        (ROOT / "schemas" / "canary-policy.schema.json").read_text())
    path = tmp_path / "canary-policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_policy_loads_with_every_rollback_criterion():
    policy = load_policy(ROOT / "canary-policy.yaml")
    assert policy.budget("GET", "/health").budget_ms == 50
    assert "canary" in policy.targets and policy.client["user_agent"].startswith("ScholarshipAI")
    ids = {c.id for c in policy.criteria}
    # Every rollback criterion of DESIGN.md is in the policy.
    assert {"http_5xx_rate", "http_4xx_non_user_rate", "latency_p95_regression",
            "latency_p95_critical", "schema_failure_rate", "auth_error_rate",
            "payment_capture_failures", "waf_hits", "waf_high_severity_new",
            "signup_completion", "time_to_value_p80", "error_budget_burn"} <= ids
    assert policy.phase("5")["scope"] == "not provider and not payments and not browser"


def test_promql_templates_use_the_sandbox_families_and_placeholders():
    # The target's families, or the monitor's own metrics (over OTLP: schema failures, the
    # calls without a complete answer that the target never saw).
    policy = load_policy(ROOT / "canary-policy.yaml")
    own = ("scholarshipai_", "synthmon_", "http_client_request_duration_seconds")
    for c in policy.criteria:
        for template in c.promql.values():
            assert any(family in template for family in own), c.id
            assert "{cohort}" in template, c.id
            assert "{window}" in template, c.id


@pytest.mark.parametrize(("mutate", "field", "reason"), [
    (lambda d: d["criteria"][0].update(threshold=-1), "criteria[0] (http_5xx_rate).threshold",
     "less than the minimum"),
    (lambda d: d["criteria"][1].update(comparison="bigger"), "criteria[1]", "is not one of"),
    (lambda d: d["criteria"][6].pop("promql"), "criteria[6] (payment_capture_failures)",
     "'promql' is a required property"),
    (lambda d: d["phases"]["5"].update(duration="half an hour"), "phases.5.duration",
     "does not match"),
    (lambda d: d["gate"].update(rate_bound="magic"), "gate.rate_bound", "is not one of"),
    (lambda d: d["criteria"].append(dict(d["criteria"][0])), "criteria[13].id", "used twice"),
])
def test_a_bad_policy_fails_naming_field_and_reason(tmp_path, mutate, field, reason):
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, mutate))
    assert field in str(info.value) and reason in str(info.value)

