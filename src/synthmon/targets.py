"""Which API a run talks to: a URL, a target named in the policy, or the embedded sandbox.

One resolver for every stage that takes a --target (the suite, the baseline, the monitor):
pure, so the stages that never import the plugin can use it too. The embedded sandbox is
started as a process (synthmon.sandbox_process) by whoever needs it; the checks speak HTTP
to it exactly as to production. Also here: how a target's /health answer reads, and the
sentence for a target that does not answer, the same wherever it is asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from synthmon.policy import Policy

EMBEDDED = "embedded"
DEFAULT_TARGET = "sandbox"


class TargetError(Exception):
    """The target cannot be used: unknown name, sandbox failed to start, wrong build..."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    name: str  # the policy's name, or "url"
    url: str | None  # None: start the embedded sandbox
    cohort: str
    environment: str


def resolve(value: str | None, policy: Policy) -> TargetSpec:
    """--target / SYNTH_TARGET -> TargetSpec; no value means the policy's `sandbox` target."""
    value = (value or "").strip() or DEFAULT_TARGET
    if value.startswith(("http://", "https://")):
        return TargetSpec("url", usable_url(value, "--target"), "control", "custom")
    targets = policy.targets
    if value not in targets:
        if value == DEFAULT_TARGET:
            return TargetSpec(DEFAULT_TARGET, None, "control", "sandbox")
        raise TargetError(
            f"--target {value}: neither an http(s) URL nor a target named in {policy.path} "
            f"(known: {', '.join(sorted(targets))})"
        )
    entry = targets[value]  # url, cohort and environment: the policy schema requires them
    url = str(entry["url"])
    return TargetSpec(
        name=value,
        url=None if url == EMBEDDED else usable_url(url, f"{policy.path}: targets.{value}.url"),
        cohort=str(entry["cohort"]),
        environment=str(entry["environment"]),
    )


def usable_url(url: str, where: str) -> str:
    """The base URL without a trailing slash, or TargetError saying why no request could
    ever be sent to it (before any check runs, rather than once per check)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise TargetError(f"{where} {url}: not a usable URL (no host)")
    if any(c.isspace() for c in parts.netloc):
        raise TargetError(f"{where} {url}: not a usable URL (the host has spaces)")
    try:
        port = parts.port  # ValueError when out of range or not a number
    except ValueError:
        port = 0
    if port == 0:
        raw = parts.netloc.rsplit(":", 1)[-1]
        raise TargetError(f"{where} {url}: not a usable URL (port {raw} is not a number "
                          "from 1 to 65535)")
    return url.rstrip("/")


def health_report(status: int, content: bytes) -> dict[str, Any]:
    """What a target's GET /health says about itself (build_id, git_sha, ...): the JSON
    object of a 200 answer, else nothing."""
    if status != 200:
        return {}
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def down(label: str, reason: str) -> str:
    """The sentence for a target that does not answer at all."""
    return f"the target {label} is down: {reason}"
