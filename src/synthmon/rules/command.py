"""`synthmon rules`: print or write the policy as Prometheus rules."""

from __future__ import annotations

from pathlib import Path

import click

from synthmon.durations import Duration
from synthmon.output_files import write_text_file
from synthmon.policy import PolicyError, load_policy
from synthmon.rules.build import build_rules, to_yaml


@click.command("rules")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="Policy file (default: $SYNTH_POLICY or ./canary-policy.yaml).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the rule file here instead of stdout (its folder must exist).")
@click.option("--window", type=Duration("10s", "1d"), default=None,
              help="Override the policy's rolling window, e.g. 10m (10s to 1d).")
@click.option("--runbook-url", default=None,
              help="Base URL of RUNBOOK.md; each alert links to its section (default: the "
                   "policy's alerting.runbook_url).")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True, max=1000), default=1.0,
              show_default=True, metavar="FACTOR",
              help="Multiply every range window and `for:` by FACTOR (e.g. 0.0667 for monitors "
                   "at 4 s instead of 60 s). For end-to-end tests only: the file says so.")
@click.option("--update-runbook", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Rewrite the generated blocks of this RUNBOOK.md from the policy instead.")
def rules_command(policy_path: str | None, out: str | None, window: float | None,
                  runbook_url: str | None, time_scale: float,
                  update_runbook: str | None) -> None:
    """The policy as Prometheus recording and alerting rules (YAML).

    Every rollback criterion pages; rising 4xx/5xx/latency open tickets; the SLO gets
    multiwindow, multi-burn-rate alerts. Check the output with `promtool check rules`.
    """
    if update_runbook:
        _update_runbook(Path(update_runbook), policy_path)
        return
    try:
        rules = build_rules(load_policy(policy_path), window=window, runbook_url=runbook_url,
                            time_scale=time_scale)
        text = to_yaml(rules, time_scale)
    except (PolicyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if out is None:
        click.echo(text, nl=False)
        return
    write_text_file(Path(out), text, "the rule file")
    click.echo(f"synthmon rules: wrote {out}", err=True)


def _update_runbook(path: Path, policy_path: str | None) -> None:
    from synthmon.rules.runbook import render

    try:
        before = path.read_text(encoding="utf-8")
        after = render(before, load_policy(policy_path))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"cannot read {path}: not UTF-8 text") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (PolicyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if after != before:
        write_text_file(path, after)
    click.echo(f"synthmon rules: {path} {'updated' if after != before else 'already current'}",
               err=True)
