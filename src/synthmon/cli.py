"""The `synthmon` command: one click group whose subcommands live in their own modules.

Subcommands are imported lazily so that `synthmon --help` stays fast and each command pays
only for its own imports.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click.Command; each module owns its command.
_COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("synthmon.sandbox_command:sandbox", "Run the embedded ScholarshipAI sandbox."),
    "baseline": ("synthmon.baseline:baseline_command", "Measure P50/P95/P99 per endpoint."),
    "gate": ("synthmon.gate.command:gate_command", "Canary vs control: go, rollback or hold."),
    "approve": ("synthmon.gate.approvals:approve_command", "Record a human go for a phase."),
    "rules": ("synthmon.rules:rules_command", "The policy as Prometheus rules."),
    "alertmanager": ("synthmon.alerting.command:alertmanager_command",
                     "The policy as an Alertmanager configuration."),
    "monitor": ("synthmon.monitor.command:monitor_command", "Run the suite every interval."),
    "history": ("synthmon.history.command:history_command", "Query the run history store."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attribute = entry[0].partition(":")
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synthmon")
def main() -> None:
    """synthmon: ScholarshipAI's synthetic monitor and canary release gate.

    QA runs the checks with plain `pytest`; these commands serve the sandbox, the
    baseline report, the release gate, the Prometheus rules and the 60 s monitor loop.
    """


if __name__ == "__main__":
    main()
