"""The runbook's maintenance-window commands are amtool commands that exist, with options
amtool knows and matchers that name the synthetic monitor's alerts."""

from __future__ import annotations

import shlex
from pathlib import Path

from amtool_support import amtool

from synthmon.alerting import names

RUNBOOK = Path(__file__).resolve().parents[2] / "RUNBOOK.md"


def commands() -> list[list[str]]:
    return [shlex.split(line.strip()) for line in RUNBOOK.read_text().splitlines()
            if line.startswith("    amtool ")]


def test_every_amtool_command_of_the_runbook_uses_options_amtool_has() -> None:
    found = commands()
    assert {tuple(argv[1:3]) for argv in found} >= {("silence", "add"), ("silence", "query"),
                                                     ("silence", "expire")}
    for argv in found:
        words = [w for w in argv[1:3] if not w.startswith("-")]
        helptext = amtool(*words, "--help").stdout + amtool(*words, "--help").stderr
        for word in argv:
            if word.startswith("--"):
                assert word.split("=")[0] in helptext, f"amtool {' '.join(words)} has no {word}"


def test_silences_match_the_synthetic_monitors_alerts_only() -> None:
    for argv in commands():
        if argv[1:3] == ["silence", "add"]:
            assert f'component="{names.COMPONENT}"' in argv
            assert any(word.startswith('target="') for word in argv)
