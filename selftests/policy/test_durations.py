"""One duration grammar (synthmon.durations) for the policy, the rules, the history and every
command-line flag: what it takes, what it refuses, and the flags' ranges."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from synthmon import durations
from synthmon.cli import main
from synthmon.history.command import parse_when
from synthmon.policy import load_policy
from synthmon.rules import build_rules, to_yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("20s", 20), ("1.5m", 90), ("2h", 7200), ("7d", 604800), ("1w", 604800),
    ("0m", 0), (" 15m ", 900), ("90", 90), ("2.5", 2.5), (300, 300), (1.5, 1.5),
])
def test_what_a_duration_is(text: str | float, seconds: float) -> None:
    assert durations.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [
    "", "soon", "15 m", "-5s", "1.5.2m", "1y", "m", "15M", "1h30m", True, -1, math.nan,
])
def test_what_is_refused_with_a_sentence(text: object) -> None:
    with pytest.raises(durations.DurationError, match="not a duration"):
        durations.parse(text)  # type: ignore[arg-type]


def test_a_bare_number_can_be_refused_where_it_means_something_else() -> None:
    with pytest.raises(durations.DurationError):
        durations.parse("90", bare_seconds=False)
    assert durations.parse("90s", bare_seconds=False) == 90


@pytest.mark.parametrize(("value", "form"), [
    ("1.5m", "90s"), ("60m", "60m"), ("1w", "1w"), (900, "15m"), (0.25, "250ms"),
    (604800, "7d"), ("1.5s", "1500ms"), (0.0001, "1ms"),
])
def test_what_prometheus_and_alertmanager_are_given(value: str | float, form: str) -> None:
    assert durations.prometheus_form(value) == form


def test_the_policy_schema_has_the_same_grammar() -> None:
    schema = json.loads((REPO / "schemas" / "canary-policy.schema.json").read_text())
    assert schema["$defs"]["duration"]["pattern"] == durations.PATTERN


def test_the_range_is_in_the_message() -> None:
    assert durations.within(60, 1, 3600) == 60
    with pytest.raises(durations.DurationError, match=r"'2h' is outside 1s\.\.1h"):
        durations.within(7200, 1, 3600, "2h")


def _option(duration: durations.Duration) -> click.Command:
    @click.command()
    @click.option("--for", "for_", type=duration, default=None)
    def command(for_: float | None) -> None:
        click.echo(repr(for_))
    return command


def test_a_flag_takes_durations_and_bare_seconds_within_its_range() -> None:
    command = _option(durations.Duration("1s", "1d"))
    for given, seconds in (("15m", 900.0), ("1.5m", 90.0), ("60", 60.0)):
        done = CliRunner().invoke(command, ["--for", given])
        assert done.exit_code == 0 and done.output.strip() == repr(seconds), done.output
    for given, message in (("999999d", "'999999d' is outside 1s..1d"),
                           ("0.5s", "'0.5s' is outside 1s..1d"),
                           ("", "'' is not a duration")):
        done = CliRunner().invoke(command, ["--for", given])
        assert done.exit_code == 2 and message in done.output, done.output


@pytest.mark.parametrize(("window", "message"), [
    ("999999d", "'999999d' is outside 1s..1d"), ("", "'' is not a duration"),
    ("soon", "'soon' is not a duration"),
])
def test_the_gate_refuses_a_window_it_cannot_mean(window: str, message: str) -> None:
    done = CliRunner().invoke(main, ["gate", "--phase", "5", "--window", window])
    assert done.exit_code == 3, done.output  # the gate's "could not evaluate", never hold
    assert message in done.output and "Traceback" not in done.output


def test_one_and_a_half_minutes_and_one_week_work_everywhere(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))
    data["window"], data["slo"]["error_budget_period"] = "1.5m", "1w"
    (tmp_path / "canary-policy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    policy = load_policy(tmp_path / "canary-policy.yaml")
    assert (policy.window_s, policy.error_budget_period_s) == (90, 604800)
    rules = to_yaml(build_rules(policy))
    assert "[90s]" in rules and "[1.5m]" not in rules
    assert parse_when("1w", 1_000_000.0) == 1_000_000.0 - 604800
    assert parse_when("1.5m", 1000.0) == 910.0
