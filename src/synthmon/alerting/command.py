"""`synthmon alertmanager`: write the policy as an Alertmanager configuration."""

from __future__ import annotations

import os
from pathlib import Path

import click

from synthmon import durations
from synthmon.alerting.alertmanager import (
    HEADER,
    ReceiverError,
    Timings,
    build_config,
    endpoints,
)
from synthmon.alerting.settings import read_alerting
from synthmon.durations import Duration
from synthmon.policy import PolicyError, load_policy
from synthmon.yaml_text import dump_yaml


def _receiver_pair(ctx: click.Context, param: click.Parameter,
                   values: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise click.BadParameter(f"{value!r}: write NAME=URL, e.g. chat=https://hooks.example/x")
        pairs[name.strip()] = url.strip()
    return pairs


def _timing(option: float | None, policy_value: str, where: str) -> str:
    """An option's duration, else the policy's, as Alertmanager writes it; never zero."""
    seconds = option if option is not None else durations.parse(policy_value)
    if seconds <= 0:
        raise ValueError(f"alerting.{where}: {policy_value!r} must be longer than zero")
    return durations.prometheus_form(seconds)


@click.command("alertmanager")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="Policy file (default: $SYNTH_POLICY or ./canary-policy.yaml).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the configuration here instead of stdout (it holds the receivers' "
                   "URLs: keep it secret).")
@click.option("--receiver", "receivers", multiple=True, callback=_receiver_pair,
              metavar="NAME=URL",
              help="A receiver's URL, instead of the environment variable the policy names "
                   "for it (repeatable).")
@click.option("--group-wait", type=Duration("1ms", "30d"), default=None,
              help="How long a new group waits for more alerts before it notifies "
                   "(default: the policy's alerting.grouping).")
@click.option("--group-interval", type=Duration("1ms", "30d"), default=None,
              help="How long a group waits before notifying of changes to it.")
@click.option("--repeat-interval", type=Duration("1ms", "30d"), default=None,
              help="How long before a still-firing group is notified again.")
def alertmanager_command(policy_path: str | None, out: str | None, receivers: dict[str, str],
                         group_wait: float | None, group_interval: float | None,
                         repeat_interval: float | None) -> None:
    """The policy's `alerting:` section as an Alertmanager configuration (YAML).

    Routes each severity (page, ticket) to its receivers, groups one incident into one
    notification however many regions see it, inhibits the per-check pages a down target or
    a down monitor explains (and a ticket its page already covers), mutes the maintenance
    windows. Receiver URLs come from the environment variables the policy names (a PagerDuty
    receiver also needs its routing key there). Check the output with `amtool check-config`.
    """
    try:
        settings = read_alerting(load_policy(policy_path))
        timings = Timings(
            group_wait=_timing(group_wait, settings.group_wait, "grouping.group_wait"),
            group_interval=_timing(group_interval, settings.group_interval,
                                   "grouping.group_interval"),
            repeat_interval=_timing(repeat_interval, settings.repeat_interval,
                                    "grouping.repeat_interval"),
        )
        config = build_config(settings, endpoints(settings, os.environ, receivers), timings)
    except (PolicyError, ReceiverError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    text = dump_yaml(config, HEADER)
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    try:
        # Owner-only from the start: the file holds the receivers' URLs and keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"synthmon alertmanager: wrote {path}", err=True)
