"""Who this monitor is on /metrics: its region, its target and the target's cohort, and
where its /metrics can be reached."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from synthmon.monitor.metrics import Identity
from synthmon.policy import PolicyError, load_policy

# What pytest assumes for a URL target given without --cohort (the policy names the cohort
# of a named target); the monitor passes its choice to pytest, so both agree.
URL_COHORT = "control"


def _url_label(url: str) -> str:
    """scheme://host[:port] of a well-formed URL; ValueError with the reason otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as exc:
        raise ValueError(f"{url}: not a usable URL ({exc})") from None
    if not parts.hostname:
        raise ValueError(f"{url}: no host in the URL (write e.g. https://canary.example)")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def identity_of(target: str, region: str, cohort: str | None) -> Identity:
    """The labels of every series: a URL target as scheme://host:port (no credentials, no
    path), a named one by its name. pytest itself refuses an unknown name at the preflight."""
    if target.startswith(("http://", "https://")):
        return Identity(region, _url_label(target), cohort or URL_COHORT)
    if cohort is None:
        try:
            named = load_policy().targets.get(target)
        except PolicyError:
            named = None  # the preflight says what is wrong with the policy or the name
        cohort = str(named["cohort"]) if named else URL_COHORT
    return Identity(region, target, cohort)


def metrics_url(host: str, port: int) -> str:
    """Where /metrics answers: a wildcard bind is reachable on loopback too."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}/metrics"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}/metrics"
