"""When things go wrong the gate is never wrong: a usage error, a crash or an unreadable
policy exits 3 ("could not evaluate") with one sentence and decision.json says `error`;
a Prometheus that answers badly (a JSON array, non-finite, negative, stale) or trickles is a
hold naming the query, within a bounded time."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from click.testing import CliRunner
from factory import make_samples
from support.http_stub import serving

from synthmon.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def summaries(tmp_path):
    paths = []
    for cohort, seed in (("canary", 2), ("control", 3)):
        folder = tmp_path / cohort
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps(
            {"requests": [s.to_dict() for s in make_samples(2400, cohort, seed)]}))
        paths.append(folder / "summary.json")
    return paths


def gate(tmp_path, summaries, *extra, policy=ROOT / "canary-policy.yaml"):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "gate", "--canary-summary", str(summaries[0]), "--control-summary", str(summaries[1]),
        "--out", str(out), "--ledger", str(tmp_path / "ledger.jsonl"), "--policy", str(policy),
        *extra])
    path = out / "decision.json"
    return result, (json.loads(path.read_text()) if path.is_file() else None)


def policy_copy(tmp_path, mutate) -> Path:
    data = yaml.safe_load((ROOT / "canary-policy.yaml").read_text())
    mutate(data)
    folder = tmp_path / "policy"
    (folder / "schemas").mkdir(parents=True)
    (folder / "schemas" / "canary-policy.schema.json").write_text(
        (ROOT / "schemas" / "canary-policy.schema.json").read_text())
    (folder / "canary-policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "canary-policy.yaml"


def test_a_go_then_a_usage_error_leaves_no_stale_go_in_out(tmp_path, summaries):
    result, decision = gate(tmp_path, summaries, "--phase", "25")
    assert result.exit_code == 0 and decision["verdict"] == "go", result.output
    result, decision = gate(tmp_path, summaries, "--phase", "25", "--no-such-option")
    assert result.exit_code == 3, result.output
    assert "could not evaluate" in result.output and "Traceback" not in result.output
    assert decision["verdict"] == "error" and decision["exit_code"] == 3
    assert "no-such-option" in decision["summary"]
    md = (tmp_path / "out" / "decision.md").read_text()
    assert md.startswith("# Gate decision, phase 25: ERROR (exit 3)")


@pytest.mark.parametrize(("args", "says"), [
    ([], "Missing option '--phase'"),
    (["--phase", "99"], "no such phase"),
    (["--phase", "25", "--window", "soon"], "not a duration"),
    (["--phase", "25", "--window", ""], "not a duration"),
    (["--phase", "25", "--watch", "--interval", "often"], "not a duration"),
])
def test_usage_errors_exit_3_not_hold(tmp_path, summaries, args, says):
    result, decision = gate(tmp_path, summaries, *args)
    assert result.exit_code == 3, result.output
    assert says in result.output and "Traceback" not in result.output
    assert decision is None or decision["verdict"] == "error"


def test_help_documents_every_exit_code():
    text = CliRunner().invoke(main, ["gate", "--help"]).output
    flat = " ".join(text.split())
    for words in ("0 go", "1 rollback", "2 hold", "3 could not evaluate"):
        assert words in flat, words


def test_a_scope_that_does_not_parse_is_a_sentence(tmp_path, summaries):
    policy = policy_copy(tmp_path, lambda d: d["phases"]["25"].update(scope="not ("))
    result, decision = gate(tmp_path, summaries, "--phase", "25", policy=policy)
    assert result.exit_code == 3, result.output
    assert "phases.25.scope" in result.output and "not a pytest marker expression" in result.output
    assert "Traceback" not in result.output and decision["verdict"] == "error"


def test_a_crash_is_a_sentence_exit_3_and_a_traceback_in_the_debug_log(tmp_path, summaries,
                                                                         monkeypatch):
    import synthmon.gate.engine as engine

    def boom(*_args, **_kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(engine, "evaluate", boom)
    result, decision = gate(tmp_path, summaries, "--phase", "25")
    assert result.exit_code == 3, result.output
    assert "internal error ZeroDivisionError: planted" in result.output
    assert "Traceback" not in result.output
    assert decision["verdict"] == "error" and "ZeroDivisionError" in decision["summary"]
    log = tmp_path / "out" / "gate-debug.log"
    assert "Traceback" in log.read_text() and "boom" in log.read_text()


def test_a_crash_outside_the_evaluation_is_caught_too(tmp_path, summaries, monkeypatch):
    import synthmon.gate.command as command

    monkeypatch.setattr(command, "read_summary_samples",
                        lambda _path: (_ for _ in ()).throw(KeyError("requests")))
    result, decision = gate(tmp_path, summaries, "--phase", "25")
    assert result.exit_code == 3 and "internal error KeyError" in result.output, result.output
    assert decision["verdict"] == "error"


class BadPrometheus(BaseHTTPRequestHandler):
    """Answers every query with `answer(stamp)`; the healthy counters otherwise."""

    mode: ClassVar[str] = "array"

    def do_GET(self):
        params = parse_qs(urlparse(self.path).query)
        query = params.get("query", [""])[0]
        stamp = float(params.get("time", ["0"])[0])
        if self.mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(40):  # bounded: at most 10 s of trickle
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.25)
            except OSError:
                pass
            return
        counts_all = "requests_total" in query and "status_class" not in query
        value = "1000" if counts_all or "started" in query else "0"
        series = [{"metric": {}, "value": [stamp, value]}]
        if query != "vector(1)" and "signup_completed" in query:
            series = {"array": None, "inf": [{"metric": {}, "value": [stamp, "+Inf"]}],
                      "negative": [{"metric": {}, "value": [stamp, "-1e308"]}],
                      "stale": [{"metric": {}, "value": [stamp - 86400, "900"]}]}[self.mode]
        body: object = {"status": "success", "data": {"resultType": "vector",
                                                      "result": series}}
        if series is None:
            body = [1, 2, 3]  # a JSON array instead of the answer object
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("mode", "says"), [
    ("array", "a JSON array instead of an object"),
    ("inf", "not a finite number"),
    ("negative", "never negative"),
    ("stale", "outside the query's window"),
])
def test_a_bad_prometheus_answer_is_a_hold_naming_the_query(tmp_path, summaries, mode, says):
    BadPrometheus.mode = mode
    with serving(BadPrometheus) as url:
        result, decision = gate(tmp_path, summaries, "--phase", "25", "--prometheus", url)
    assert result.exit_code == 2 and decision["verdict"] == "hold", result.output
    signup = next(c for c in decision["criteria"] if c["id"] == "signup_completion")
    assert signup["verdict"] == "hold" and says in signup["reason"]
    assert "signup_completed_total" in signup["reason"]  # names the query it refused
    assert "Traceback" not in result.output


def test_a_trickling_prometheus_holds_within_its_deadline(tmp_path, summaries):
    policy = policy_copy(tmp_path, lambda d: d["gate"].update(prometheus_timeout_s=1))
    BadPrometheus.mode = "trickle"
    with serving(BadPrometheus) as url:
        started = time.monotonic()
        result, decision = gate(tmp_path, summaries, "--phase", "25", "--prometheus", url,
                                policy=policy)
        took = time.monotonic() - started
    assert result.exit_code == 2 and decision["verdict"] == "hold", result.output
    rows = [c for c in decision["criteria"] if c["source"] == "prometheus"]
    assert rows and all(c["verdict"] in ("hold", "not_applicable") for c in rows)
    held = [c for c in rows if c["verdict"] == "hold"]
    assert all("no complete answer within 1 s" in c["reason"] for c in held), held[0]["reason"]
    # One deadline for the probe, then every query fails at once: not 1 s per query
    # (18 queries), let alone a read timeout renewed by every byte.
    assert took < 12, f"the evaluation took {took:.1f} s"
