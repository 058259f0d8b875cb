"""RUNBOOK.md cannot drift from the policy: its generated blocks are what the policy says
today, every alert has its section, every command it tells the ship-room to type exists
with those options, and the decisions still pending are explicit TODO fields."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from synthmon.cli import main
from synthmon.policy import Policy, load_policy
from synthmon.rules import alerts_of
from synthmon.rules.runbook import GENERATORS, block_names, render

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "RUNBOOK.md"
FIX = "run `synthmon rules --update-runbook=RUNBOOK.md` and commit the result"


@pytest.fixture(scope="module")
def text() -> str:
    return RUNBOOK.read_text(encoding="utf-8")


def test_generated_blocks_match_the_policy(text: str, policy: Policy) -> None:
    assert sorted(block_names(text)) == sorted(GENERATORS), "a generated block is missing"
    assert render(text, policy) == text, f"RUNBOOK.md is out of date with the policy: {FIX}"


def test_a_changed_threshold_is_caught(text: str, policy: Policy, tmp_path: Path) -> None:
    data = yaml.safe_load(policy.path.read_text(encoding="utf-8"))
    first = data["criteria"][0]
    first["threshold"] = float(first["threshold"]) * 2
    changed = tmp_path / "canary-policy.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # the policy's own schema is looked up beside the file: give it one
    (tmp_path / "schemas").mkdir()
    schema = REPO / "schemas" / "canary-policy.schema.json"
    (tmp_path / "schemas" / schema.name).write_text(schema.read_text(encoding="utf-8"))
    assert render(text, load_policy(changed)) != text


def test_every_threshold_of_the_policy_is_in_the_runbook(text: str, policy: Policy) -> None:
    block = text.split("<!-- synthmon:thresholds:begin -->")[1].split("<!-- synthmon:")[0]
    for criterion in policy.data["criteria"]:
        assert f"`{criterion['id']}`" in block


def test_every_alert_has_its_section(text: str, rules: dict[str, Any]) -> None:
    headings = set(re.findall(r"^### (\w+)$", text, re.M))
    names = {rule["alert"] for rule in alerts_of(rules)}
    assert not names - headings, f"alerts without a RUNBOOK.md section: {names - headings}"
    assert not headings - names, f"sections for alerts that do not exist: {headings - names}"


@pytest.mark.parametrize("decision", [
    "region", "lb-cdn", "feature-flags", "payment-scope",
    "name-sre", "name-eng", "name-pm", "name-security",
])
def test_pending_decisions_are_explicit_todo_fields(text: str, decision: str) -> None:
    pending = text.split("## Decisions still pending")[1].split("\n## ")[0]
    assert f"TODO({decision})" in pending


def _commands(text: str) -> list[list[str]]:
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    return [shlex.split(line) for line in lines if line.strip().startswith("synthmon ")]


def test_every_command_in_the_runbook_exists_with_its_options(text: str,
                                                              policy: Policy) -> None:
    commands = _commands(text)
    used = {argv[1] for argv in commands}
    assert {"gate", "approve", "baseline", "rules"} <= used
    ctx = click.Context(main)
    for argv in commands:
        command = main.get_command(ctx, argv[1])
        assert command is not None, f"no command `synthmon {argv[1]}`"
        name, rest = argv[1], argv[2:]
        if (isinstance(command, click.Group) and rest
                and (sub := command.get_command(ctx, rest[0])) is not None):
            command, name, rest = sub, f"{name} {rest[0]}", rest[1:]  # `gate serve`
        known = {opt for p in command.params for opt in p.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"`synthmon {name}` has no {word}"
        if "--phase" in argv:
            assert argv[argv.index("--phase") + 1] in policy.data["phases"]


# pytest's own path options, and the suite's: a space-separated absolute path after them is
# read as a test path too, which moves pytest's rootdir (and so its ini file and conftests).
PYTEST_PATH_OPTIONS = {"--reports-dir", "--basetemp", "--rootdir", "--junitxml",
                       "--confcutdir", "--junit-xml", "-c", "--config-file"}
# synthmon options that take a path but are declared as plain strings (gate, approve).
SYNTHMON_PATH_NAMES = {"--out", "--policy", "--ledger", "--suite-dir", "--db", "--history",
                       "--baseline", "--reports-dir", "--ready-file", "--access-log"}


def path_options_written_apart(argv: list[str]) -> list[str]:
    """The path options of one typed command given as `--opt PATH` instead of `--opt=PATH`."""
    if argv[0] == "synthmon":
        command = main.get_command(click.Context(main), argv[1])
        assert command is not None, f"no command `synthmon {argv[1]}`"
        path_options = {opt for p in command.params for opt in p.opts
                        if isinstance(p.type, click.Path) or opt in SYNTHMON_PATH_NAMES}
    else:
        path_options = PYTEST_PATH_OPTIONS
    return [word for word in argv if word in path_options]


def test_the_path_checker_can_fail() -> None:
    assert path_options_written_apart(
        ["synthmon", "gate", "--baseline", "/x/b.json", "--out=o", "--phase", "5"]) == [
            "--baseline"]
    assert path_options_written_apart(["synthmon", "gate", "--out", "o"]) == ["--out"]
    assert path_options_written_apart(["pytest", "--reports-dir", "/tmp/r"]) == ["--reports-dir"]
    assert path_options_written_apart(["pytest", "--reports-dir=/tmp/r", "--target", "x"]) == []


def test_every_path_option_in_the_runbook_is_written_opt_equals_path(text: str) -> None:
    lines = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    typed = [shlex.split(line) for line in lines
             if line.strip().startswith(("synthmon ", "pytest "))]
    apart = {" ".join(argv): path_options_written_apart(argv) for argv in typed}
    assert {k: v for k, v in apart.items() if v} == {}, "write --opt=PATH"
