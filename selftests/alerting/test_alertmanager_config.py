"""`synthmon alertmanager`: the generated configuration passes `amtool check-config`, routes
each severity to the policy's receivers, renders its templates, and refuses what it cannot
deliver with a sentence naming what to set."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from amtool_support import amtool, routes_for
from click.testing import CliRunner

from synthmon.alerting import names
from synthmon.alerting.templates import all_templates
from synthmon.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "canary-policy.yaml"
ENV = {"SYNTH_PAGERDUTY_URL": "https://events.pagerduty.example/v2/enqueue",
       "SYNTH_PAGERDUTY_ROUTING_KEY": "routing-key-of-the-oncall-service",
       "SYNTH_SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/X",
       "SYNTH_TICKETS_WEBHOOK_URL": "https://tickets.example/alertmanager"}
UNSET = dict.fromkeys(ENV)  # CliRunner: None removes the variable


def run(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(main, ["alertmanager", "--policy", str(POLICY), *args],
                              env={**UNSET, **ENV, **(env or {})})


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yml"
    done = run(f"--out={out}")
    assert done.exit_code == 0, done.output
    return out


def test_amtool_check_config_accepts_the_generated_file(config_file: Path) -> None:
    done = amtool("check-config", str(config_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    assert "3 receivers" in done.stdout and "3 inhibit rules" in done.stdout


def test_the_file_is_readable_by_its_owner_only(config_file: Path) -> None:
    # it holds the receivers' URLs and the PagerDuty routing key
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert ENV["SYNTH_PAGERDUTY_ROUTING_KEY"] in config_file.read_text()


@pytest.mark.parametrize(("labels", "receivers"), [
    ({"severity": "page", "alertname": names.CHECK_FAILING}, ["oncall", "chat"]),
    ({"severity": "page", "alertname": names.MONITOR_DOWN}, ["oncall", "chat"]),
    ({"severity": "ticket", "alertname": names.PROBE_LOCATION_FAILING}, ["tickets"]),
    ({"severity": "ticket", "alertname": "Rising5xxRate"}, ["tickets"]),
    ({"alertname": "AnAlertWithoutSeverity"}, ["tickets"]),  # still reaches a person
])
def test_each_severity_reaches_the_receivers_the_policy_routes_it_to(
        config_file: Path, labels: dict[str, str], receivers: list[str]) -> None:
    assert routes_for(config_file, **labels) == receivers


def test_routes_follow_the_policy_not_the_code(tmp_path: Path) -> None:
    data = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    data["alerting"]["routes"] = {"page": ["chat"], "ticket": ["chat", "tickets"]}
    policy = _policy_copy(tmp_path, data)
    out = tmp_path / "am.yml"
    done = CliRunner().invoke(main, ["alertmanager", "--policy", str(policy), f"--out={out}"],
                              env={**UNSET, **ENV})
    assert done.exit_code == 0, done.output
    assert routes_for(out, severity="page") == ["chat"]
    assert routes_for(out, severity="ticket") == ["chat", "tickets"]
    config = yaml.safe_load(out.read_text())
    assert {r["name"] for r in config["receivers"]} == {"chat", "tickets"}, "oncall is unused"


def test_grouping_inhibition_and_maintenance_come_from_the_policy(config_file: Path) -> None:
    config = yaml.safe_load(config_file.read_text())
    route = config["route"]
    assert route["group_by"] == ["alertname", "check", "target"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "30s", "5m", "4h")
    by_region = route["routes"][0]
    assert by_region["group_by"] == ["alertname", "region", "target"]
    sources = {tuple(rule["source_matchers"]) for rule in config["inhibit_rules"]}
    assert (f'alertname="{names.TARGET_UNREACHABLE}"',) in sources
    assert (f'alertname="{names.MONITOR_DOWN}"',) in sources
    assert [w["name"] for w in config["time_intervals"]] == ["weekly-maintenance"]
    muted = {r["receiver"] for r in route["routes"][1:] if r.get("mute_time_intervals")}
    assert muted == {"oncall", "chat", "tickets"}


def test_timing_options_override_the_policy(tmp_path: Path) -> None:
    out = tmp_path / "am.yml"
    done = run(f"--out={out}", "--group-wait", "1s", "--group-interval", "1500ms",
               "--repeat-interval", "1h")
    assert done.exit_code == 0, done.output
    route = yaml.safe_load(out.read_text())["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "1s", "1500ms", "1h")
    assert amtool("check-config", str(out)).returncode == 0


def test_a_missing_receiver_url_names_its_variable() -> None:
    done = run(env={"SYNTH_SLACK_WEBHOOK_URL": None})
    assert done.exit_code == 1
    assert "SYNTH_SLACK_WEBHOOK_URL is not set" in done.output
    assert "--receiver chat=URL" in done.output and "Traceback" not in done.output


def test_a_missing_pagerduty_routing_key_names_its_variable() -> None:
    done = run(env={"SYNTH_PAGERDUTY_ROUTING_KEY": ""})
    assert done.exit_code == 1 and "SYNTH_PAGERDUTY_ROUTING_KEY is not set" in done.output


def test_receiver_option_overrides_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "am.yml"
    done = run(f"--out={out}", "--receiver", "tickets=http://127.0.0.1:9/tickets",
               env={"SYNTH_TICKETS_WEBHOOK_URL": None})
    assert done.exit_code == 0, done.output
    config = yaml.safe_load(out.read_text())
    tickets = next(r for r in config["receivers"] if r["name"] == "tickets")
    assert tickets["webhook_configs"][0]["url"] == "http://127.0.0.1:9/tickets"


@pytest.mark.parametrize(("args", "message"), [
    (["--receiver", "pager=http://x"], "no such receiver in the policy"),
    (["--receiver", "chat"], "write NAME=URL"),
    (["--receiver", "chat=ftp://x"], "is not an http(s) URL"),
    (["--group-wait", "soon"], "'--group-wait': 'soon' is not a duration"),
])
def test_bad_options_are_a_sentence(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.exit_code != 0
    assert message in done.output and "Traceback" not in done.output


def test_a_route_to_an_unknown_receiver_is_a_policy_error(tmp_path: Path) -> None:
    data = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    data["alerting"]["routes"]["page"] = ["oncall", "pager"]
    policy = _policy_copy(tmp_path, data)
    done = CliRunner().invoke(main, ["alertmanager", "--policy", str(policy)],
                              env={**UNSET, **ENV})
    assert done.exit_code == 1
    assert "alerting.routes.page: no receiver named 'pager'" in done.output


def test_a_quorum_larger_than_the_regions_is_a_policy_error(tmp_path: Path) -> None:
    data = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    data["alerting"]["monitor"]["min_regions"] = 4
    done = CliRunner().invoke(main, ["alertmanager", "--policy",
                                     str(_policy_copy(tmp_path, data))], env={**UNSET, **ENV})
    assert done.exit_code == 1 and "min_regions: 4 regions can never agree" in done.output


def _notification(status: str) -> dict[str, Any]:
    """What Alertmanager hands a template: one group, one alert per region."""
    alerts = []
    for region, synthetic_id in (("eu-west-1", "syn-eu-1"), ("us-east-1", "syn-us-1")):
        alerts.append({
            "status": status,
            "labels": {"alertname": names.CHECK_FAILING, "severity": "page",
                       "check": "tests/synthetic/test_b2c.py::test_flow", "target": "canary",
                       "region": region, "cohort": "canary"},
            "annotations": {"summary": f"the B2C flow fails from {region}",
                            "synthetic_id": synthetic_id, "trace_id": f"trace-{region}",
                            "runbook_url": "RUNBOOK.md#syntheticcheckfailing"},
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        })
    common = {k: v for k, v in alerts[0]["labels"].items() if k != "region"}
    return {"receiver": "oncall", "status": status, "alerts": alerts,
            "groupLabels": {"alertname": names.CHECK_FAILING}, "commonLabels": common,
            "commonAnnotations": {}, "externalURL": "http://alertmanager.example"}


@pytest.mark.parametrize("status", ["firing", "resolved"])
def test_the_templates_name_the_check_the_regions_the_ids_and_the_runbook(
        tmp_path: Path, status: str) -> None:
    rendered = _render(tmp_path, _notification(status))
    title = rendered["title"]
    assert f"{names.CHECK_FAILING} [page]: tests/synthetic/test_b2c.py::test_flow on canary" in (
        title) and "(eu-west-1, us-east-1)" in title
    assert title.startswith("RESOLVED ") == (status == "resolved")
    assert "syn-eu-1" in rendered["body"] and "trace-us-east-1" in rendered["body"]
    assert "Runbook: RUNBOOK.md#syntheticcheckfailing" in rendered["body"]
    if status == "firing":
        assert rendered["regions"].strip() == "eu-west-1, us-east-1"
        assert rendered["synthetic_ids"].strip() == "eu-west-1=syn-eu-1, us-east-1=syn-us-1"


def _render(tmp_path: Path, notification: dict[str, Any]) -> dict[str, str]:
    glob = tmp_path / "synthmon.tmpl"
    glob.write_text("".join(f'{{{{ define "synthmon.{name}" }}}}{text}{{{{ end }}}}\n'
                            for name, text in all_templates().items()))
    data = tmp_path / "data.json"
    data.write_text(json.dumps(notification))
    rendered = {}
    for name in all_templates():
        done = amtool("template", "render", f"--template.glob={glob}",
                      f'--template.text={{{{ template "synthmon.{name}" . }}}}',
                      f"--template.data={data}")
        assert done.returncode == 0, done.stdout + done.stderr
        rendered[name] = done.stdout
    return rendered


def _group(alerts: list[dict[str, str]], annotations: list[dict[str, str]]) -> dict[str, Any]:
    """One firing group of alerts with these labels and annotations."""
    entries = [{"status": "firing", "labels": labels,
                "annotations": {"runbook_url": "RUNBOOK.md#x", **notes},
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
               for labels, notes in zip(alerts, annotations, strict=True)]
    common = {k: v for k, v in alerts[0].items() if all(a.get(k) == v for a in alerts)}
    return {"receiver": "oncall", "status": "firing", "alerts": entries,
            "groupLabels": {"alertname": alerts[0]["alertname"]}, "commonLabels": common,
            "commonAnnotations": {}, "externalURL": "http://alertmanager.example"}


def test_a_gate_alert_is_titled_by_its_summary_not_by_checks_it_has_none_of(
        tmp_path: Path) -> None:
    """The gate's and the canary's alerts carry no check, target or region label: their
    title says what their summary says, and how many alerts the page holds."""
    labels = [{"alertname": "GateVerdictRollback", "severity": "page", "phase": "25",
               "criterion": criterion} for criterion in ("http_5xx_rate", "p95_regression")]
    notes = [{"summary": f"The release gate says ROLLBACK for phase 25: {c} tripped"}
             for c in ("http_5xx_rate", "p95_regression")]
    one = _render(tmp_path, _group(labels[:1], notes[:1]))["title"].strip()
    assert one == ("GateVerdictRollback [page]: The release gate says ROLLBACK for phase 25: "
                   "http_5xx_rate tripped"), one
    two = _render(tmp_path, _group(labels, notes))["title"].strip()
    assert two.endswith("http_5xx_rate tripped (2 alerts)"), two
    assert "several" not in two and "()" not in two


def test_a_target_alert_names_the_target_and_its_regions(tmp_path: Path) -> None:
    labels = [{"alertname": "SyntheticTargetUnreachable", "severity": "page", "target": "canary",
               "region": region} for region in ("eu-west-1", "us-east-1")]
    notes = [{"summary": f"canary does not answer from {r}"} for r in ("eu-west-1", "us-east-1")]
    title = _render(tmp_path, _group(labels, notes))["title"].strip()
    assert title == "SyntheticTargetUnreachable [page]: canary (eu-west-1, us-east-1)", title


def _policy_copy(tmp_path: Path, data: dict[str, Any]) -> Path:
    policy = tmp_path / "canary-policy.yaml"
    policy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (tmp_path / "schemas").mkdir(exist_ok=True)
    schema = REPO / "schemas" / "canary-policy.schema.json"
    (tmp_path / "schemas" / schema.name).write_text(schema.read_text(encoding="utf-8"))
    return policy
