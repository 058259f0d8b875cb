"""The policy as an Alertmanager configuration: routes by severity to the receivers, grouping
(one incident, one notification, however many regions see it), inhibition, mute time
intervals, and the notification text (templates.py).

Receiver URLs are secrets, so the policy names environment variables and the caller hands
in their values (`synthmon alertmanager` reads the environment, `--receiver` overrides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from synthmon.alerting import names
from synthmon.alerting import templates as t
from synthmon.alerting.settings import SEVERITIES, AlertingSettings, Receiver

GROUP_BY_CHECK = ["alertname", "check", "target"]
GROUP_BY_REGION = ["alertname", "region", "target"]


class ReceiverError(ValueError):
    """A receiver's URL or key is missing; the message names the variable to set."""


@dataclass(frozen=True, slots=True)
class Timings:
    group_wait: str
    group_interval: str
    repeat_interval: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one receiver delivers: its URL and, for PagerDuty, its routing key."""

    url: str
    routing_key: str | None = None


def endpoints(settings: AlertingSettings, environ: Mapping[str, str],
              overrides: Mapping[str, str]) -> dict[str, Endpoint]:
    """Each receiver's URL from `overrides` (--receiver NAME=URL) or its environment variable;
    a receiver no route uses needs none."""
    unknown = sorted(set(overrides) - set(settings.receivers))
    if unknown:
        raise ReceiverError(f"--receiver {unknown[0]}=...: no such receiver in the policy "
                            f"(known: {', '.join(sorted(settings.receivers))})")
    used = {name for route in settings.routes.values() for name in route}
    found: dict[str, Endpoint] = {}
    for name in sorted(used):
        receiver = settings.receivers[name]
        url = overrides.get(name) or environ.get(receiver.url_env, "").strip()
        if not url:
            raise ReceiverError(
                f"receiver {name} ({receiver.kind}): {receiver.url_env} is not set; set it to "
                f"the {receiver.kind} URL or pass --receiver {name}=URL")
        if not url.startswith(("http://", "https://")):
            raise ReceiverError(f"receiver {name}: {url!r} is not an http(s) URL")
        key = None
        if receiver.routing_key_env:
            key = environ.get(receiver.routing_key_env, "").strip()
            if not key:
                raise ReceiverError(
                    f"receiver {name} (pagerduty): {receiver.routing_key_env} is not set; set "
                    "it to the Events API v2 routing key of the on-call service")
        found[name] = Endpoint(url, key)
    return found


def _receiver(receiver: Receiver, endpoint: Endpoint) -> dict[str, Any]:
    if receiver.kind == "pagerduty":
        return {"name": receiver.name, "pagerduty_configs": [{
            "url": endpoint.url,
            "routing_key": endpoint.routing_key,
            "send_resolved": True,
            "client": "synthmon",
            "client_url": t.RUNBOOK,
            "description": t.TITLE,
            "details": {
                "alert": "{{ .CommonLabels.alertname }}",
                "summary": t.BODY, "regions": t.REGIONS, "check": "{{ .CommonLabels.check }}",
                "target": "{{ .CommonLabels.target }}", "runbook": t.RUNBOOK,
                "synthetic_ids": t.SYNTHETIC_IDS, "trace_ids": t.TRACE_IDS,
                "num_firing": "{{ .Alerts.Firing | len }}",
            },
        }]}
    if receiver.kind == "slack":
        return {"name": receiver.name, "slack_configs": [{
            "api_url": endpoint.url, "send_resolved": True, "title": t.TITLE,
            "title_link": t.RUNBOOK, "text": t.BODY,
        }]}
    return {"name": receiver.name, "webhook_configs": [{
        "url": endpoint.url, "send_resolved": True}]}


def _fan_out(settings: AlertingSettings) -> list[dict[str, Any]]:
    """One route per (severity, receiver), each continuing, so every receiver listed for a
    severity hears of it; severities muted by a maintenance window get its name."""
    routes = []
    for severity in SEVERITIES:
        muted = [w.name for w in settings.maintenance if severity in w.mute]
        for name in settings.routes[severity]:
            route: dict[str, Any] = {"receiver": name, "matchers": [f'severity="{severity}"'],
                                     "continue": True}
            if muted:
                route["mute_time_intervals"] = muted
            routes.append(route)
    return routes


def _inhibitions() -> list[dict[str, Any]]:
    synthetic = f'component="{names.COMPONENT}"'
    per_check = "|".join((names.CHECK_FAILING, names.PROBE_LOCATION_FAILING,
                          names.CHECK_DEGRADED))
    return [
        {   # the target is down: every check on it fails for that one reason
            "source_matchers": [f'alertname="{names.TARGET_UNREACHABLE}"'],
            "target_matchers": [synthetic, f'alertname=~"{per_check}"'],
            "equal": ["target"],
        },
        {   # a monitor that does not run explains whatever its region reports
            "source_matchers": [f'alertname="{names.MONITOR_DOWN}"'],
            "target_matchers": [synthetic, f'alertname!="{names.MONITOR_DOWN}"'],
            "equal": ["region"],
        },
        {   # a page inhibits its own ticket
            "source_matchers": [synthetic, 'severity="page"'],
            "target_matchers": [synthetic, 'severity="ticket"'],
            "equal": ["check", "target"],
        },
    ]


def _time_intervals(settings: AlertingSettings) -> list[dict[str, Any]]:
    return [{"name": w.name, "time_intervals": [{
        "weekdays": list(w.weekdays),
        "times": [{"start_time": w.start, "end_time": w.end}],
        "location": w.location,
    }]} for w in settings.maintenance]


def build_config(settings: AlertingSettings, found: Mapping[str, Endpoint],
                 timings: Timings) -> dict[str, Any]:
    fan_out = _fan_out(settings)
    config: dict[str, Any] = {
        "route": {
            # An alert with no known severity still reaches a person: the first ticket receiver.
            "receiver": settings.routes["ticket"][0],
            "group_by": GROUP_BY_CHECK,
            "group_wait": timings.group_wait,
            "group_interval": timings.group_interval,
            "repeat_interval": timings.repeat_interval,
            "routes": [
                {"matchers": [f'alertname=~"{"|".join(names.BY_REGION)}"'],
                 "group_by": GROUP_BY_REGION, "routes": fan_out},
                *fan_out,
            ],
        },
        "receivers": [_receiver(settings.receivers[name], endpoint)
                      for name, endpoint in sorted(found.items())],
        "inhibit_rules": _inhibitions(),
    }
    if settings.maintenance:
        config["time_intervals"] = _time_intervals(settings)
    return config


HEADER = (
    "# Generated by `synthmon alertmanager` from canary-policy.yaml: do not edit by hand.\n"
    "# It holds the receivers' URLs: keep it as secret as they are.\n"
    "# Check: amtool check-config FILE; tests: selftests/alerting/.\n"
)
