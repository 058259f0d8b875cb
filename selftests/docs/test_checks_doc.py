"""docs/checks.md cannot drift from the checks: one section per check in tests/, with the
check's real markers, budgets equal to canary-policy.yaml for endpoints the check really
calls, and a failure example naming the check and a cause its source can produce."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "checks.md"
BUDGET = re.compile(r"`([A-Z]+ /[^`]*)` (\d+) ms \(hard limit (\d+) ms\)")
STEP_BUDGET = re.compile(r"step `([a-z_]+)` (\d+) ms \(hard limit (\d+) ms\)")
VITAL_BUDGET = re.compile(
    r"\b(TTFB|LCP|CLS|TBT|INP) ([\d.]+)(?: ms)? \(hard limit ([\d.]+)(?: ms)?\)")


def _pytest(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                      env.get("PYTHONPATH")]))
    env["CHECKS_INVENTORY"] = str(tmp / "inventory.json")
    for name in [n for n in env if n.startswith("SYNTH_")]:
        env.pop(name)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "checks_inventory", "-p", "no:cacheprovider",
         f"--reports-dir={tmp / 'reports'}", "-q", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def reality(tmp_path_factory) -> dict:
    """The checks as pytest collects them, and the endpoints each called in one real run
    against the embedded sandbox."""
    tmp = tmp_path_factory.mktemp("checks")
    run = _pytest(tmp)
    inventory = json.loads((tmp / "inventory.json").read_text())
    summary = json.loads((tmp / "reports" / "latest" / "summary.json").read_text())
    called: dict[str, set[str]] = defaultdict(set)
    for r in summary["requests"]:
        called[r["check"].split("::")[-1].split("[")[0]].add(f"{r['method']} {r['route']}")
    return {"checks": {c["name"]: c for c in inventory}, "called": called, "output": run.stdout}


def sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### (\S+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def policy_budgets() -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    budgets = yaml.safe_load((REPO / "canary-policy.yaml").read_text())["budgets"]
    default = (budgets["default"]["budget_ms"], budgets["default"]["hard_limit_ms"])
    return {k: (v["budget_ms"], v["hard_limit_ms"]) for k, v in budgets["endpoints"].items()}, \
        default


@pytest.mark.slow
def test_one_section_per_check(reality):
    documented, actual = set(sections()), set(reality["checks"])
    assert not actual - documented, f"checks with no section: {actual - documented}"
    assert not documented - actual, f"sections for checks that do not exist: {documented - actual}"


@pytest.mark.slow
def test_markers_are_the_checks_real_markers(reality):
    wrong = {}
    for name, body in sections().items():
        check = reality["checks"].get(name)
        line = re.search(r"^Markers: (.*)$", body, re.M)
        listed = sorted(re.findall(r"`([^`]+)`", line.group(1))) if line else None
        if check and listed != check["markers"]:
            wrong[name] = (listed, check["markers"])
    assert not wrong, f"(documented, actual) markers differ: {wrong}"


def browser_budgets() -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(steps, vitals) of the policy's browser section: name -> (budget, hard limit)."""
    browser = yaml.safe_load((REPO / "canary-policy.yaml").read_text())["browser"]
    steps = {k: (v["budget_ms"], v["hard_limit_ms"]) for k, v in browser["steps"].items()}
    vitals = {k.upper(): (v["budget"], v["hard_limit"]) for k, v in browser["vitals"].items()}
    return steps, vitals


@pytest.mark.slow
def test_browser_budgets_match_the_policy_and_the_steps(reality):
    steps, vitals = browser_budgets()
    problems = []
    for name, body in sections().items():
        for step, budget, hard in STEP_BUDGET.findall(body):
            wanted = steps.get(step, steps["default"])
            if (float(budget), float(hard)) != wanted:
                problems.append(f"{name}: step {step} {budget}/{hard} ms, policy says {wanted}")
            if name in reality["checks"] and f"STEP {step}" not in reality["called"].get(name, ()):
                problems.append(f"{name}: lists step {step}, which it did not take")
        for vital, budget, hard in VITAL_BUDGET.findall(body):
            if (float(budget), float(hard)) != vitals[vital]:
                problems.append(f"{name}: {vital} {budget}/{hard}, policy says {vitals[vital]}")
        taken = {e.split(" ", 1)[1] for e in reality["called"].get(name, ())
                 if e.startswith("STEP ")}
        documented = {s for s, _, _ in STEP_BUDGET.findall(body)}
        if taken - documented:
            problems.append(f"{name}: takes steps its Budget line does not list: "
                            f"{sorted(taken - documented)}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_budgets_match_the_policy_and_the_calls(reality):
    endpoints, default = policy_budgets()
    problems = []
    for name, body in sections().items():
        listed = BUDGET.findall(body)
        if not listed and not STEP_BUDGET.search(body):
            problems.append(f"{name}: no Budget line")
        for endpoint, budget, hard in listed:
            if (int(budget), int(hard)) != endpoints.get(endpoint, default):
                problems.append(f"{name}: {endpoint} {budget}/{hard} ms, policy says "
                                f"{endpoints.get(endpoint, default)}")
            if name in reality["checks"] and endpoint not in reality["called"].get(name, ()):
                problems.append(f"{name}: lists {endpoint}, which it did not call")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_failure_examples_name_the_check_and_a_cause_it_can_produce(reality):
    problems = []
    for name, body in sections().items():
        check = reality["checks"].get(name)
        example = re.search(r"^```text\n(.*?)\n```", body, re.M | re.S)
        if check is None or example is None:
            problems.append(f"{name}: no failure example")
            continue
        message = example.group(1)
        if not message.startswith(f"{check['file']}::{name}"):
            problems.append(f"{name}: the example does not start with its node id")
        wanted = re.search(r"but expected (.{12})", message)
        source = (REPO / check["file"]).read_text()
        if wanted and wanted.group(1) not in source:
            problems.append(f"{name}: {wanted.group(1)!r} is not in {check['file']}")
    assert not problems, "\n".join(problems)
