"""`synthmon gate` and `synthmon approve` without sandboxes: samples from summary files,
production signals from a stub Prometheus (a loopback HTTP server answering the query API)."""

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from factory import make_samples
from support.http_stub import serving

from synthmon.cli import main

ROOT = Path(__file__).resolve().parents[2]


def write_summary(path: Path, samples) -> Path:
    path.mkdir(parents=True)
    (path / "summary.json").write_text(json.dumps({"requests": [s.to_dict() for s in samples]}))
    return path / "summary.json"


@pytest.fixture
def summaries(tmp_path):
    return (write_summary(tmp_path / "canary", make_samples(2400, "canary", 2)),
            write_summary(tmp_path / "control", make_samples(2400, "control", 3)))


class StubPrometheus(BaseHTTPRequestHandler):
    """Production at signup: control completes 1000 of 1000 starts, canary 850 (-15%)."""

    answers: ClassVar[list[tuple[str, str, float]]] = [
        ("signup_completed_total", "canary", 850), ("signup_completed_total", "control", 1000),
        ("signup_started_total", "canary", 1000), ("signup_started_total", "control", 1000),
    ]
    queries: ClassVar[list[str]] = []

    def do_GET(self):
        params = parse_qs(urlparse(self.path).query)
        query = params.get("query", [""])[0]
        stamp = float(params.get("time", ["0"])[0])  # as Prometheus: the evaluation time
        StubPrometheus.queries.append(query)
        value = 1.0 if query == "vector(1)" else 0.0
        for needle, cohort, answer in self.answers:
            if needle in query and f'cohort=~"{cohort}"' in query:
                value = answer
        if "requests_total" in query and "5xx" not in query and "4xx" not in query:
            value = 100000.0
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [stamp, str(value)]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    with serving(StubPrometheus) as url:
        yield url


def gate(tmp_path, summaries, *extra):
    result = CliRunner().invoke(main, [
        "gate", "--phase", "25", "--canary-summary", str(summaries[0]), "--control-summary",
        str(summaries[1]), "--out", str(tmp_path / "out"), "--ledger",
        str(tmp_path / "ledger.jsonl"), "--policy", str(ROOT / "canary-policy.yaml"), *extra])
    decision = json.loads((tmp_path / "out" / "decision.json").read_text())
    return result, decision


def test_go_from_summaries_lists_missing_approvals(tmp_path, summaries):
    result, decision = gate(tmp_path, summaries)
    assert result.exit_code == 0, result.output
    assert decision["approvals"]["missing"] == ["sre", "eng", "pm"]
    runner = CliRunner()
    for role in ("sre", "pm"):
        done = runner.invoke(main, ["approve", "--phase", "25", "--role", role, "--name", "Ada",
                                    "--ledger", str(tmp_path / "ledger.jsonl")])
        assert done.exit_code == 0, done.output
    result, decision = gate(tmp_path, summaries)
    assert decision["approvals"]["missing"] == ["eng"]
    assert "Approvals missing: eng" in result.output
    lines = (tmp_path / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(line)["role"] for line in lines] == ["sre", "pm"]


def test_approve_refuses_an_unknown_phase_and_role(tmp_path):
    done = CliRunner().invoke(main, ["approve", "--phase", "7", "--role", "sre", "--name", "A",
                                     "--ledger", str(tmp_path / "l.jsonl")])
    assert done.exit_code != 0 and "no such phase" in done.output
    done = CliRunner().invoke(main, ["approve", "--phase", "5", "--role", "ceo", "--name", "A"])
    assert done.exit_code != 0


def test_signup_drop_in_prometheus_is_rollback_naming_signup(tmp_path, summaries, prometheus):
    StubPrometheus.queries.clear()
    result, decision = gate(tmp_path, summaries, "--prometheus", prometheus)
    assert result.exit_code == 1, result.output
    assert "signup_completion" in decision["tripped"]
    row = next(c for c in decision["criteria"] if c["id"] == "signup_completion")
    # The PromQL actually sent, placeholders filled in, is in the evidence.
    assert any('cohort=~"canary"' in q and "signup_completed_total" in q
               for q in row["evidence"]["promql"])
    assert all("{cohort}" not in q and "{window}" not in q for q in StubPrometheus.queries)
    md = (tmp_path / "out" / "decision.md").read_text()
    assert md.startswith("# Gate decision, phase 25: ROLLBACK") and "signup_completed_total" in md


def test_without_prometheus_signup_is_not_applicable_and_said(tmp_path, summaries):
    _result, decision = gate(tmp_path, summaries)
    row = next(c for c in decision["criteria"] if c["id"] == "signup_completion")
    assert row["verdict"] == "not_applicable" and "no --prometheus" in row["reason"]
    assert "NOT evaluated" in decision["summary"]


def test_errors_of_the_gate_itself_exit_3_never_hold(tmp_path, summaries):
    result = CliRunner().invoke(main, ["gate", "--phase", "25"])
    assert result.exit_code == 3 and "give --canary URL" in result.output
    result = CliRunner().invoke(main, ["gate", "--phase", "nine", "--canary", "x",
                                       "--control", "y"])
    assert result.exit_code == 3 and "no such phase" in result.output


class HealthyPrometheus(StubPrometheus):
    """A healthy production pair: every signup completes, drafts behind time to value,
    no WAF hits, no 5xx; no payment captures at all (payments are off in phase 5)."""

    answers: ClassVar[list[tuple[str, str, float]]] = [
        ("signup_completed_total", "canary", 1000), ("signup_completed_total", "control", 1000),
        ("signup_started_total", "canary", 1000), ("signup_started_total", "control", 1000),
        ("time_to_value_seconds_count", "canary", 300),
        ("time_to_value_seconds_count", "control", 300),
        ("histogram_quantile(0.80", "canary", 42.0), ("histogram_quantile(0.80", "control", 41.0),
    ]


@pytest.fixture
def healthy_prometheus():
    with serving(HealthyPrometheus) as url:
        yield url


def _gate_phase(tmp_path, summaries, phase, *extra):
    result = CliRunner().invoke(main, [
        "gate", "--phase", phase, "--canary-summary", str(summaries[0]), "--control-summary",
        str(summaries[1]), "--out", str(tmp_path / f"out-{phase}"), "--ledger",
        str(tmp_path / "ledger.jsonl"), "--policy", str(ROOT / "canary-policy.yaml"), *extra])
    return result, json.loads((tmp_path / f"out-{phase}" / "decision.json").read_text())


def test_phase_5_with_prometheus_reaches_go_payments_not_applicable(tmp_path, summaries,
                                                                   healthy_prometheus):
    result, decision = _gate_phase(tmp_path, summaries, "5", "--prometheus", healthy_prometheus)
    assert result.exit_code == 0, decision["summary"]
    rows = {c["id"]: c for c in decision["criteria"]}
    payment = rows["payment_capture_failures"]
    assert payment["verdict"] == "not_applicable"
    assert "phase 5" in payment["reason"] and "payments" in payment["reason"]
    assert "not provider and not payments" in payment["reason"]
    assert not payment["evidence"].get("promql"), "no query is sent for an out-of-scope signal"
    # Every other production signal was read from Prometheus and judged.
    assert all(rows[i]["verdict"] == "go" for i in (
        "signup_completion", "time_to_value_p80", "waf_hits", "waf_high_severity_new",
        "error_budget_burn"))
    assert "payment_capture_failures (out of this phase's scope)" in decision["summary"]


def test_phase_25_the_same_data_holds_on_payments_saying_why(tmp_path, summaries,
                                                           healthy_prometheus):
    # Payments are in scope from phase 25: no captures at all is short data, not a pass.
    result, decision = _gate_phase(tmp_path, summaries, "25", "--prometheus", healthy_prometheus)
    assert result.exit_code == 2
    payment = next(c for c in decision["criteria"] if c["id"] == "payment_capture_failures")
    assert payment["verdict"] == "hold" and payment["needs"]["events in Prometheus"] == 100


def test_phase_5_without_prometheus_says_why_each_is_not_evaluated(tmp_path, summaries):
    result, decision = _gate_phase(tmp_path, summaries, "5")
    assert result.exit_code == 0, decision["summary"]
    assert "payment_capture_failures (out of this phase's scope)" in decision["summary"]
    assert "signup_completion (production-only, no --prometheus)" in decision["summary"]


class SparsePrometheus(HealthyPrometheus):
    """As real Prometheus answers a healthy pair: a 5xx counter that never incremented has
    no series (an empty vector), and no draft has been saved yet (time to value: count 0,
    the quantile of an empty histogram is empty)."""

    def do_GET(self):
        params = parse_qs(urlparse(self.path).query)
        query = params.get("query", [""])[0]
        if 'status_class="5xx"' in query or "time_to_value_seconds" in query:
            if "time_to_value_seconds_count" in query:
                result = [{"metric": {}, "value": [float(params["time"][0]), "0"]}]
            else:
                result = []
            body = json.dumps({"status": "success", "data": {"resultType": "vector",
                                                             "result": result}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def test_empty_bad_event_counters_are_zero_and_an_empty_histogram_asks_for_events(tmp_path,
                                                                                   summaries):
    with serving(SparsePrometheus) as url:
        _result, decision = _gate_phase(tmp_path, summaries, "5", "--prometheus", url)
    rows = {c["id"]: c for c in decision["criteria"]}
    assert rows["error_budget_burn"]["verdict"] == "go", rows["error_budget_burn"]["reason"]
    ttv = rows["time_to_value_p80"]
    assert ttv["verdict"] == "hold" and ttv["needs"]["events in Prometheus"] == 50


def test_every_evaluation_is_kept_and_listed_by_history_decisions(tmp_path, summaries,
                                                                 prometheus):
    db = tmp_path / "history.sqlite"
    for extra in ([], ["--prometheus", prometheus]):
        result, _ = gate(tmp_path, summaries, "--db", str(db), *extra)
        assert result.exit_code in (0, 1), result.output
    runner = CliRunner()
    listed = runner.invoke(main, ["history", "decisions", "--db", str(db), "--since", "1h"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "go" in lines[1] and "rollback" in lines[2] and "signup_completion" in lines[2]
    as_json = runner.invoke(main, ["history", "decisions", "--db", str(db), "--json",
                                   "--phase", "25"])
    rows = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["verdict"] for r in rows] == ["go", "rollback"]
    assert {c["id"] for c in rows[1]["criteria"]} == {
        c["id"] for c in rows[0]["criteria"]}, "every criterion kept with each verdict"
    assert all(r["origin"] == "gate" for r in rows)
    none = runner.invoke(main, ["history", "decisions", "--db", str(db), "--phase", "5"])
    assert "no gate verdicts" in none.output


def test_decision_json_keeps_its_criterion_ids(tmp_path, summaries):
    """Orchestrators and dashboards key on these ids: renaming one is a breaking change,
    which this test makes visible."""
    _result, decision = gate(tmp_path, summaries)
    assert [c["id"] for c in decision["criteria"]] == [
        "http_5xx_rate", "http_4xx_non_user_rate", "latency_p95_regression",
        "latency_p95_critical", "schema_failure_rate", "auth_error_rate",
        "payment_capture_failures", "waf_hits", "waf_high_severity_new", "signup_completion",
        "time_to_value_p80", "error_budget_burn", "no_answer_rate"]
