"""Argo Rollouts and Flagger played against a running `synthmon gate serve`, exactly as the
manifests in docs/gate-serve.md say: the YAML is read from the page, Argo's web provider is
played by fetching the template's URL, applying its jsonPath with a JSONPath library and
evaluating successCondition/failureCondition as Argo does (both set: neither true is
Inconclusive); Flagger by POSTing its payload to each webhook and reading the status code.

The gate judges a window read from a history store the test writes (`--history`), so each
state is exact and quick: nothing yet (hold), a healthy pair (go; promotion only with every
approval), then a canary failing half its calls (rollback)."""

from __future__ import annotations

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from factory import make_samples
from jsonpath_ng import parse as jsonpath
from jsonschema import Draft202012Validator
from serve_process import gate_serve
from support.http_stub import serving

from synthmon.history import HistoryStore
from synthmon.run_context import RunContext

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "gate-serve.md"
YAML_BLOCK = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
TOKEN = "a-test-approval-token-0123456789"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # its waits add up to ~5 min at worst


def manifests() -> dict[str, dict]:
    found = {}
    for block in YAML_BLOCK.findall(DOC.read_text(encoding="utf-8")):
        document = yaml.safe_load(block)
        if isinstance(document, dict) and "kind" in document:
            found[document["kind"]] = document
    missing = {"AnalysisTemplate", "Rollout", "Canary"} - set(found)
    assert not missing, f"docs/gate-serve.md has no {', '.join(sorted(missing))} manifest"
    return found


def on_server(url: str, served: str) -> str:
    """The manifest's in-cluster address, pointed at the server under test."""
    parts = urlsplit(url)
    return served + parts.path + (f"?{parts.query}" if parts.query else "")


# --- Argo Rollouts' web provider ----------------------------------------------------------
_CONDITION = re.compile(r'^\s*result\s*(==|!=)\s*"([^"]*)"\s*$')


def condition(expression: str, result: object) -> bool:
    """The subset of Argo's expr language the docs use: result == "x" / != "x", joined by
    || or &&. Anything else fails the test: the docs must stay playable."""
    if "||" in expression:
        return any(condition(part, result) for part in expression.split("||"))
    if "&&" in expression:
        return all(condition(part, result) for part in expression.split("&&"))
    match = _CONDITION.match(expression)
    if not match:
        pytest.fail(f"condition {expression!r} is outside what this selftest evaluates")
    equal = result == match.group(2)
    return equal if match.group(1) == "==" else not equal


def argo_phase(metric: dict, result: object) -> str:
    """Argo's EvaluateResult: with both conditions set, neither true is Inconclusive."""
    success, failure = metric.get("successCondition"), metric.get("failureCondition")
    ok = condition(success, result) if success else False
    bad = condition(failure, result) if failure else False
    if not success and not failure:
        return "Successful"
    if success and not failure:
        bad = not ok
    if failure and not success:
        ok = not bad
    if bad:
        return "Failed"
    return "Successful" if ok else "Inconclusive"


def argo_measure(template: dict, step_args: dict[str, str], served: str) -> str:
    spec = template["spec"]
    values = {a["name"]: a.get("value") for a in spec.get("args", [])}
    values.update(step_args)
    metric = spec["metrics"][0]
    web = metric["provider"]["web"]
    url = re.sub(r"{{\s*args\.([\w-]+)\s*}}", lambda m: str(values[m.group(1)]), web["url"])
    answer = requests.get(on_server(url, served), timeout=web.get("timeoutSeconds", 10))
    if not 200 <= answer.status_code < 300:
        return "Error"
    path = web["jsonPath"].strip()
    path = path[1:-1] if path.startswith("{") and path.endswith("}") else path
    matches = [m.value for m in jsonpath(path).find(answer.json())]
    assert matches, f"jsonPath {web['jsonPath']} found nothing in {answer.text[:200]}"
    return argo_phase(metric, matches[0])


def argo_steps(rollout: dict, template_name: str) -> list[dict[str, str]]:
    steps = []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        analysis = step.get("analysis")
        if analysis and any(t["templateName"] == template_name
                            for t in analysis["templates"]):
            steps.append({a["name"]: a["value"] for a in analysis.get("args", [])})
    return steps


def play_argo(docs: dict[str, dict], served: str) -> set[str]:
    template = docs["AnalysisTemplate"]
    steps = argo_steps(docs["Rollout"], template["metadata"]["name"])
    assert {s["phase"] for s in steps} == {"5", "25", "50", "bake"}
    return {argo_measure(template, args, served) for args in steps}


# --- Flagger's webhooks -------------------------------------------------------------------
def play_flagger(docs: dict[str, dict], served: str) -> dict[str, int]:
    canary = docs["Canary"]
    codes = {}
    for hook in canary["spec"]["analysis"]["webhooks"]:
        payload = {"name": canary["metadata"]["name"],
                   "namespace": canary["metadata"]["namespace"], "phase": "Progressing",
                   "checksum": "6d9b4c", "metadata": hook.get("metadata", {})}
        timeout = float(str(hook.get("timeout", "10s")).rstrip("s"))
        answer = requests.post(on_server(hook["url"], served), json=payload, timeout=timeout)
        codes[hook["type"]] = answer.status_code
    return codes


# --- the window the gate reads ------------------------------------------------------------
def record(store: HistoryStore, cohort: str, samples, at: float, tag: str) -> None:
    """Samples as runs of their own (run ids kept apart), re-timed into the last minutes."""
    by_run: dict[str, list] = {}
    for i, s in enumerate(samples):
        run_id = f"{tag}-{cohort}-{s.run_id}"
        moved = type(s).from_dict({**s.to_dict(), "run_id": run_id,
                                   "started_at": at - 240 + i * 0.05})
        by_run.setdefault(run_id, []).append(moved)
    for run_id, run in by_run.items():
        context = RunContext(run_id=run_id, target="http://127.0.0.1:1", target_name="url",
                             cohort=cohort, region="local", device="desktop",
                             build_id=f"b-{cohort}", git_sha="abcdef1", environment="sandbox",
                             started_at=run[0].started_at)
        store.append(context, run)


class SlackWebhook(BaseHTTPRequestHandler):
    """A Slack-compatible incoming webhook: keeps each message's text."""

    texts: ClassVar[list[str]] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        SlackWebhook.texts.append(json.loads(self.rfile.read(length))["text"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def notifying_policy(folder: Path) -> Path:
    data = yaml.safe_load((ROOT / "canary-policy.yaml").read_text())
    data["gate"]["notify"] = {"url_env": "SYNTH_TEST_GATE_WEBHOOK"}
    folder.mkdir()
    shutil.copytree(ROOT / "schemas", folder / "schemas")
    (folder / "canary-policy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "canary-policy.yaml"


HOLD_FLAGGER = {"confirm-rollout": 200, "pre-rollout": 200, "rollout": 200,
                "confirm-promotion": 409, "rollback": 409, "post-rollout": 200, "event": 200}


def test_argo_and_flagger_read_hold_go_and_rollback_as_the_docs_say(tmp_path):
    docs = manifests()
    db = tmp_path / "history.sqlite"
    store = HistoryStore(db)
    store.create()  # an empty store, as a monitor leaves it before its first run
    (tmp_path / "token").write_text(TOKEN + "\n")
    schema = Draft202012Validator(
        json.loads((ROOT / "schemas" / "gate-verdict.schema.json").read_text()),
        format_checker=Draft202012Validator.FORMAT_CHECKER)
    SlackWebhook.texts.clear()
    with serving(SlackWebhook) as webhook, gate_serve(
            tmp_path / "serve", "--history", str(db), "--phase", "25", "--interval", "1s",
            "--window", "10m", "--policy", str(notifying_policy(tmp_path / "policy")),
            "--ledger", str(tmp_path / "ledger.jsonl"), "--approval-token-file",
            str(tmp_path / "token"), "--db", str(tmp_path / "decisions.sqlite"),
            env={"SYNTH_TEST_GATE_WEBHOOK": webhook + "/hook"}) as served:
        # Nothing recorded yet: hold, which Argo reads as Inconclusive and Flagger as
        # neither a failure nor a promotion nor a rollback.
        first = served.wait_for(lambda v: v["evaluation"] >= 1, 60, "a first evaluation")
        assert first["verdict"] == "hold"
        schema.validate(first)
        assert play_argo(docs, served.url) == {"Inconclusive"}
        assert play_flagger(docs, served.url) == HOLD_FLAGGER

        # A healthy pair: go. Promotion waits for the approvals, then passes.
        now = time.time()
        record(store, "canary", make_samples(2400, "canary", 2), now, "healthy")
        record(store, "control", make_samples(2400, "control", 3), now, "healthy")
        go = served.wait_for(lambda v: v["verdict"] == "go", 60, "a go on the healthy pair")
        schema.validate(go)
        assert play_argo(docs, served.url) == {"Successful"}
        codes = play_flagger(docs, served.url)
        assert codes == {**HOLD_FLAGGER, "confirm-promotion": 409}
        for role in ("sre", "eng", "pm"):
            answer = requests.post(f"{served.url}/api/v1/approvals", json={
                "phase": "5", "role": role, "name": f"Approver {role}"},
                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert answer.status_code == 201, answer.text
        assert play_flagger(docs, served.url)["confirm-promotion"] == 200
        ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text()
                  .splitlines()]
        assert {(e["phase"], e["role"], e["build_id"]) for e in ledger} == {
            ("5", role, "b-canary") for role in ("sre", "eng", "pm")}

        # Fifty pollers at once: every one is answered, from the stored verdict.
        def poll(_):
            return [requests.get(f"{served.url}/api/v1/verdict", timeout=10).status_code
                    for _ in range(5)]

        with ThreadPoolExecutor(50) as pool:
            statuses = [code for codes in pool.map(poll, range(50)) for code in codes]
        assert statuses == [200] * 250

        # The canary starts failing half its calls: rollback, on every surface.
        record(store, "canary", make_samples(700, "canary", 5, error_rate=0.5), time.time(),
               "faulty")
        rollback = served.wait_for(lambda v: v["verdict"] == "rollback", 60, "a rollback")
        schema.validate(rollback)
        assert "http_5xx_rate" in rollback["tripped"]
        assert play_argo(docs, served.url) == {"Failed"}
        codes = play_flagger(docs, served.url)
        assert codes == {**HOLD_FLAGGER, "pre-rollout": 409, "rollout": 409, "rollback": 200}
        metrics = requests.get(f"{served.url}/metrics", timeout=10).text
        assert 'synthmon_gate_verdict{phase="25",verdict="rollback"} 1.0' in metrics
        assert ('synthmon_gate_criterion_verdict{criterion="http_5xx_rate",phase="25",'
                'verdict="rollback"} 1.0') in metrics
        page = requests.get(served.url + "/", timeout=10).text
        assert 'data-verdict="rollback"' in page and "http_5xx_rate" in page

        unknown = requests.get(f"{served.url}/api/v1/verdict", params={"phase": "7"},
                               timeout=10)
        assert unknown.status_code == 400
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert unknown.json()["status"] == 400 and "7" in unknown.json()["detail"]
        refused = requests.post(f"{served.url}/api/v1/approvals", json={
            "role": "sre", "name": "Mallory"}, timeout=10)
        assert refused.status_code == 401

        code, out = served.stop()
    assert code == 0, out
    assert "stopped after" in out and "the last said rollback" in out
    kept = HistoryStore(tmp_path / "decisions.sqlite").decisions()
    assert kept and kept[-1]["decision"]["verdict"] == "rollback"
    assert {"hold", "go", "rollback"} <= {k["decision"]["verdict"] for k in kept}
    assert all(k["origin"] == "serve" for k in kept)
    # One message per change of the verdict, no more: started -> hold -> go -> rollback.
    heads = [text.splitlines()[0] for text in SlackWebhook.texts]
    assert heads == ["synthmon gate, phase 25: started → *HOLD*",
                     "synthmon gate, phase 25: HOLD → *GO*",
                     "synthmon gate, phase 25: GO → *ROLLBACK*"], heads
    assert "http_5xx_rate" in SlackWebhook.texts[-1]
    assert "|ship-room page>" in SlackWebhook.texts[-1]


def test_the_condition_player_can_fail():
    """The selftest's own Argo: a hold under success/failure conditions is Inconclusive,
    and a template with only a successCondition would read hold as Failed (which is why
    the docs set both)."""
    both = {"successCondition": 'result == "go"', "failureCondition": 'result == "rollback"'}
    assert argo_phase(both, "hold") == "Inconclusive"
    assert argo_phase(both, "rollback") == "Failed"
    assert argo_phase({"successCondition": 'result == "go"'}, "hold") == "Failed"
